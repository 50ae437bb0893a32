package server

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// ConnLimits bound the connections of the API, so that a flood of keyless
// connections (any local program may open them) never stops a sale.
type ConnLimits struct {
	// Max is the most connections open at once. At Max, the oldest idle
	// connection goes to make room; with none that can go, a new connection
	// is closed at once.
	Max int
	// Reserved of Max are kept for connections that present a key: keyless
	// connections are held below Max-Reserved by closing the oldest idle
	// keyless one, and a connection let in on the reserve serves only
	// requests with a key.
	Reserved int
	// KeylessIdle is how long a connection that never presented a key may
	// sit idle between requests (a keyed one: IdleTimeout, 120 s).
	KeylessIdle time.Duration
}

// DefaultConnLimits are the limits of a zero ConnLimits' fields.
var DefaultConnLimits = ConnLimits{Max: 1024, Reserved: 64, KeylessIdle: 5 * time.Second}

// HTTP is the API's HTTP server with its connection limits.
type HTTP struct {
	*http.Server
	conns *connTracker
}

// NewHTTP wraps the handler with the timeouts every listener must have (a
// slow or idle client cannot hold a connection or a goroutine forever) and
// the connection limits. Serve each listener with Serve.
func NewHTTP(h http.Handler, lim ConnLimits, log zerolog.Logger) *HTTP {
	if lim.Max <= 0 {
		lim.Max = DefaultConnLimits.Max
	}
	if lim.Reserved <= 0 || lim.Reserved >= lim.Max {
		lim.Reserved = min(DefaultConnLimits.Reserved, lim.Max/2)
	}
	if lim.KeylessIdle <= 0 {
		lim.KeylessIdle = DefaultConnLimits.KeylessIdle
	}
	t := &connTracker{lim: lim, log: log.With().Str("component", "server").Logger()}
	srv := &http.Server{
		Handler:           t.track(h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		// No WriteTimeout: money calls and long polls block up to api.default_wait
		// by design; each handler bounds its own wait.
		ConnState: t.connState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*trackedConn); ok {
				return context.WithValue(ctx, ctxConn, tc)
			}
			return ctx
		},
	}
	return &HTTP{Server: srv, conns: t}
}

// Serve accepts connections on ln within the limits until the server shuts down.
func (h *HTTP) Serve(ln net.Listener) error {
	return h.Server.Serve(&limitedListener{Listener: ln, t: h.conns})
}

// ConnStats are the tracker's counts, for tests and logs.
type ConnStats struct {
	Open, Keyless, Evicted, Refused int
}

// Stats returns the current counts.
func (h *HTTP) Stats() ConnStats {
	t := h.conns
	t.mu.Lock()
	defer t.mu.Unlock()
	return ConnStats{Open: t.open, Keyless: t.keyless, Evicted: t.evicted, Refused: t.refused}
}

// freshGrace is how long a new connection may take to send its request
// before it can be closed to make room for others: a client connects and
// writes at once, a flood's silent connection does not.
const freshGrace = time.Second

// connTracker knows every open connection, whether it has presented a key,
// and which can be closed to make room: first the keyless ones idle between
// requests, then keyless ones that have not sent a request within
// freshGrace, oldest first; at the hard cap, keyed ones idle only when no
// keyless one is open. When none can go, a new connection is closed at once.
type connTracker struct {
	lim ConnLimits
	log zerolog.Logger

	mu        sync.Mutex
	open      int
	keyless   int
	idle      list.List // *trackedConn, keyless, idle after a request: oldest first
	fresh     list.List // *trackedConn, keyless, not yet in a handler: by accept time
	idleKeyed list.List // *trackedConn, keyed and idle: oldest first
	evicted   int
	refused   int
	crowded   bool        // keyless connections reached their limit since the last quiet moment
	lastNote  time.Time   // last log line about the limit
	lastFree  time.Time   // last return of memory to the system
	freeTimer *time.Timer // the next one, when due
}

type trackedConn struct {
	net.Conn
	t *connTracker

	// guarded by t.mu
	accepted time.Time
	keyed    bool
	serving  bool // a request is in a handler
	reserve  bool // let in on the reserve: keyed requests only
	state    http.ConnState
	elem     *list.Element
	list     *list.List
	closed   bool
	removed  bool
}

