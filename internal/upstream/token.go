package upstream

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bridgedpos/bridged/internal/backoff"
	"github.com/bridgedpos/bridged/internal/secret"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// TokenStore keeps the token across restarts so that a restart does not log in
// again. internal/store implements it on bbolt; MemoryTokenStore is for tests.
type TokenStore interface {
	// LoadToken returns the saved token, or (nil, nil) when none is saved.
	LoadToken(ctx context.Context) (*oauth2.Token, error)
	// SaveToken replaces the saved token.
	SaveToken(ctx context.Context, tok *oauth2.Token) error
}

// MemoryTokenStore is a TokenStore in memory, safe for concurrent use.
type MemoryTokenStore struct {
	mu    sync.Mutex
	tok   *oauth2.Token
	saves int
}

// NewMemoryTokenStore returns a store holding tok (which may be nil).
func NewMemoryTokenStore(tok *oauth2.Token) *MemoryTokenStore {
	return &MemoryTokenStore{tok: copyToken(tok)}
}

// LoadToken returns a copy of the saved token, or nil.
func (m *MemoryTokenStore) LoadToken(context.Context) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copyToken(m.tok), nil
}

// SaveToken keeps a copy of tok.
func (m *MemoryTokenStore) SaveToken(_ context.Context, tok *oauth2.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok = copyToken(tok)
	m.saves++
	return nil
}

// Saves counts SaveToken calls.
func (m *MemoryTokenStore) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

func copyToken(t *oauth2.Token) *oauth2.Token {
	if t == nil {
		return nil
	}
	return &oauth2.Token{
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
		Expiry:       t.Expiry,
		ExpiresIn:    t.ExpiresIn,
	}
}

// TokenStatus is the token's health, for readiness checks. It holds no secret.
type TokenStatus struct {
	// Valid: a token is held and, as far as its expiry says, still usable
	// (false after iyzico refused it outside an HTTP 401, until the next login).
	Valid bool `json:"valid"`
	// Expiry of the held token (zero when none is held or iyzico gave none).
	Expiry time.Time `json:"expiry"`
	// Renewed is when the held token was obtained (login or refresh).
	Renewed time.Time `json:"renewed"`
	// LastError is the last login/refresh failure, cleared by a success.
	LastError string `json:"last_error,omitempty"`
	// LastErrorClass is the class of LastError (AuthFailed means the
	// credentials were rejected).
	LastErrorClass Class `json:"last_error_class,omitempty"`
	// LastErrorReason is LastError as a code (its Reason, or its class when
	// it has none): what /readyz shows, never the text.
	LastErrorReason Reason `json:"last_error_reason,omitempty"`
	// Logins and Refreshes count successful renewals since start.
	Logins    int `json:"logins"`
	Refreshes int `json:"refreshes"`
}

// tokenOwner owns the OAuth2 token, as Vault Agent's AuthHandler owns its
// auth, apart from the calls that use it: it logs in and refreshes (oauth.go),
// holds and saves the token, keeps its health, and is the one holder of the
// credentials, so it is also what scrubs them from any text. One goroutine
// (run) renews; calls ask it through token, replace and drop.
type tokenOwner struct {
	cfg     Config
	http    *http.Client
	store   TokenStore
	log     zerolog.Logger
	observe func(CallRecord) // the client's call health and metrics, for each login step
	// basic is the token steps' Basic credentials, base64(client_id:client_secret).
	basic secret.Value

	held     atomic.Pointer[held]
	requests chan tokenRequest
	running  atomic.Bool
	stopped  chan struct{}

	statusMu         sync.Mutex
	status           TokenStatus
	changed          chan struct{} // closed and replaced at each change of the token's health
	retryAt          time.Time     // real time of the next renewal attempt after a failure
	retryBackoff     backoff.Counter
	authErr          *Error // the last credential rejection, answered while blocked
	authBlockedUntil time.Time
	authBackoff      backoff.Counter

	// droppedTok is the access token iyzico refused outside an HTTP 401
	// (see drop); nil when none.
	droppedTok atomic.Pointer[string]

	onAsk func() // tests only: called when a call starts waiting for the owner
}

func newTokenOwner(cfg Config, hc *http.Client, tokens TokenStore, log zerolog.Logger, observe func(CallRecord)) *tokenOwner {
	return &tokenOwner{
		cfg:          cfg,
		http:         hc,
		store:        tokens,
		log:          log,
		observe:      observe,
		basic:        basicCredentials(cfg.Credentials),
		requests:     make(chan tokenRequest),
		stopped:      make(chan struct{}),
		changed:      make(chan struct{}),
		retryBackoff: backoff.Counter{Policy: backoff.Policy{Min: retryMin, Max: retryMax}},
		authBackoff:  backoff.Counter{Policy: backoff.Policy{Min: authBackoffMin, Max: authBackoffMax}},
	}
}

