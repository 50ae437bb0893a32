package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	// A port nothing listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/healthz"
	ln.Close()

	noEnv := func(string) string { return "" }
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		want   int
	}{
		{"healthy", []string{"-url", ok.URL + "/healthz"}, noEnv, 0},
		{"unhealthy", []string{"-url", failing.URL + "/healthz"}, noEnv, 1},
		{"not listening", []string{"-url", closed}, noEnv, 1},
		{"url from the environment", nil, func(k string) string {
			if k == "BRIDGED_HEALTH_URL" {
				return ok.URL + "/healthz"
			}
			return ""
		}, 0},
		{"flag wins over the environment", []string{"-url", failing.URL + "/healthz"}, func(string) string { return ok.URL + "/healthz" }, 1},
		{"bad flag", []string{"-nope"}, noEnv, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			if got := run(tt.args, tt.getenv, &stderr); got != tt.want {
				t.Errorf("exit %d, want %d (%s)", got, tt.want, stderr.String())
			}
		})
	}
}
