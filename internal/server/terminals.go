package server

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"
)

func (s *server) handleTerminals(w http.ResponseWriter, r *http.Request) {
	ts := s.svc.Terminals()
	list := apitype.TerminalList{Items: make([]apitype.Terminal, len(ts)), Mode: string(s.svc.Mode())}
	for i, t := range ts {
		list.Items[i] = terminalViewOf(t)
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *server) handleTerminal(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	for _, t := range s.svc.Terminals() {
		if t.ID == id {
			writeJSON(w, http.StatusOK, terminalViewOf(t))
			return
		}
	}
	s.writeError(w, r, payment.ErrUnknownTerminal)
}

// handleEndOfDay resolves the terminal's unknowns, runs iyzico's end of day
// and answers the report with its comparison against the journal.
func (s *server) handleEndOfDay(w http.ResponseWriter, r *http.Request) {
	o, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var opts payment.EndOfDayOptions
	o.boolean("allow_unknown", &opts.AllowUnknown)
	o.done()
	if err := o.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if !s.knownTerminal(id) {
		s.writeError(w, r, payment.ErrUnknownTerminal)
		return
	}
	res, err := s.svc.EndOfDay(r.Context(), s.caller(r), id, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/end-of-day/"+res.Op.ID)
	writeJSON(w, http.StatusCreated, endOfDayViewOf(res))
}

func (s *server) handleEndOfDays(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !s.knownTerminal(id) {
		s.writeError(w, r, payment.ErrUnknownTerminal)
		return
	}
	limit := 30
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.writeError(w, r, &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "limit", Message: "must be from 1 to 1000"}}})
			return
		}
		limit = n
	}
	rs, err := s.svc.EndOfDays(r.Context(), id, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := apitype.EndOfDayList{Items: make([]apitype.EndOfDay, len(rs))}
	for i, res := range rs {
		list.Items[i] = endOfDayViewOf(res)
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *server) handleEndOfDayByID(w http.ResponseWriter, r *http.Request) {
	res, err := s.svc.EndOfDayByID(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, endOfDayViewOf(res))
}

func (s *server) knownTerminal(id string) bool {
	for _, t := range s.svc.Terminals() {
		if t.ID == id {
			return true
		}
	}
	return false
}
