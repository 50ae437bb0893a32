package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The control and observation API under /_sim/ (JSON): what tests in another
// process (or a person with curl) use instead of the Go methods. It is not part
// of iyzico and its requests are not recorded.

func (s *Sim) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/{$}", s.ctlIndex)
	mux.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	mux.HandleFunc("GET /_sim/charges", s.ctlCharges)
	mux.HandleFunc("GET /_sim/counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Counters())
	})
	mux.HandleFunc("GET /_sim/refunds", s.ctlRefunds)
	mux.HandleFunc("GET /_sim/payments", s.ctlPayment)
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		out := []faultJSON{}
		for _, f := range s.Faults() {
			out = append(out, toFaultJSON(f))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /_sim/faults", s.ctlInject)
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/tokens/expire", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/sessions/revoke", func(w http.ResponseWriter, r *http.Request) {
		s.RevokeSessions()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/records/reveal", func(w http.ResponseWriter, r *http.Request) {
		s.RevealRecords()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/devices/{id}/end-of-day", func(w http.ResponseWriter, r *http.Request) {
		if !s.CloseBatchOnDevice(r.PathValue("id")) {
			http.Error(w, "no such device", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Sim) ctlIndex(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"endpoints": []string{
			"GET /_sim/requests", "GET /_sim/charges[?reference=R]", "GET /_sim/refunds[?reference=R]", "GET /_sim/counters",
			"GET /_sim/payments?reference=R[&device=D]", "GET|POST|DELETE /_sim/faults",
			"POST /_sim/tokens/expire", "POST /_sim/sessions/revoke",
		},
		"devices": s.cfg.Devices,
	})
}

func (s *Sim) ctlCharges(w http.ResponseWriter, r *http.Request) {
	if ref := r.URL.Query().Get("reference"); ref != "" {
		writeJSON(w, http.StatusOK, map[string]any{"reference": ref, "charges": s.Charges(ref)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": s.TotalCharges(), "by_reference": s.ChargesByReference()})
}

func (s *Sim) ctlRefunds(w http.ResponseWriter, r *http.Request) {
	if ref := r.URL.Query().Get("reference"); ref != "" {
		n, sum := s.RefundsOf(ref)
		writeJSON(w, http.StatusOK, map[string]any{"reference": ref, "refunds": s.Refunds(ref),
			"refunds_of_payment": n, "refunded_amount": sum})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": s.TotalRefunds()})
}

func (s *Sim) ctlPayment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("reference") == "" {
		writeJSON(w, http.StatusBadRequest, ctlError{Error: "query parameter reference is required"})
		return
	}
	v, found := s.Payment(q.Get("device"), q.Get("reference"))
	if !found {
		writeJSON(w, http.StatusNotFound, ctlError{Error: "no operation with that reference"})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Sim) ctlInject(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	var fj faultJSON
	if err := dec.Decode(&fj); err != nil {
		writeJSON(w, http.StatusBadRequest, ctlError{Error: "body: " + err.Error()})
		return
	}
	f, err := fj.fault()
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ctlError{Error: err.Error()})
		return
	}
	s.Inject(f)
	writeJSON(w, http.StatusCreated, toFaultJSON(f))
}

type ctlError struct {
	Error string `json:"error"`
}

// faultJSON is Fault on the wire, with the delay as a Go duration string ("2s").
type faultJSON struct {
	Op          string    `json:"op,omitempty"`
	Device      string    `json:"device,omitempty"`
	Kind        FaultKind `json:"kind"`
	Delay       string    `json:"delay,omitempty"`
	Status      int       `json:"status,omitempty"`
	Times       int       `json:"times,omitempty"`
	Probability float64   `json:"probability,omitempty"`
}

func (fj faultJSON) fault() (Fault, error) {
	f := Fault{Op: fj.Op, Device: fj.Device, Kind: fj.Kind, Status: fj.Status, Times: fj.Times, Probability: fj.Probability}
	if fj.Delay != "" {
		d, err := time.ParseDuration(fj.Delay)
		if err != nil {
			return f, fmt.Errorf("delay: %w", err)
		}
		f.Delay = d
	}
	return f, nil
}

func toFaultJSON(f Fault) faultJSON {
	fj := faultJSON{Op: f.Op, Device: f.Device, Kind: f.Kind, Status: f.Status, Times: f.Times, Probability: f.Probability}
	if f.Delay > 0 {
		fj.Delay = f.Delay.String()
	}
	return fj
}
