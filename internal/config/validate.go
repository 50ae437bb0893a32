package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/loopback"
	"github.com/bridgedpos/bridged/internal/payment"
)

// Problem is one thing wrong with a configuration, at a key path.
type Problem struct {
	Path    string
	Message string
	// Placeholder: the value is still the example config's placeholder, a
	// value only its owner can put there (iyzico's credentials, the API key).
	Placeholder bool
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every problem found, in file order; it is an error.
type Problems []Problem

func (ps *Problems) add(path, msg string) { *ps = append(*ps, Problem{Path: path, Message: msg}) }

// in adds the problems one section found, their paths relative to it,
// under the section's key: "upstream" and "card_timeout" make
// upstream.card_timeout, "terminals" and "[2].id" make terminals[2].id, and
// a problem of the section as a whole (path "") is at the key itself.
func (ps *Problems) in(key string, section Problems) {
	for _, p := range section {
		switch {
		case p.Path == "":
			p.Path = key
		case p.Path[0] == '[':
			p.Path = key + p.Path
		default:
			p.Path = key + "." + p.Path
		}
		*ps = append(*ps, p)
	}
}

func (ps *Problems) placeholder(path, msg string) {
	*ps = append(*ps, Problem{Path: path, Message: msg, Placeholder: true})
}

// OnlyPlaceholders reports whether every problem is an example placeholder
// still to fill in: a config made from the example and otherwise sound, as
// an installer leaves it.
func (ps Problems) OnlyPlaceholders() bool {
	for _, p := range ps {
		if !p.Placeholder {
			return false
		}
	}
	return len(ps) > 0
}

func (ps *Problems) Error() string {
	lines := make([]string, len(*ps))
	for i, p := range *ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d configuration problem(s):\n  %s", len(*ps), strings.Join(lines, "\n  "))
}

// MinAPIKeyLen is the shortest API key accepted: 32 characters (e.g. 16 random bytes in hex).
const MinAPIKeyLen = 32

var terminalIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// keyNamePattern: a key's name travels in a signed request's Authorization
// header, so it is a plain token.
var keyNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// The example config's placeholders (configs/bridged.example.yaml). A value
// that is one of them was never filled in: the daemon, check-config and
// doctor refuse it, saying what belongs there. packaging/windows/install.ps1
// looks for the same values.
const (
	PlaceholderKeyPrefix = "change-me"
	placeholderClientID  = "your-client-id"
	placeholderSecret    = "your-client-secret"
	placeholderUsername  = "your-merchant-user"
	placeholderPassword  = "your-merchant-password"
)

// isPlaceholder reports whether v is one of the example's placeholders.
func isPlaceholder(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case placeholderClientID, placeholderSecret, placeholderUsername, placeholderPassword:
		return true
	}
	return strings.HasPrefix(v, PlaceholderKeyPrefix)
}

// Validate reports every problem at once, each with its key path, in the
// order of the example file. Each section validates itself with paths
// relative to it, and Validate puts them under the section's key. It
// returns nil or a *Problems.
func (c *Config) Validate() error {
	var ps Problems
	ps.in("listen", validateListen(c.Listen, c.AllowNonLoopback))
	if strings.TrimSpace(c.DataDir) == "" {
		ps.add("data_dir", "must be set: the journal lives there")
	}
	ps.in("mode", validateMode(c.Mode))
	ps.in("api", c.API.validate())
	ps.in("upstream", c.Upstream.validate(c.Mode))
	ps.in("terminals", validateTerminals(c.Terminals))
	ps.in("sale_app", c.SaleApp.validate(c.Mode))
	ps.in("payments", c.Payments.validate())
	ps.in("journal", c.Journal.validate())
	ps.in("log", c.Log.validate())
	if len(ps) > 0 {
		return &ps
	}
	return nil
}

func validateListen(listen string, allowNonLoopback bool) Problems {
	var ps Problems
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		ps.add("", fmt.Sprintf("%q is not host:port", listen))
		return ps
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		ps.add("", fmt.Sprintf("port %q is not a number from 0 to 65535", port))
	}
	if !loopback.Host(host) && !allowNonLoopback {
		ps.add("", fmt.Sprintf("%q is not a loopback address; the ECR API must stay on this PC unless allow_non_loopback: true is set", host))
	}
	return ps
}

