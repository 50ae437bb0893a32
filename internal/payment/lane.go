package payment

import (
	"context"
	"slices"
	"time"
)

// lane is one terminal: at most one money operation at a time, and blocked
// while any of its operations is unknown. Guarded by Service.mu.
type lane struct {
	id         string
	device     string
	busy       string // id of the operation using the terminal, if any
	busyAt     time.Time
	blocked    map[string]bool // unknown operations on this terminal
	lastAnswer time.Time       // when the device last gave a definite answer
	lastEOD    time.Time
	// maybeClosed is the creation time of the latest end of day after lastEOD
	// whose answer was lost (or that a stop cut short): iyzico may have
	// closed the batch there. Zero when there is none.
	maybeClosed time.Time
	// keysBefore is the end of day before lastEOD: the idempotency keys of
	// final operations created before it have served their time (pruneKeys).
	keysBefore time.Time
	// control is the latest operation of this terminal that iyzico approved:
	// a "not found" is believed only when a query of it still finds it.
	control *Operation
	// recent holds the error codes of the latest outcomes, newest last, for
	// health: a run of 380103 means the terminal is unreachable, not slow.
	recent []laneError
}

type laneError struct {
	at    time.Time
	code  string
	group string
}

// maxRecent bounds the error history kept per terminal.
const maxRecent = 64

func (l *lane) noteError(at time.Time, e *UpstreamError) {
	if e == nil {
		return
	}
	l.recent = append(l.recent, laneError{at: at, code: e.Code, group: e.Group})
	if len(l.recent) > maxRecent {
		l.recent = l.recent[len(l.recent)-maxRecent:]
	}
}

// noteEndOfDay moves the terminal's batch boundaries by a final end of day:
// an approved one closed the batch; one whose answer was lost may have.
func (l *lane) noteEndOfDay(op *Operation) {
	switch {
	case op.State == StateApproved && op.CreatedAt.After(l.lastEOD):
		l.lastEOD = op.CreatedAt
		if op.BatchSince.After(l.keysBefore) {
			l.keysBefore = op.BatchSince
		}
		if !l.maybeClosed.After(l.lastEOD) {
			l.maybeClosed = time.Time{}
		}
	case op.State.Final() && op.BatchMaybeClosed && op.CreatedAt.After(l.lastEOD) && op.CreatedAt.After(l.maybeClosed):
		l.maybeClosed = op.CreatedAt
	}
}

// acquire takes the terminal for op, or says why not and when to ask again.
// allowUnknown lets an end of day in although unknowns block the terminal.
func (l *lane) acquire(op *Operation, cardTimeout time.Duration, now time.Time, allowUnknown bool) error {
	if l.busy != "" {
		return &BusyError{Err: ErrTerminalBusy, Terminal: l.id, RetryAfter: retryAfter(cardTimeout)}
	}
	if len(l.blocked) > 0 && !(op.Kind == KindEndOfDay && allowUnknown) {
		return &BusyError{Err: ErrTerminalBlocked, Terminal: l.id, RetryAfter: 5 * time.Second, Unknown: l.unknownIDs()}
	}
	l.busy = op.ID
	l.busyAt = now
	return nil
}

// unknownIDs lists the operations that block the terminal, sorted.
func (l *lane) unknownIDs() []string {
	ids := make([]string, 0, len(l.blocked))
	for id := range l.blocked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// release frees the terminal if op holds it.
func (l *lane) release(id string) {
	if l.busy == id {
		l.busy = ""
	}
}

// retryAfter is a hint, not a promise: a card operation usually ends well
// before the card timeout, so the ECR is told to look again in a few seconds.
func retryAfter(cardTimeout time.Duration) time.Duration {
	if cardTimeout < 10*time.Second {
		return time.Second
	}
	return 3 * time.Second
}

// TerminalState is a terminal as the ECR and the status page see it.
type TerminalState struct {
	ID             string
	DeviceUniqueID string
	State          string // idle, busy, blocked
	BusyWith       string
	BusySince      time.Time
	Unknown        []string
	LastAnswer     time.Time
	LastEndOfDay   time.Time
	// RecentErrors counts error codes of the outcomes of the last 15 minutes.
	RecentErrors map[string]int
	// ConsecutiveTimeouts is how many of the latest outcomes in a row were
	// device timeouts (380103) or answers that never came.
	ConsecutiveTimeouts int
}

// RecentWindow is the span of TerminalState.RecentErrors.
const RecentWindow = 15 * time.Minute

// Terminals returns every configured terminal with its state.
func (s *Service) Terminals() []TerminalState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TerminalState, 0, len(s.opt.Terminals))
	for _, t := range s.opt.Terminals {
		l := s.lanes[t.ID]
		ts := TerminalState{ID: l.id, DeviceUniqueID: l.device, State: "idle", BusyWith: l.busy,
			LastAnswer: l.lastAnswer, LastEndOfDay: l.lastEOD, RecentErrors: map[string]int{}}
		if l.busy != "" {
			ts.BusySince = l.busyAt
		}
		now := s.clock.Now()
		for _, e := range l.recent {
			if e.code != "" && now.Sub(e.at) <= RecentWindow {
				ts.RecentErrors[e.code]++
			}
		}
		for i := len(l.recent) - 1; i >= 0 && l.recent[i].code == CodeDeviceTimeout; i-- {
			ts.ConsecutiveTimeouts++
		}
		for id := range l.blocked {
			ts.Unknown = append(ts.Unknown, id)
		}
		switch {
		case l.busy != "":
			ts.State = "busy"
		case len(l.blocked) > 0:
			ts.State = "blocked"
		}
		out = append(out, ts)
	}
	return out
}

// holdID marks a terminal held by Hold.
const holdID = "maintenance"

// Hold takes every terminal as an operation would, waiting until the ones
// in use are free (or ctx ends), runs fn, and gives them back. Money
// operations asked for meanwhile are refused terminal_busy, with a
// Retry-After, as on a terminal in use; the reconciler goes on. The journal's
// online compaction runs so, during a quiet minute.
func (s *Service) Hold(ctx context.Context, fn func() error) error {
	held := map[string]bool{}
	defer func() {
		s.mu.Lock()
		for id := range held {
			s.lanes[id].release(holdID)
		}
		s.mu.Unlock()
		s.notify()
	}()
	for {
		changed := s.Changed()
		s.mu.Lock()
		for id, ln := range s.lanes {
			if !held[id] && ln.busy == "" {
				ln.busy, ln.busyAt = holdID, s.clock.Now()
				held[id] = true
			}
		}
		all := len(held) == len(s.lanes)
		s.mu.Unlock()
		if all {
			return fn()
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
