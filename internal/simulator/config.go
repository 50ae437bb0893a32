package simulator

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Config sets up a simulator. The zero value is usable: every empty field takes
// the default named in its comment (see withDefaults, the one place defaults live).
type Config struct {
	// Merchant credentials; defaults "sim-client", "sim-secret", "sim-user", "sim-password".
	ClientID, ClientSecret, Username, Password string

	// Devices are the known deviceUniqueIds (default ["PAV860047264"]). A call
	// naming any other device gets 380101 BUSINESS_ERROR.
	Devices []string

	// TokenTTL is the access token life, answered as expires_in (default 7199 s).
	TokenTTL time.Duration
	// RotateRefreshTokens makes every refresh answer a new refresh token and
	// invalidate the old one; otherwise the same refresh token is answered again.
	RotateRefreshTokens bool
	// RefreshTokenTTL bounds a refresh token's life; 0 means it lives until its
	// session is revoked (iyzico does not document it, spec §10 q6).
	RefreshTokenTTL time.Duration

	// CardWait is how long the cardholder takes on every card operation (default 0).
	CardWait time.Duration
	// SlowCardWait is the wait of amounts ending in .55 (default 5 s).
	SlowCardWait time.Duration
	// OnCardWait, when set, is called at the start of every card wait, while the
	// device is held, with the request's context. It may block (until ctx is
	// done, at most): tests use it to hold a device busy without sleeping.
	OnCardWait func(ctx context.Context, ev CardEvent)
	// AbandonOnCancel makes a client that goes away during the card wait
	// abandon the operation: nothing is charged and nothing is recorded. Off by
	// default, because that is not what a terminal does: the device does not
	// notice that the client went away, so the operation finishes (and
	// charges) anyway, and a later query finds it. Card waits still end when
	// the Sim is closed (Close).
	AbandonOnCancel bool
	// ContinueAfterCancel is the default now and kept for compatibility:
	// setting it changes nothing, and setting it together with
	// AbandonOnCancel is a configuration error.
	//
	// Deprecated: continuing is the default; use AbandonOnCancel for the opposite.
	ContinueAfterCancel bool

	// Now is the simulator clock (default time.Now). Token and code expiry,
	// paymentDate, systemTime and the same-day void rule all read it.
	Now func() time.Time
	// Location is the time zone of paymentDate and transactionDateTime
	// (default Türkiye, a fixed UTC+03:00).
	Location *time.Location
	// Seed seeds the random source of probabilistic faults, for repeatable chaos.
	Seed uint64

	// DuplicateReferences says what a money call with a transactionReferenceId
	// already used on that device gets (default DuplicateReject; spec §10 q18).
	DuplicateReferences DuplicatePolicy

	// Readings of the spec's open questions that can be switched (docs/simulator.md).
	AcceptSaleType            bool // q1: take VUK 509 "saleType" as "salesType" (still reported as an unknown field)
	StrictQuery509            bool // q3: VUK 509 query requires paymentId, deviceUniqueId and transactionReferenceId all at once
	RequireReturnFieldsOnSale bool // q7: VUK 507 sale lines must carry relatedSaleItemId and returnAmount, as the schema literally says
	AcceptDecimalStrings      bool // q9: VUK 507 decimal fields may be JSON strings ("123.45") as well as numbers
	GmuErrorGroup             bool // q15: VUK 507 failures also carry errorGroup

	// OmitReturnedLines leaves fully returned lines (nothing left to return)
	// out of refundable-sale-info, as a "what can still be refunded" answer
	// may: the remaining lines then no longer sit at their sale positions.
	OmitReturnedLines bool

	// OnRequest, when set, is called with every observation record as it is
	// made (cmd/iyzico-sim logs them). It must not block.
	OnRequest func(Request)
}

// DuplicatePolicy is the answer to a reused transactionReferenceId.
type DuplicatePolicy int

const (
	// DuplicateReject refuses the call with BUSINESS_ERROR 389901 and charges nothing.
	DuplicateReject DuplicatePolicy = iota
	// DuplicateReplay answers the stored result of the first operation again,
	// without charging, as an idempotent API would.
	DuplicateReplay
	// DuplicateCharge processes the call as new (a second charge): the worst
	// reading, for proving that bridged never reuses a reference.
	DuplicateCharge
)

// CardEvent describes a card wait to Config.OnCardWait.
type CardEvent struct {
	Op                     string
	Device                 string
	TransactionReferenceID string
	Amount                 string // decimal, e.g. "149.90"; empty for voids
}

const (
	defaultDevice   = "PAV860047264"
	defaultTokenTTL = 7199 * time.Second
	defaultSlowWait = 5 * time.Second
	codeLife        = 10 * time.Minute
	maxDeviceIDLen  = 64
)

// withDefaults fills every empty field; it is the only place defaults live.
func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "sim-client"
	}
	if c.ClientSecret == "" {
		c.ClientSecret = "sim-secret"
	}
	if c.Username == "" {
		c.Username = "sim-user"
	}
	if c.Password == "" {
		c.Password = "sim-password"
	}
	if len(c.Devices) == 0 {
		c.Devices = []string{defaultDevice}
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = defaultTokenTTL
	}
	if c.SlowCardWait == 0 {
		c.SlowCardWait = defaultSlowWait
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil {
		c.Location = time.FixedZone("TRT", 3*60*60)
	}
	return c
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, d := range c.Devices {
		switch {
		case d == "":
			errs = append(errs, fmt.Errorf("devices[%d]: empty", i))
		case len(d) > maxDeviceIDLen:
			errs = append(errs, fmt.Errorf("devices[%d]: longer than %d characters", i, maxDeviceIDLen))
		case seen[d]:
			errs = append(errs, fmt.Errorf("devices[%d]: %q listed twice", i, d))
		}
		seen[d] = true
	}
	if c.TokenTTL < 0 {
		errs = append(errs, errors.New("token_ttl: negative"))
	}
	if c.RefreshTokenTTL < 0 {
		errs = append(errs, errors.New("refresh_token_ttl: negative"))
	}
	if c.CardWait < 0 {
		errs = append(errs, errors.New("card_wait: negative"))
	}
	if c.SlowCardWait < 0 {
		errs = append(errs, errors.New("slow_card_wait: negative"))
	}
	if c.AbandonOnCancel && c.ContinueAfterCancel {
		errs = append(errs, errors.New("abandon_on_cancel and continue_after_cancel: choose one"))
	}
	if c.DuplicateReferences < DuplicateReject || c.DuplicateReferences > DuplicateCharge {
		errs = append(errs, errors.New("duplicate_references: unknown policy"))
	}
	return errors.Join(errs...)
}
