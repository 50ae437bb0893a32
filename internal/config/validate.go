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
	"github.com/rs/zerolog"
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

// Validate reports every problem at once, each with its key path. It returns
// nil or a *Problems.
func (c *Config) Validate() error {
	var ps Problems
	c.validateListen(&ps)
	if strings.TrimSpace(c.DataDir) == "" {
		ps.add("data_dir", "must be set: the journal lives there")
	}
	switch c.Mode {
	case ModeVUK509, ModeVUK507:
	default:
		ps.add("mode", fmt.Sprintf("%q is not a mode: use vuk509 or vuk507", c.Mode))
	}
	c.validateAPI(&ps)
	c.validateUpstream(&ps)
	c.validateTerminals(&ps)
	if c.Mode == ModeVUK507 {
		if c.SaleApp.Name == "" {
			ps.add("sale_app.name", "is required in mode vuk507 (iyzico's saleAppName)")
		}
		if c.SaleApp.Version == "" {
			ps.add("sale_app.version", "is required in mode vuk507 (iyzico's saleAppVersion)")
		}
	}
	c.validatePayments(&ps)
	c.validateJournal(&ps)
	c.validateLog(&ps)
	if len(ps) > 0 {
		return &ps
	}
	return nil
}

func (c *Config) validateListen(ps *Problems) {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		ps.add("listen", fmt.Sprintf("%q is not host:port", c.Listen))
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		ps.add("listen", fmt.Sprintf("port %q is not a number from 0 to 65535", port))
	}
	if !loopback.Host(host) && !c.AllowNonLoopback {
		ps.add("listen", fmt.Sprintf("%q is not a loopback address; the ECR API must stay on this PC unless allow_non_loopback: true is set", host))
	}
}

func (c *Config) validateAPI(ps *Problems) {
	if len(c.API.Keys) == 0 {
		ps.add("api.keys", fmt.Sprintf("at least one key is required (or set %s)", EnvAPIKey))
	}
	names := map[string]int{}
	keys := map[string]int{}
	for i, k := range c.API.Keys {
		p := fmt.Sprintf("api.keys[%d]", i)
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
	c.validateScopes(ps)
	if c.API.MaxConnections < 16 || c.API.MaxConnections > 100000 {
		ps.add("api.max_connections", fmt.Sprintf("%d is out of range: use 16 to 100000", c.API.MaxConnections))
	} else if c.API.ReservedConnections < 1 || c.API.ReservedConnections > c.API.MaxConnections/2 {
		ps.add("api.reserved_connections", fmt.Sprintf("%d is out of range: use 1 to half of api.max_connections (%d)",
			c.API.ReservedConnections, c.API.MaxConnections/2))
	}
	if c.API.DefaultWait <= 0 || c.API.DefaultWait > 10*time.Minute {
		ps.add("api.default_wait", fmt.Sprintf("%s is out of range: use a duration from 1s to 10m", c.API.DefaultWait))
	}
	for i, o := range c.API.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			ps.add(fmt.Sprintf("api.allowed_origins[%d]", i), fmt.Sprintf("%q is not an origin like http://host:port", o))
		}
	}
}

func (c *Config) validateScopes(ps *Problems) {
	for i, k := range c.API.Keys {
		seen := map[string]bool{}
		for j, sc := range k.Scopes {
			p := fmt.Sprintf("api.keys[%d].scopes[%d]", i, j)
			switch {
			case sc != ScopePayments && sc != ScopeRead && sc != ScopeOperate:
				ps.add(p, fmt.Sprintf("%q is not a scope: use %s", sc, strings.Join(Scopes, ", ")))
			case seen[sc]:
				ps.add(p, fmt.Sprintf("%q is listed twice", sc))
			}
			seen[sc] = true
		}
	}
}

func (c *Config) validateUpstream(ps *Problems) {
	u, err := url.Parse(c.Upstream.BaseURL)
	switch {
	case err != nil || u.Host == "":
		ps.add("upstream.base_url", fmt.Sprintf("%q is not an absolute URL", c.Upstream.BaseURL))
	case u.Scheme == "http" && !loopback.Host(u.Hostname()):
		ps.add("upstream.base_url", "must use https (plain http is accepted only for a loopback simulator)")
	case u.Scheme != "https" && u.Scheme != "http":
		ps.add("upstream.base_url", fmt.Sprintf("scheme %q is not https", u.Scheme))
	}
	for _, cred := range []struct {
		path, value, what, env string
	}{
		{"upstream.client_id", c.Upstream.ClientID, "the API client id iyzico issued", EnvUpstreamClientID},
		{"upstream.client_secret", c.Upstream.ClientSecret.Reveal(), "the API client secret iyzico issued", EnvUpstreamSecret},
		{"upstream.username", c.Upstream.Username, "the merchant user iyzico issued", EnvUpstreamUsername},
		{"upstream.password", c.Upstream.Password.Reveal(), "that merchant user's password", EnvUpstreamPassword},
	} {
		switch {
		case cred.value == "":
			ps.add(cred.path, "is required (or set "+cred.env+")")
		case isPlaceholder(cred.value):
			ps.placeholder(cred.path, "is still the example's placeholder: put "+cred.what+" there (or set "+cred.env+")")
		}
	}
	if c.Mode == ModeVUK509 {
		switch c.Upstream.Locale {
		case "", "tr", "en":
		default:
			ps.add("upstream.locale", fmt.Sprintf("%q is not tr or en (VUK 509 takes lowercase)", c.Upstream.Locale))
		}
	}
	if c.Upstream.CardTimeout < 10*time.Second || c.Upstream.CardTimeout > 15*time.Minute {
		ps.add("upstream.card_timeout", fmt.Sprintf("%s is out of range: use 10s to 15m", c.Upstream.CardTimeout))
	}
	if c.Upstream.QueryTimeout < time.Second || c.Upstream.QueryTimeout > 5*time.Minute {
		ps.add("upstream.query_timeout", fmt.Sprintf("%s is out of range: use 1s to 5m", c.Upstream.QueryTimeout))
	}
}

func (c *Config) validateTerminals(ps *Problems) {
	if len(c.Terminals) == 0 {
		ps.add("terminals", "at least one terminal is required")
	}
	ids := map[string]int{}
	devices := map[string]int{}
	for i, t := range c.Terminals {
		p := fmt.Sprintf("terminals[%d]", i)
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
}

func (c *Config) validatePayments(ps *Problems) {
	cur, err := payment.ParseCurrency(c.Payments.Currency)
	if err != nil {
		ps.add("payments.currency", fmt.Sprintf("%q is not one of TRY, USD, EUR", c.Payments.Currency))
	}
	m, err := payment.ParseMoney(c.Payments.MaxAmount, cur)
	if err != nil || !m.IsPositive() {
		ps.add("payments.max_amount", fmt.Sprintf("%q is not a positive amount with at most two decimals", c.Payments.MaxAmount))
	}
}

func (c *Config) validateLog(ps *Problems) {
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		ps.add("log.level", fmt.Sprintf("%q is not one of trace, debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		ps.add("log.format", fmt.Sprintf("%q is not auto, json or console", c.Log.Format))
	}
	if c.Log.File != "" && c.Log.MaxSizeMB <= 0 {
		ps.add("log.max_size_mb", "must be positive when log.file is set")
	}
	if c.Log.MaxBackups < 0 {
		ps.add("log.max_backups", "must not be negative")
	}
	if c.Log.MaxAgeDays < 0 {
		ps.add("log.max_age_days", "must not be negative")
	}
}