func validateMode(m Mode) Problems {
	var ps Problems
	switch m {
	case ModeVUK509, ModeVUK507:
	default:
		ps.add("", fmt.Sprintf("%q is not a mode: use vuk509 or vuk507", m))
	}
	return ps
}

func (a API) validate() Problems {
	var ps Problems
	if len(a.Keys) == 0 {
		ps.add("keys", fmt.Sprintf("at least one key is required (or set %s)", EnvAPIKey))
	}
	names := map[string]int{}
	keys := map[string]int{}
	for i, k := range a.Keys {
		p := fmt.Sprintf("keys[%d]", i)
		if k.Name == "" {
			ps.add(p+".name", "must be set: it names the client in logs and scopes its idempotency keys")
		} else if !keyNamePattern.MatchString(k.Name) {
			ps.add(p+".name", fmt.Sprintf("%q must be 1-64 letters, digits, '.', '_' or '-' (it names the key in signed requests)", k.Name))
		} else if j, dup := names[k.Name]; dup {
			ps.add(p+".name", fmt.Sprintf("%q is also the name of api.keys[%d]", k.Name, j))
		} else {
			names[k.Name] = i
		}
		if isPlaceholder(k.Key.Reveal()) {
			ps.placeholder(p+".key", "is still the example's placeholder: put a random key of at least 32 characters there "+
				"(for example the output of: openssl rand -hex 32), and give the same key to the ECR")
		} else if k.Key.Len() < MinAPIKeyLen {
			ps.add(p+".key", fmt.Sprintf("is %d characters; at least %d are required", k.Key.Len(), MinAPIKeyLen))
		} else if j, dup := keys[k.Key.Reveal()]; dup {
			ps.add(p+".key", fmt.Sprintf("is the same key as api.keys[%d]", j))
		} else {
			keys[k.Key.Reveal()] = i
		}
	}
	for i, k := range a.Keys {
		ps.in(fmt.Sprintf("keys[%d].scopes", i), validateScopes(k.Scopes))
	}
	if a.MaxConnections < 16 || a.MaxConnections > 100000 {
		ps.add("max_connections", fmt.Sprintf("%d is out of range: use 16 to 100000", a.MaxConnections))
	} else if a.ReservedConnections < 1 || a.ReservedConnections > a.MaxConnections/2 {
		ps.add("reserved_connections", fmt.Sprintf("%d is out of range: use 1 to half of api.max_connections (%d)",
			a.ReservedConnections, a.MaxConnections/2))
	}
	if a.DefaultWait <= 0 || a.DefaultWait > 10*time.Minute {
		ps.add("default_wait", fmt.Sprintf("%s is out of range: use a duration from 1s to 10m", a.DefaultWait))
	}
	for i, o := range a.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			ps.add(fmt.Sprintf("allowed_origins[%d]", i), fmt.Sprintf("%q is not an origin like http://host:port", o))
		}
	}
	return ps
}

// validateScopes checks one key's scopes; paths are "[j]".
func validateScopes(scopes []string) Problems {
	var ps Problems
	seen := map[string]bool{}
	for j, sc := range scopes {
		p := fmt.Sprintf("[%d]", j)
		switch {
		case sc != ScopePayments && sc != ScopeRead && sc != ScopeOperate:
			ps.add(p, fmt.Sprintf("%q is not a scope: use %s", sc, strings.Join(Scopes, ", ")))
		case seen[sc]:
			ps.add(p, fmt.Sprintf("%q is listed twice", sc))
		}
		seen[sc] = true
	}
	return ps
}