// tokenRequest asks the owner for a token.
type tokenRequest struct {
	minLife  time.Duration // the caller's operation needs at least this much life
	rejected string        // the access token iyzico just refused ("" if none)
	relogin  bool          // iyzico ended the session: skip the refresh grant
	reply    chan tokenReply
}

type tokenReply struct {
	tok *oauth2.Token
	err *Error
}

// held is the owner's token, published for the lock-free fast path.
type held struct {
	tok      *oauth2.Token
	obtained time.Time // by Config.Now
}

// Authentication failures back off so that a wrong password does not lock the
// merchant user out with a stream of logins; other renewal failures back off
// from a second to a minute. Both double per failure in a row, without jitter.
const (
	authBackoffMin = 5 * time.Second
	authBackoffMax = 5 * time.Minute
	retryMin       = time.Second
	retryMax       = time.Minute
)

// TokenExpiry is the held token's expiry; zero when no token is held.
func (c *Client) TokenExpiry() time.Time { return c.tok.expiry() }

// TokenStatus reports the token's health.
func (c *Client) TokenStatus() TokenStatus { return c.tok.health() }

// TokenChanged is closed at the next change of the token's health: a token
// installed (logged in, refreshed, loaded from the store) or dropped, or a
// renewal failed. Take it before reading TokenStatus, so that a change
// between the two still wakes the reader. A token that expires by the clock
// alone does not close it.
func (c *Client) TokenChanged() <-chan struct{} {
	c.tok.statusMu.Lock()
	defer c.tok.statusMu.Unlock()
	return c.tok.changed
}

// Run owns the token until ctx ends: it loads the saved token (or logs in),
// renews it RefreshAhead before expiry, and serves the calls that need a new
// one, one at a time. It must run for calls to work; ctx must be long-lived
// (the service's, not a request's). It returns nil when ctx ends.
func (c *Client) Run(ctx context.Context) error { return c.tok.run(ctx) }

func (o *tokenOwner) expiry() time.Time {
	if h := o.held.Load(); h != nil {
		return h.tok.Expiry
	}
	return time.Time{}
}

// health is the token's health: the status, with the held token's expiry
// and validity.
func (o *tokenOwner) health() TokenStatus {
	o.statusMu.Lock()
	st := o.status
	o.statusMu.Unlock()
	if h := o.held.Load(); h != nil {
		st.Expiry = h.tok.Expiry
		st.Renewed = h.obtained
		st.Valid = h.tok.AccessToken != "" && (h.tok.Expiry.IsZero() || o.cfg.Now().Before(h.tok.Expiry)) && !o.dropped(h.tok)
	}
	return st
}

// life is how long tok has left; a token without expiry counts as long-lived
// (iyzico always sends expires_in; if it did not, 100311 still triggers a refresh).
func (o *tokenOwner) life(tok *oauth2.Token) time.Duration {
	if tok.Expiry.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return tok.Expiry.Sub(o.cfg.Now())
}

// token returns an access token with at least minLife left, asking the owner
// (run) for a new one when the held one is too short-lived. Calls never log in
// or refresh themselves: one goroutine owns the token, so any number of
// concurrent calls cause one renewal.
func (o *tokenOwner) token(ctx context.Context, minLife time.Duration) (*oauth2.Token, *Error) {
	h := o.held.Load()
	if h != nil && o.dropped(h.tok) {
		// iyzico refused this token in an answer that was not a 401: log in
		// again before anything else uses it.
		return o.ask(ctx, tokenRequest{minLife: minLife, rejected: h.tok.AccessToken, relogin: true})
	}
	if o.enough(h, minLife) {
		return h.tok, nil
	}
	return o.ask(ctx, tokenRequest{minLife: minLife})
}

// drop marks tok as refused by iyzico in an answer that may have followed a
// device action (a token error that was not an HTTP 401). Nothing is resent;
// the next call that needs a token has the owner log in again first.
func (o *tokenOwner) drop(tok *oauth2.Token) {
	if tok == nil || tok.AccessToken == "" {
		return
	}
	s := tok.AccessToken
	o.droppedTok.Store(&s)
	o.statusMu.Lock()
	o.signalLocked()
	o.statusMu.Unlock()
	o.log.Warn().Str("op", "token").Msg("iyzico refused the token outside an HTTP 401; the next call logs in again")
}

// dropped reports whether tok is the token drop marked.
func (o *tokenOwner) dropped(tok *oauth2.Token) bool {
	d := o.droppedTok.Load()
	return d != nil && tok != nil && *d == tok.AccessToken
}

