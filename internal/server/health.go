package server

import "net/http"

func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz says whether bridged can take money operations. The full
// per-part report comes with the operations surface; this is the store part.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Health(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "fail",
			"store": map[string]string{"status": "fail", "detail": "journal write failed; bridged refuses new money operations until restarted"}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "store": map[string]string{"status": "ok"}})
}