type limitedListener struct {
	net.Listener
	t *connTracker
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.t.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// admit makes room for c and returns it tracked, or closes it when even the
// reserve is full of connections serving requests.
func (t *connTracker) admit(c net.Conn) *trackedConn {
	now := time.Now()
	tc := &trackedConn{Conn: c, t: t, state: http.StateNew, accepted: now}
	var victims []*trackedConn
	soft := t.lim.Max - t.lim.Reserved
	t.mu.Lock()
	// One newcomer makes room for itself: it closes one connection at most.
	switch {
	case t.keyless >= soft && t.idle.Len() > 0:
		victims = append(victims, t.evictLocked(&t.idle))
	case t.keyless >= soft && t.fresh.Len() > 0 && now.Sub(t.fresh.Front().Value.(*trackedConn).accepted) > freshGrace:
		victims = append(victims, t.evictLocked(&t.fresh))
	}
	if t.open >= t.lim.Max {
		// Full: a keyless connection silent past its grace makes room, or,
		// when keyed clients hold every one, their oldest idle one. Never a
		// keyless one just accepted: it is as likely the
		// ECR's as the flood's, and closing it after the ECR wrote its sale
		// would leave the ECR unsure; refusing the newcomer at once is clear
		// (the ECR sends the same request again).
		switch {
		case t.fresh.Len() > 0 && now.Sub(t.fresh.Front().Value.(*trackedConn).accepted) > freshGrace:
			victims = append(victims, t.evictLocked(&t.fresh))
		case t.keyless == 0 && t.idleKeyed.Len() > 0:
			// Only keyed clients hold the connections: the oldest idle goes.
			// While keyless ones hold any, a keyed one is never closed for them.
			victims = append(victims, t.evictLocked(&t.idleKeyed))
		}
	}
	full := t.open >= t.lim.Max
	if full {
		t.refused++
	} else {
		tc.reserve = t.keyless >= soft
		t.open++
		t.keyless++
		t.pushLocked(tc, &t.fresh)
	}
	if t.keyless >= t.lim.Max-t.lim.Reserved {
		t.crowded = true
	}
	note := (len(victims) > 0 || full) && time.Since(t.lastNote) > time.Minute
	if note {
		t.lastNote = time.Now()
	}
	stats := ConnStats{Open: t.open, Keyless: t.keyless, Evicted: t.evicted, Refused: t.refused}
	t.mu.Unlock()

	for _, v := range victims {
		_ = v.Conn.Close()
	}
	if note {
		t.log.Warn().Int("open", stats.Open).Int("keyless", stats.Keyless).Int("max", t.lim.Max).Int("reserved", t.lim.Reserved).
			Int("closed_idle", stats.Evicted).Int("refused", stats.Refused).
			Msg("connection limit reached: closing idle keyless connections to keep room for clients with a key")
	}
	if full {
		_ = c.Close()
		return nil
	}
	return tc
}

// evictLocked takes the oldest connection of l to be closed; it stops
// counting at once (net/http reports it closed only later).
func (t *connTracker) evictLocked(l *list.List) *trackedConn {
	c := l.Front().Value.(*trackedConn)
	c.closed = true
	t.forgetLocked(c)
	t.evicted++
	return c
}

func (t *connTracker) pushLocked(c *trackedConn, l *list.List) {
	if c.list == l || c.closed {
		return
	}
	t.unlistLocked(c)
	c.elem, c.list = l.PushBack(c), l
}

func (t *connTracker) unlistLocked(c *trackedConn) {
	if c.list != nil {
		c.list.Remove(c.elem)
		c.elem, c.list = nil, nil
	}
}

// connState follows each connection through net/http's states.
func (t *connTracker) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*trackedConn)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c.state = st
	switch st {
	case http.StateIdle:
		if c.keyed {
			t.pushLocked(c, &t.idleKeyed)
		} else {
			t.pushLocked(c, &t.idle)
		}
	case http.StateActive:
		// A keyless connection reading its next request can still go; a
		// keyed one is busy now.
		if c.keyed {
			t.unlistLocked(c)
		}
	case http.StateClosed, http.StateHijacked:
		t.removeLocked(c)
	}
}

// forgetLocked stops counting c.
func (t *connTracker) forgetLocked(c *trackedConn) bool {
	if c.removed {
		return false
	}
	c.removed = true
	t.unlistLocked(c)
	t.open--
	if !c.keyed {
		t.keyless--
	}
	return true
}

func (t *connTracker) removeLocked(c *trackedConn) {
	if !t.forgetLocked(c) {
		return
	}
	// After a flood, give the memory its connections held back to the
	// system rather than waiting for the runtime to do it by and by.
	if t.crowded && t.keyless < (t.lim.Max-t.lim.Reserved)/4 {
		t.crowded = false
		t.scheduleFreeLocked()
	}
}

// scheduleFreeLocked returns free memory to the system a little after the
// flood's connections have gone, and at most every 10 s.
func (t *connTracker) scheduleFreeLocked() {
	if t.freeTimer != nil {
		return
	}
	wait := max(2*time.Second, 10*time.Second-time.Since(t.lastFree))
	t.freeTimer = time.AfterFunc(wait, func() {
		debug.FreeOSMemory()
		t.mu.Lock()
		t.lastFree, t.freeTimer = time.Now(), nil
		t.mu.Unlock()
	})
}

// track marks each connection as serving while a handler runs: it cannot be
// closed to make room then.
func (t *connTracker) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := connOf(r)
		if c == nil {
			next.ServeHTTP(w, r)
			return
		}
		t.mu.Lock()
		c.serving = true
		t.unlistLocked(c)
		t.mu.Unlock()
		defer func() {
			t.mu.Lock()
			c.serving = false
			t.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

type ctxConnKey struct{}

var ctxConn ctxConnKey

func connOf(r *http.Request) *trackedConn {
	c, _ := r.Context().Value(ctxConn).(*trackedConn)
	return c
}

// markKeyed records that the connection presented a valid key: it leaves the
// keyless count and keeps the long idle timeout.
func (c *trackedConn) markKeyed() {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.keyed || c.removed {
		return
	}
	c.keyed = true
	c.reserve = false
	t.keyless--
	t.unlistLocked(c)
}

func (c *trackedConn) reserved() bool {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return c.reserve
}

// SetReadDeadline shortens the idle wait of a keyless connection: net/http
// sets IdleTimeout right after it reports the connection idle.
func (c *trackedConn) SetReadDeadline(d time.Time) error {
	c.t.mu.Lock()
	if c.state == http.StateIdle && !c.keyed && !d.IsZero() {
		if limit := time.Now().Add(c.t.lim.KeylessIdle); d.After(limit) {
			d = limit
		}
	}
	c.t.mu.Unlock()
	return c.Conn.SetReadDeadline(d)
}