// replace asks the owner for a token other than rejected, which iyzico refused.
func (o *tokenOwner) replace(ctx context.Context, rejected *oauth2.Token, relogin bool, minLife time.Duration) (*oauth2.Token, *Error) {
	return o.ask(ctx, tokenRequest{minLife: minLife, rejected: rejected.AccessToken, relogin: relogin})
}

func (o *tokenOwner) ask(ctx context.Context, r tokenRequest) (*oauth2.Token, *Error) {
	if o.onAsk != nil {
		o.onAsk() // tests: a call is about to wait for the owner
	}
	// A renewal is a refresh and possibly a login (authorize + token).
	ctx, cancel := context.WithTimeout(ctx, 3*o.cfg.LoginTimeout+time.Second)
	defer cancel()
	r.reply = make(chan tokenReply, 1)
	notRunning := &Error{Class: NotSent, Reason: ReasonNoToken, Err: ErrNotRunning}
	waited := func() *Error {
		if !o.running.Load() {
			return notRunning
		}
		return &Error{Class: NotSent, Reason: ReasonNoToken,
			Err: &safeError{msg: "waiting for a token: " + ctx.Err().Error(), err: ctx.Err()}}
	}
	select {
	case o.requests <- r:
	case <-o.stopped:
		return nil, notRunning
	case <-ctx.Done():
		return nil, waited()
	}
	select {
	case rep := <-r.reply:
		return rep.tok, rep.err
	case <-o.stopped:
		return nil, notRunning
	case <-ctx.Done():
		return nil, waited()
	}
}

// run is the owner's loop (Client.Run).
func (o *tokenOwner) run(ctx context.Context) error {
	if !o.running.CompareAndSwap(false, true) {
		return errors.New("upstream: Run called more than once")
	}
	defer close(o.stopped) // running stays true: an owner runs once

	o.loadSaved(ctx)
	if h := o.held.Load(); h == nil || h.tok.AccessToken == "" || o.life(h.tok) < o.cfg.RefreshAhead {
		o.renew(ctx, h == nil || h.tok.RefreshToken == "")
	}
	for {
		timer := time.NewTimer(o.nextRenewal())
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
			h := o.held.Load()
			o.renew(ctx, h == nil || h.tok.RefreshToken == "" || o.dropped(h.tok))
		case r := <-o.requests:
			timer.Stop()
			o.serve(ctx, r)
		}
	}
}

func (o *tokenOwner) loadSaved(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, o.cfg.LoginTimeout)
	defer cancel()
	tok, err := o.store.LoadToken(lctx)
	if err != nil {
		o.log.Warn().Str("op", "token_load").Str("reason", "store_error").Msg("saved token could not be read; logging in")
		return
	}
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return
	}
	// When it was obtained is known only through expires_in; without it the
	// token is never taken for a fresh one (see enough).
	var obtained time.Time
	if tok.ExpiresIn > 0 && !tok.Expiry.IsZero() {
		obtained = tok.Expiry.Add(-time.Duration(tok.ExpiresIn) * time.Second)
	}
	o.held.Store(&held{tok: copyToken(tok), obtained: obtained})
	o.statusMu.Lock()
	o.signalLocked()
	o.statusMu.Unlock()
	o.log.Info().Str("op", "token_load").Time("expiry", tok.Expiry).Msg("using saved token")
}

// nextRenewal is the real-time wait until the owner should renew on its own:
// RefreshAhead before expiry, but never before half the token's life has
// passed (so a token shorter-lived than RefreshAhead does not spin), and after
// a failure the retry backoff.
func (o *tokenOwner) nextRenewal() time.Duration {
	o.statusMu.Lock()
	retryAt := o.retryAt
	o.statusMu.Unlock()
	if !retryAt.IsZero() {
		return max(time.Until(retryAt), retryMin)
	}
	h := o.held.Load()
	if h == nil {
		return retryMin
	}
	if h.tok.Expiry.IsZero() {
		return 24 * time.Hour
	}
	at := h.tok.Expiry.Add(-o.cfg.RefreshAhead)
	if half := h.obtained.Add(h.tok.Expiry.Sub(h.obtained) / 2); at.Before(half) {
		at = half
	}
	return max(at.Sub(o.cfg.Now()), retryMin)
}

