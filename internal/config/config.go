package config

import (
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Mode is the iyzico integration model of one installation; the two are
// never mixed. It is payment's type, decoded from the file as it is and
// checked by Validate, so that the wiring hands it on without a conversion.
type Mode = payment.Mode

// The two iyzico Terminal API models.
const (
	ModeVUK509 = payment.VUK509 // card payments only
	ModeVUK507 = payment.VUK507 // GMU fiscal device: sale lines, cash or card
)

// Config is bridged's whole configuration. Field tags are the YAML keys; the
// example file configs/bridged.example.yaml documents each one.
type Config struct {
	Listen string `yaml:"listen"`
	// AllowNonLoopback is the explicit opt-in for a listen address other than
	// loopback. The ECR normally runs on the same PC.
	AllowNonLoopback bool `yaml:"allow_non_loopback"`
	// AllowOpenPermissions is the explicit opt-out of the start-up check that
	// no other user can read or write the config file or the data dir (a lab
	// machine, a container whose volume the runtime owns).
	AllowOpenPermissions bool       `yaml:"allow_open_permissions"`
	DataDir              string     `yaml:"data_dir"`
	Mode                 Mode       `yaml:"mode"`
	API                  API        `yaml:"api"`
	Upstream             Upstream   `yaml:"upstream"`
	Terminals            []Terminal `yaml:"terminals"`
	SaleApp              SaleApp    `yaml:"sale_app"`
	Payments             Payments   `yaml:"payments"`
	Journal              Journal    `yaml:"journal"`
	Log                  Log        `yaml:"log"`
}

// API configures the local REST API the ECR calls.
type API struct {
	Keys []APIKey `yaml:"keys"`
	// DefaultWait is how long a money call may block before it answers 202.
	DefaultWait time.Duration `yaml:"default_wait"`
	// AllowedHosts are Host header names accepted besides the loopback names
	// (the DNS-rebinding defence).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowedOrigins are Origin header values accepted; by default none, so no
	// browser page can drive a payment.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxConnections caps the open connections of the API; ReservedConnections
	// of them are kept for clients that present a key, so that a flood of
	// keyless connections never stops a sale.
	MaxConnections      int `yaml:"max_connections"`
	ReservedConnections int `yaml:"reserved_connections"`
}

// The scopes of an API key: what its holder may call.
const (
	// ScopePayments: money calls (sales, voids, refunds, split sales, end of
	// day, resolve) and the reads of /v1. The default of a key without scopes.
	ScopePayments = "payments"
	// ScopeRead: the status page, /metrics, /openapi.yaml, the detailed
	// readiness and every read of /v1; nothing that changes anything.
	ScopeRead = "read"
	// ScopeOperate: the operator's actions (resolve, end of day, settling an
	// unknown outcome) and every read.
	ScopeOperate = "operate"
)

// Scopes are every scope, in the order the documentation lists them.
var Scopes = []string{ScopePayments, ScopeRead, ScopeOperate}

// APIKey is one named key. The name is the idempotency scope, appears in logs
// and names the key in a signed request; the key never appears anywhere.
type APIKey struct {
	Name string `yaml:"name"`
	Key  Secret `yaml:"key"`
	// Scopes say what the key may call; none means [payments].
	Scopes []string `yaml:"scopes"`
}

// EffectiveScopes are the key's scopes with the default applied.
func (k APIKey) EffectiveScopes() []string {
	if len(k.Scopes) == 0 {
		return []string{ScopePayments}
	}
	return k.Scopes
}

// HasScope reports whether the key carries scope.
func (k APIKey) HasScope(scope string) bool {
	for _, s := range k.EffectiveScopes() {
		if s == scope {
			return true
		}
	}
	return false
}

// Upstream configures the iyzico Terminal API connection.
type Upstream struct {
	BaseURL      string `yaml:"base_url"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	Locale       string `yaml:"locale"`
	// CardTimeout bounds a card operation (the customer acts on the device).
	CardTimeout time.Duration `yaml:"card_timeout"`
	// QueryTimeout bounds status queries and the login steps.
	QueryTimeout time.Duration `yaml:"query_timeout"`
}

// Terminal maps bridged's terminal id (what the ECR names) to iyzico's device.
type Terminal struct {
	ID             string `yaml:"id"`
	DeviceUniqueID string `yaml:"device_unique_id"`
}

// SaleApp is the sales application identity that VUK 507 requires on sales and refunds.
type SaleApp struct {
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
}

// Payments holds limits on money operations.
type Payments struct {
	// MaxAmount is the largest single amount accepted, parsed exactly when
	// the file is read; Limit gives it in Currency.
	MaxAmount Amount `yaml:"max_amount"`
	// Currency is the default when a request names none.
	Currency payment.Currency `yaml:"currency"`
}

// Limit is payments.max_amount in payments.currency: the value parsed when
// the file was read, not parsed again. Its error is Validate's problem with
// either key, for a config that skipped Validate.
func (p Payments) Limit() (payment.Money, error) {
	if _, err := payment.ParseCurrency(string(p.Currency)); err != nil {
		return payment.Money{}, err
	}
	return p.MaxAmount.In(p.Currency)
}

// Log configures logging.
type Log struct {
	Level LogLevel `yaml:"level"`
	// Format is json, console, or auto (console on a terminal, json otherwise).
	Format string `yaml:"format"`
	// File, when set, receives the log with size-based rotation.
	File       string `yaml:"file"`
	MaxSizeMB  int    `yaml:"max_size_mb"`
	MaxBackups int    `yaml:"max_backups"`
	MaxAgeDays int    `yaml:"max_age_days"`
}

// Defaults returns the configuration every file starts from.
func Defaults() Config {
	return Config{
		Listen:  "127.0.0.1:8470",
		DataDir: defaultDataDir(),
		Mode:    ModeVUK509,
		API: API{
			DefaultWait:         185 * time.Second,
			MaxConnections:      1024,
			ReservedConnections: 64,
		},
		Upstream: Upstream{
			BaseURL:      "https://api.iyzipay.com",
			CardTimeout:  payment.DefaultCardTimeout,
			QueryTimeout: 15 * time.Second,
		},
		Payments: Payments{
			MaxAmount: ParseAmount("100000.00"),
			Currency:  payment.TRY,
		},
		Journal: Journal{RetainDays: DefaultRetainDays},
		Log: Log{
			Level:      ParseLogLevel("info"),
			Format:     "auto",
			MaxSizeMB:  50,
			MaxBackups: 10,
			MaxAgeDays: 90,
		},
	}
}