func (u Upstream) validate(mode Mode) Problems {
	var ps Problems
	base, err := url.Parse(u.BaseURL)
	switch {
	case err != nil || base.Host == "":
		ps.add("base_url", fmt.Sprintf("%q is not an absolute URL", u.BaseURL))
	case base.Scheme == "http" && !loopback.Host(base.Hostname()):
		ps.add("base_url", "must use https (plain http is accepted only for a loopback simulator)")
	case base.Scheme != "https" && base.Scheme != "http":
		ps.add("base_url", fmt.Sprintf("scheme %q is not https", base.Scheme))
	}
	for _, cred := range []struct {
		key, value, what, env string
	}{
		{"client_id", u.ClientID, "the API client id iyzico issued", EnvUpstreamClientID},
		{"client_secret", u.ClientSecret.Reveal(), "the API client secret iyzico issued", EnvUpstreamSecret},
		{"username", u.Username, "the merchant user iyzico issued", EnvUpstreamUsername},
		{"password", u.Password.Reveal(), "that merchant user's password", EnvUpstreamPassword},
	} {
		switch {
		case cred.value == "":
			ps.add(cred.key, "is required (or set "+cred.env+")")
		case isPlaceholder(cred.value):
			ps.placeholder(cred.key, "is still the example's placeholder: put "+cred.what+" there (or set "+cred.env+")")
		}
	}
	if mode == ModeVUK509 {
		switch u.Locale {
		case "", "tr", "en":
		default:
			ps.add("locale", fmt.Sprintf("%q is not tr or en (VUK 509 takes lowercase)", u.Locale))
		}
	}
	if u.CardTimeout < 10*time.Second || u.CardTimeout > 15*time.Minute {
		ps.add("card_timeout", fmt.Sprintf("%s is out of range: use 10s to 15m", u.CardTimeout))
	}
	if u.QueryTimeout < time.Second || u.QueryTimeout > 5*time.Minute {
		ps.add("query_timeout", fmt.Sprintf("%s is out of range: use 1s to 5m", u.QueryTimeout))
	}
	return ps
}

// validateTerminals checks the list; paths are "" (the list) and "[i].id".
func validateTerminals(ts []Terminal) Problems {
	var ps Problems
	if len(ts) == 0 {
		ps.add("", "at least one terminal is required")
	}
	ids := map[string]int{}
	devices := map[string]int{}
	for i, t := range ts {
		p := fmt.Sprintf("[%d]", i)
		switch j, dup := ids[t.ID]; {
		case !terminalIDPattern.MatchString(t.ID):
			ps.add(p+".id", fmt.Sprintf("%q must be 1-64 letters, digits, '.', '_' or '-'", t.ID))
		case dup:
			ps.add(p+".id", fmt.Sprintf("%q is also the id of terminals[%d]", t.ID, j))
		default:
			ids[t.ID] = i
		}
		switch j, dup := devices[t.DeviceUniqueID]; {
		case t.DeviceUniqueID == "":
			ps.add(p+".device_unique_id", "is required (iyzico's deviceUniqueId)")
		case len(t.DeviceUniqueID) > 64:
			ps.add(p+".device_unique_id", "is longer than 64 characters")
		case dup:
			ps.add(p+".device_unique_id", fmt.Sprintf("%q is also the device of terminals[%d]", t.DeviceUniqueID, j))
		default:
			devices[t.DeviceUniqueID] = i
		}
	}
	return ps
}

func (s SaleApp) validate(mode Mode) Problems {
	var ps Problems
	if mode == ModeVUK507 {
		if s.Name == "" {
			ps.add("name", "is required in mode vuk507 (iyzico's saleAppName)")
		}
		if s.Version == "" {
			ps.add("version", "is required in mode vuk507 (iyzico's saleAppVersion)")
		}
	}
	return ps
}

func (p Payments) validate() Problems {
	var ps Problems
	if _, err := payment.ParseCurrency(string(p.Currency)); err != nil {
		ps.add("currency", fmt.Sprintf("%q is not one of TRY, USD, EUR", p.Currency))
	}
	if m, err := p.MaxAmount.In(p.Currency); err != nil || !m.IsPositive() {
		ps.add("max_amount", fmt.Sprintf("%q is not a positive amount with at most two decimals", p.MaxAmount.String()))
	}
	return ps
}

func (l Log) validate() Problems {
	var ps Problems
	if _, err := l.Level.Level(); err != nil || l.Level.String() == "" {
		ps.add("level", fmt.Sprintf("%q is not one of trace, debug, info, warn, error", l.Level))
	}
	switch l.Format {
	case "auto", "json", "console":
	default:
		ps.add("format", fmt.Sprintf("%q is not auto, json or console", l.Format))
	}
	if l.File != "" && l.MaxSizeMB <= 0 {
		ps.add("max_size_mb", "must be positive when log.file is set")
	}
	if l.MaxBackups < 0 {
		ps.add("max_backups", "must not be negative")
	}
	if l.MaxAgeDays < 0 {
		ps.add("max_age_days", "must not be negative")
	}
	return ps
}
