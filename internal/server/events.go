package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"
)

// errNoStreaming is a connection that cannot stream (no http.Flusher);
// errLastEventID a Last-Event-ID this feed never sent.
var (
	errNoStreaming = errors.New("streaming unsupported")
	errLastEventID = errors.New("invalid Last-Event-ID")
)

// eventPage bounds one read of the journal feed.
const eventPage = 500

// handleEvents streams every journal state change as server-sent events. The
// event id is the journal seq, so a client that reconnects with
// Last-Event-ID resumes exactly where it stopped, from the journal itself.
func (s *server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errNoStreaming
	}
	var after uint64
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last != "" {
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return errLastEventID
		}
		after = n
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()

	keepAlive := time.NewTicker(20 * time.Second)
	defer keepAlive.Stop()
	for {
		// Take the wake-up channel before reading, so a write that lands
		// between the read and the wait still wakes this loop.
		changed := s.svc.Changed()
		evs, err := s.svc.Events(r.Context(), after, eventPage)
		if err != nil {
			return nil // the client sees the stream end and reconnects with Last-Event-ID
		}
		for _, ev := range evs {
			data, _ := json.Marshal(apitype.Event{Seq: ev.Seq, At: ev.At.UTC(), State: string(ev.State), Payment: viewOf(ev.Op)})
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, eventType(ev), data); err != nil {
				return nil
			}
			after = ev.Seq
		}
		flusher.Flush()
		if len(evs) == eventPage {
			continue
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-changed:
		case <-keepAlive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			flusher.Flush()
		}
	}
}

// eventType names an event after what changed: payment.approved,
// refund.unknown, payment.settled (an operator's settlement),
// payment.conflict (iyzico contradicts it), ... The journal keeps each
// operation's record once, so an event replayed after the operation moved
// on carries the operation as it is now: its name comes from the state of
// its own change.
func eventType(ev payment.Event) string {
	op := ev.Op
	kind := string(op.Kind)
	if op.Kind.IsSale() {
		kind = "payment"
	}
	switch {
	case ev.State != "" && ev.State != op.State:
		return kind + "." + string(ev.State.Status())
	case op.Conflict.Open():
		return kind + ".conflict"
	case op.Conflict != nil:
		return kind + ".conflict_acknowledged"
	case op.Resolution == payment.ResolvedOperator:
		return kind + ".settled"
	}
	return kind + "." + string(op.State.Status())
}