// serve answers one token request, renewing only when no held token fits.
func (o *tokenOwner) serve(ctx context.Context, r tokenRequest) {
	if tok, ok := o.fits(r); ok {
		r.reply <- tokenReply{tok: tok}
		return
	}
	if err := o.authBlocked(); err != nil {
		r.reply <- tokenReply{err: err}
		return
	}
	h := o.held.Load()
	tok, err := o.renew(ctx, r.relogin || h == nil || h.tok.RefreshToken == "" || o.dropped(h.tok))
	r.reply <- tokenReply{tok: tok, err: err}
	if err == nil {
		return
	}
	// Everyone already waiting shares this failure instead of each trying again.
	for {
		select {
		case r2 := <-o.requests:
			if tok, ok := o.fits(r2); ok {
				r2.reply <- tokenReply{tok: tok}
			} else {
				r2.reply <- tokenReply{err: err}
			}
		default:
			return
		}
	}
}

// fits returns the held token when it satisfies r.
func (o *tokenOwner) fits(r tokenRequest) (*oauth2.Token, bool) {
	h := o.held.Load()
	if h == nil || h.tok.AccessToken == "" || o.dropped(h.tok) {
		return nil, false
	}
	if r.rejected != "" {
		// Someone already replaced the refused token: use the new one.
		return h.tok, h.tok.AccessToken != r.rejected
	}
	return h.tok, o.enough(h, r.minLife)
}

// enough reports whether h can serve a call that needs minLife. A token that
// iyzico issued with less total life than that is accepted while nearly fresh
// (90% of its life left): renewing it would only buy another such token.
func (o *tokenOwner) enough(h *held, minLife time.Duration) bool {
	if h == nil || h.tok.AccessToken == "" {
		return false
	}
	life := o.life(h.tok)
	if life >= minLife {
		return true
	}
	total := h.tok.Expiry.Sub(h.obtained)
	return life > 0 && total > 0 && life >= total-total/10
}

func (o *tokenOwner) authBlocked() *Error {
	o.statusMu.Lock()
	defer o.statusMu.Unlock()
	if o.authErr != nil && time.Now().Before(o.authBlockedUntil) {
		return o.authErr
	}
	return nil
}

// renew gets a new token: the refresh grant first (unless login is forced or
// no refresh token is held), a full login when that fails. It publishes and
// saves the result, or records the failure.
func (o *tokenOwner) renew(ctx context.Context, login bool) (*oauth2.Token, *Error) {
	var (
		tok *oauth2.Token
		err *Error
	)
	if !login {
		if h := o.held.Load(); h != nil {
			tok, err = o.refresh(ctx, h.tok.RefreshToken)
			if err == nil {
				o.install(ctx, tok, false)
				return tok, nil
			}
		}
	}
	tok, err = o.login(ctx)
	if err != nil {
		o.fail(err)
		return nil, err
	}
	o.install(ctx, tok, true)
	return tok, nil
}

func (o *tokenOwner) install(ctx context.Context, tok *oauth2.Token, login bool) {
	o.held.Store(&held{tok: tok, obtained: o.cfg.Now()})
	o.droppedTok.Store(nil)
	o.statusMu.Lock()
	o.status.LastError, o.status.LastErrorClass, o.status.LastErrorReason = "", Unknown, ""
	if login {
		o.status.Logins++
	} else {
		o.status.Refreshes++
	}
	o.retryAt, o.authErr, o.authBlockedUntil = time.Time{}, nil, time.Time{}
	o.retryBackoff.Reset()
	o.authBackoff.Reset()
	o.signalLocked()
	o.statusMu.Unlock()
	if !tok.Expiry.IsZero() && tok.Expiry.Sub(o.cfg.Now()) < o.cfg.CardTimeout {
		o.log.Warn().Str("op", "token").Dur("life", tok.Expiry.Sub(o.cfg.Now())).
			Msg("token lives shorter than the card timeout")
	}
	sctx, cancel := context.WithTimeout(ctx, o.cfg.LoginTimeout)
	defer cancel()
	if err := o.store.SaveToken(sctx, copyToken(tok)); err != nil {
		// Not fatal: the next start logs in again.
		o.log.Warn().Str("op", "token_save").Str("reason", "store_error").Msg("token could not be saved")
	}
}

func (o *tokenOwner) fail(err *Error) {
	o.statusMu.Lock()
	defer o.statusMu.Unlock()
	o.status.LastError, o.status.LastErrorClass, o.status.LastErrorReason = err.Error(), err.Class, err.Reason
	if err.Reason == "" {
		o.status.LastErrorReason = Reason(err.Class.String())
	}
	o.retryAt = time.Now().Add(o.retryBackoff.Fail())
	if err.Class == AuthFailed {
		o.authErr, o.authBlockedUntil = err, time.Now().Add(o.authBackoff.Fail())
		o.retryAt = o.authBlockedUntil
	}
	o.signalLocked()
}

// signalLocked wakes whoever waits on TokenChanged. statusMu is held.
func (o *tokenOwner) signalLocked() {
	close(o.changed)
	o.changed = make(chan struct{})
}
