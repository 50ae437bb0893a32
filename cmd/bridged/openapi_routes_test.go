package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/server"
)

// TestOpenAPIDocumentsEveryRoute: every chi route is in the document, and
// every documented path and method is a chi route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := server.New(server.Options{Service: routesOnly{}, Metrics: routesOnlyMetrics{}})
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("server.New returned %T, not a chi router", h)
	}
	inRouter := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		inRouter[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(server.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	inDoc := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				inDoc[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	for r := range inRouter {
		if !inDoc[r] {
			t.Errorf("route %s is not in internal/server/openapi.yaml", r)
		}
	}
	for d := range inDoc {
		if !inRouter[d] {
			t.Errorf("internal/server/openapi.yaml documents %s, which is no route", d)
		}
	}
	if len(inRouter) < 20 {
		t.Errorf("only %d routes walked: %v", len(inRouter), inRouter)
	}
}

// routesOnly is a Service good enough to build the routes, never to serve.
type routesOnly struct{ server.Service }

func (routesOnly) Void(context.Context, payment.Caller, payment.AdjustRequest) (*payment.Result, error) {
	return nil, errors.ErrUnsupported
}

func (routesOnly) Refund(context.Context, payment.Caller, payment.AdjustRequest) (*payment.Result, error) {
	return nil, errors.ErrUnsupported
}

func (routesOnly) Cancel(context.Context, payment.Caller, payment.AdjustRequest) (*payment.Result, error) {
	return nil, errors.ErrUnsupported
}

type routesOnlyMetrics struct{}

func (routesOnlyMetrics) Handler() http.Handler                          { return http.NotFoundHandler() }
func (routesOnlyMetrics) HTTPRequest(string, string, int, time.Duration) {}
