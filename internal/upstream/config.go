package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/secret"
	"github.com/rs/zerolog"
)

// Defaults for the per-call deadlines (docs/upstream.md explains each).
const (
	// DefaultCardTimeout bounds a card operation: iyzico holds the request
	// while the customer acts on the device.
	DefaultCardTimeout = payment.DefaultCardTimeout
	// DefaultQueryTimeout bounds status queries and refundable-sale-info.
	DefaultQueryTimeout = 15 * time.Second
	// DefaultEODTimeout bounds end of day, which talks to every acquirer.
	DefaultEODTimeout = 120 * time.Second
	// DefaultLoginTimeout bounds each login step (authorize, token, refresh).
	DefaultLoginTimeout = 15 * time.Second
)

// Config configures a Client. Zero durations take the defaults above.
type Config struct {
	// BaseURL is iyzico's host, e.g. https://sandbox-api.iyzipay.com. It must
	// not carry user info, a query or a fragment.
	BaseURL string
	// Credentials log in to the Terminal API.
	Credentials Credentials
	// Locale is "tr" or "en" in either case; VUK 509 requests get it in lower
	// case, VUK 507 requests in upper case. Empty means tr / TR.
	Locale string

	// CardTimeout bounds payment, void, refund and partial start/add/complete.
	CardTimeout time.Duration
	// QueryTimeout bounds status queries and refundable-sale-info.
	QueryTimeout time.Duration
	// EODTimeout bounds end of day.
	EODTimeout time.Duration
	// LoginTimeout bounds each login, token and refresh request.
	LoginTimeout time.Duration
	// RefreshAhead is how long before expiry the token owner renews the
	// token. Default CardTimeout + 2×LoginTimeout, so a card operation never
	// has to wait for a refresh.
	RefreshAhead time.Duration

	// HTTPClient carries every request; nil means a private client. Its
	// Timeout should be zero (the per-call deadlines apply); redirects are
	// never followed whatever its CheckRedirect says.
	HTTPClient *http.Client
	// WrapTransport, when set and HTTPClient is nil, wraps the private
	// client's transport (test seams: fault injection around the real one).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per call, with component=upstream.
	Logger zerolog.Logger
	// OnCall, when set, is told of every finished call (metrics). It must not block.
	OnCall func(CallRecord)
}

// Credentials log in to the iyzico Terminal API. The secret halves
// (ClientSecret, Password) are secret.Values, carried from the config as they
// are and revealed only where the authorize form and the Basic header are
// built (oauth.go); every rendering masks them: fmt verbs, JSON and zerolog.
type Credentials struct {
	ClientID     string
	ClientSecret secret.Value
	Username     string
	Password     secret.Value
}

// String shows the identifiers and masks the secrets.
func (c Credentials) String() string {
	return fmt.Sprintf("{ClientID:%s ClientSecret:%s Username:%s Password:%s}",
		c.ClientID, c.ClientSecret, c.Username, c.Password)
}

// GoString masks the secrets for %#v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("upstream.Credentials{ClientID:%q, ClientSecret:%q, Username:%q, Password:%q}",
		c.ClientID, c.ClientSecret.String(), c.Username, c.Password.String())
}

// Format masks the secrets for every fmt verb.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// MarshalJSON masks the secrets.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ClientID     string       `json:"client_id"`
		ClientSecret secret.Value `json:"client_secret"`
		Username     string       `json:"username"`
		Password     secret.Value `json:"password"`
	}{c.ClientID, c.ClientSecret, c.Username, c.Password})
}

// MarshalZerologObject masks the secrets when logged with Object/EmbedObject.
func (c Credentials) MarshalZerologObject(e *zerolog.Event) {
	e.Str("client_id", c.ClientID).Stringer("client_secret", c.ClientSecret).
		Str("username", c.Username).Stringer("password", c.Password)
}

// withDefaults fills zero values and checks the rest, reporting every problem
// at once. It never repeats a secret.
func (cfg Config) withDefaults() (Config, error) {
	var problems []string
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	switch {
	case cfg.BaseURL == "":
		problems = append(problems, "BaseURL is empty")
	case err != nil:
		problems = append(problems, "BaseURL is not a URL")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		problems = append(problems, "BaseURL must be http(s)://host")
	case u.User != nil:
		problems = append(problems, "BaseURL must not carry user info (credentials belong in Credentials)")
	case u.RawQuery != "" || u.Fragment != "":
		problems = append(problems, "BaseURL must not carry a query or fragment")
	default:
		cfg.BaseURL = u.String()
	}
	c := cfg.Credentials
	for _, f := range []struct {
		name  string
		empty bool
	}{
		{"ClientID", c.ClientID == ""}, {"ClientSecret", c.ClientSecret.IsZero()},
		{"Username", c.Username == ""}, {"Password", c.Password.IsZero()},
	} {
		if f.empty {
			problems = append(problems, "Credentials."+f.name+" is empty")
		}
	}
	switch strings.ToLower(cfg.Locale) {
	case "":
		cfg.Locale = "tr"
	case "tr", "en":
		cfg.Locale = strings.ToLower(cfg.Locale)
	default:
		problems = append(problems, fmt.Sprintf("Locale %q is not tr or en", cfg.Locale))
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"CardTimeout", &cfg.CardTimeout, DefaultCardTimeout},
		{"QueryTimeout", &cfg.QueryTimeout, DefaultQueryTimeout},
		{"EODTimeout", &cfg.EODTimeout, DefaultEODTimeout},
		{"LoginTimeout", &cfg.LoginTimeout, DefaultLoginTimeout},
		{"RefreshAhead", &cfg.RefreshAhead, 0}, // needs the two above; set in the loop
	} {
		switch {
		case *d.v < 0:
			problems = append(problems, d.name+" is negative")
		case *d.v == 0 && d.name == "RefreshAhead":
			*d.v = cfg.CardTimeout + 2*cfg.LoginTimeout
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(problems) > 0 {
		return cfg, errors.New("upstream: invalid config: " + strings.Join(problems, "; "))
	}
	return cfg, nil
}
