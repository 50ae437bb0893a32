package config

// Imported as sec: the package's fuzz test has a type named secret.
import sec "github.com/bridgedpos/bridged/internal/secret"

// Secret holds a credential read from the file or the environment: masked in
// every rendering, Reveal the one way out. It is secret.Value, which upstream
// carries as it is, so the value is never copied out in plain between here
// and the OAuth2 form and header.
type Secret = sec.Value

// NewSecret wraps a value.
func NewSecret(v string) Secret { return sec.New(v) }
