// Package secret owns one rule: a credential is never shown. Its Value masks
// itself in every rendering (fmt verbs, JSON, text, YAML, zerolog); Reveal is
// the one way out, called only where the value leaves for its recipient (the
// OAuth2 form and Basic header in upstream) or is compared (config's
// placeholder and duplicate checks). config reads secrets into it and
// upstream carries it, so no plain copy exists in between.
//
// It is a leaf: it must never import bbolt, chi, net/http, or another bridged package.
package secret
