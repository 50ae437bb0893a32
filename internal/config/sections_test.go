package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
)

// brokenYAML has a mistake in every section, so that the composed section
// validators must report each at its whole key path, in file order.
const brokenYAML = `
listen: 0.0.0.0:99999
data_dir: " "
mode: vuk507
api:
  keys:
    - {name: "bad name", key: short, scopes: [read, read, admin]}
    - {name: ok, key: change-me-please}
  max_connections: 16
  reserved_connections: 9
  default_wait: 11m
  allowed_origins: [not-an-origin]
upstream:
  base_url: http://api.iyzipay.com
  client_id: your-client-id
  username: user
  password: pw
  locale: xx
  card_timeout: 5s
  query_timeout: 6m
terminals:
  - {id: lane-1, device_unique_id: D1}
  - {id: lane-1, device_unique_id: D1}
  - {id: "lane 3", device_unique_id: ""}
payments: {currency: GBP, max_amount: "1.001"}
journal: {retain_days: 3}
log: {level: loud, format: xml, file: /tmp/x.log, max_size_mb: 0, max_backups: -1, max_age_days: -1}
`

// TestSectionProblemsKeepTheirPaths: the problems, their paths, their
// words and their order are those of the single Validate before the
// sections validated themselves (captured from it).
func TestSectionProblemsKeepTheirPaths(t *testing.T) {
	cfg, err := Parse([]byte(brokenYAML))
	if err != nil {
		t.Fatal(err)
	}
	var ps *Problems
	if !errors.As(cfg.Validate(), &ps) {
		t.Fatal("want problems")
	}
	want := `30 configuration problem(s):
  listen: port "99999" is not a number from 0 to 65535
  listen: "0.0.0.0" is not a loopback address; the ECR API must stay on this PC unless allow_non_loopback: true is set
  data_dir: must be set: the journal lives there
  api.keys[0].name: "bad name" must be 1-64 letters, digits, '.', '_' or '-' (it names the key in signed requests)
  api.keys[0].key: is 5 characters; at least 32 are required
  api.keys[1].key: is still the example's placeholder: put a random key of at least 32 characters there (for example the output of: openssl rand -hex 32), and give the same key to the ECR
  api.keys[0].scopes[1]: "read" is listed twice
  api.keys[0].scopes[2]: "admin" is not a scope: use payments, read, operate
  api.reserved_connections: 9 is out of range: use 1 to half of api.max_connections (8)
  api.default_wait: 11m0s is out of range: use a duration from 1s to 10m
  api.allowed_origins[0]: "not-an-origin" is not an origin like http://host:port
  upstream.base_url: must use https (plain http is accepted only for a loopback simulator)
  upstream.client_id: is still the example's placeholder: put the API client id iyzico issued there (or set BRIDGED_UPSTREAM_CLIENT_ID)
  upstream.client_secret: is required (or set BRIDGED_UPSTREAM_CLIENT_SECRET)
  upstream.card_timeout: 5s is out of range: use 10s to 15m
  upstream.query_timeout: 6m0s is out of range: use 1s to 5m
  terminals[1].id: "lane-1" is also the id of terminals[0]
  terminals[1].device_unique_id: "D1" is also the device of terminals[0]
  terminals[2].id: "lane 3" must be 1-64 letters, digits, '.', '_' or '-'
  terminals[2].device_unique_id: is required (iyzico's deviceUniqueId)
  sale_app.name: is required in mode vuk507 (iyzico's saleAppName)
  sale_app.version: is required in mode vuk507 (iyzico's saleAppVersion)
  payments.currency: "GBP" is not one of TRY, USD, EUR
  payments.max_amount: "1.001" is not a positive amount with at most two decimals
  journal.retain_days: 3 is out of range: keep from 7 to 36500 business days, or 0 to keep everything
  log.level: "loud" is not one of trace, debug, info, warn, error
  log.format: "xml" is not auto, json or console
  log.max_size_mb: must be positive when log.file is set
  log.max_backups: must not be negative
  log.max_age_days: must not be negative`
	if got := ps.Error(); got != want {
		t.Errorf("problems changed:\n got: %s\nwant: %s", got, want)
	}
}

// TestMaxAmountParsedOnceInItsCurrency: payments.max_amount is exact minor
// units from the file, in payments.currency wherever that key stands, and
// prints as the file wrote it.
func TestMaxAmountParsedOnceInItsCurrency(t *testing.T) {
	cfg, err := Parse([]byte(validYAML + "payments: {max_amount: 2500.5, currency: USD}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := cfg.Payments.Limit()
	if err != nil || m.Minor() != 250050 || m.Currency() != payment.USD {
		t.Fatalf("Limit = %v, %v; want 2500.50 USD", m, err)
	}
	y, err := cfg.Masked()
	if err != nil || !strings.Contains(string(y), "max_amount: \"2500.5\"") {
		t.Errorf("masked YAML: %v\n%s", err, y)
	}
	def, _ := Parse([]byte(validYAML))
	if m, err := def.Payments.Limit(); err != nil || m.String() != "100000.00 TRY" {
		t.Errorf("default Limit = %v, %v", m, err)
	}
	bad, _ := Parse([]byte(validYAML + "payments: {max_amount: \"1e5\"}\n"))
	if _, err := bad.Payments.Limit(); !errors.Is(err, payment.ErrInvalidAmount) {
		t.Errorf("Limit of 1e5: %v", err)
	}
}

// TestLogLevelParsedOnce: log.level is zerolog's level from the file on,
// printed as the file wrote it.
func TestLogLevelParsedOnce(t *testing.T) {
	cfg, err := Parse([]byte(validYAML + "log: {level: warn}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l, err := cfg.Log.Level.Level(); err != nil || l != zerolog.WarnLevel {
		t.Errorf("Level = %v, %v", l, err)
	}
	if y, _ := cfg.Masked(); !strings.Contains(string(y), "level: warn") {
		t.Errorf("masked YAML:\n%s", y)
	}
	if l, err := Defaults().Log.Level.Level(); err != nil || l != zerolog.InfoLevel {
		t.Errorf("default Level = %v, %v", l, err)
	}
}

// TestTypedValueOfWrongShapeIsOneProblem: a mapping where an amount or a
// level belongs is one type problem, as it was when they were strings, not
// an unknown key inside them besides.
func TestTypedValueOfWrongShapeIsOneProblem(t *testing.T) {
	_, err := Parse([]byte(validYAML + "payments: {max_amount: {a: 1}}\nlog: {level: [x]}\n"))
	var ps *Problems
	if !errors.As(err, &ps) || len(*ps) != 2 || strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("got %v, want two type problems", err)
	}
}
