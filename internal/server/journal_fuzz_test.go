package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
)

// approvingGateway approves every operation at once, as a device whose
// customer always pays would.
type approvingGateway struct{ n atomic.Int64 }

func (g *approvingGateway) Execute(_ context.Context, op *payment.Operation) payment.Outcome {
	n := g.n.Add(1)
	out := payment.Outcome{Class: payment.Approved, PaymentID: fmt.Sprintf("P-%d", n), AuthCode: "A1",
		PaymentDate: time.Now().Format("20060102"), HostRef: fmt.Sprintf("H-%d", n)}
	if op.Kind == payment.KindSplitStart {
		out.SaleNumber = "S-" + op.ID
	}
	return out
}

func (g *approvingGateway) Query(context.Context, *payment.Operation) payment.Outcome {
	return payment.Outcome{Class: payment.NotFound}
}

func (g *approvingGateway) EndOfDay(context.Context, *payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
	return &payment.EndOfDayReport{BatchNo: "0001"}, payment.Outcome{Class: payment.Approved, BatchNo: "0001"}
}

// installation is one bridged as the daemon builds it, minus the network:
// a real store in a temp dir, the payment service over it with a gateway
// that approves, and the real handler.
type installation struct {
	st  *store.Store
	svc *payment.Service
	h   http.Handler
}

func newInstallation(t testing.TB, mode payment.Mode) *installation {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := payment.New(payment.Options{Mode: mode, Terminals: []payment.TerminalConfig{{ID: "lane-1", DeviceUniqueID: "PAV860047264"}},
		Journal: st, Gateway: &approvingGateway{}, Logger: zerolog.Nop(), MaxAmount: payment.NewMoney(10_000_000, payment.TRY)})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	h := New(Options{Logger: zerolog.Nop(), Keys: []Key{{Name: "ecr", Key: []byte(testKey)}}, Service: svc,
		DefaultWait: 30 * time.Second, CardTimeout: 30 * time.Second})
	return &installation{st: st, svc: svc, h: h}
}

// post sends a money call and returns the id of what it created.
func (in *installation) post(t testing.TB, path, key, body string) string {
	t.Helper()
	w := serve(in.h, http.MethodPost, path, []byte(body), http.Header{"Idempotency-Key": {key}, "Content-Type": {"application/json"}})
	if w.Code != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	return loc[strings.LastIndex(loc, "/")+1:]
}

// head is the journal's last entry: any write moves it.
func (in *installation) head(t *testing.T) string {
	t.Helper()
	seq, hash, err := in.st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d/%s", seq, hash)
}

const sale507 = `{"amount":"30.00","document_type":"1","items":[` +
	`{"name":"Tea","quantity":2,"unit_price":"10.00","total":"20.00","tax_group_code":"20"},` +
	`{"name":"Cake","quantity":1,"unit_price":"10.00","total":"10.00","tax_group_code":"20"}]}`

// FuzzInvalidInputNeverJournaled sends arbitrary bodies and Idempotency-Keys
// to every money endpoint of a real installation in each mode, and checks the
// guarantee that invalid input never writes to the journal: whenever bridged
// answers 4xx, the journal is exactly as it was. It also checks that no input
// makes bridged fail (5xx): the store is healthy, so a 500 would be a bug and
// a 503 a service that stopped taking payments.
func FuzzInvalidInputNeverJournaled(f *testing.F) {
	f.Add(uint8(0), []byte(`{"amount":"149.90","reference":"ECR-1"}`), "")
	f.Add(uint8(0), []byte(`{"amount":"149.901"}`), "ECR-2")
	f.Add(uint8(1), []byte(`{"reason":"customer changed mind"}`), "ECR-1-V")
	f.Add(uint8(2), []byte(`{"amount":"1.00"}`), "ECR-1-R1")
	f.Add(uint8(4), []byte(``), "")
	f.Add(uint8(5), []byte(sale507), "ECR-3")
	f.Add(uint8(6), []byte(`{"lines":[{"line_id":"2","amount":"10.00"}]}`), "ECR-3-R1")
	f.Add(uint8(8), []byte(`{"amount":"10.00"}`), "ECR-4-P1")

	in509, in507 := newInstallation(f, payment.VUK509), newInstallation(f, payment.VUK507)
	// What the paths name: a sale in each mode and an open split sale.
	sale509 := in509.post(f, "/v1/payments", "seed-509", `{"amount":"1000.00"}`)
	sale507ID := in507.post(f, "/v1/payments", "seed-507", sale507)
	split := in507.post(f, "/v1/split-sales", "seed-split", sale507)
	routes := []struct {
		in   *installation
		path string
	}{
		{in509, "/v1/payments"},
		{in509, "/v1/payments/" + sale509 + "/void"},
		{in509, "/v1/payments/" + sale509 + "/refund"},
		{in509, "/v1/payments/" + sale509 + "/cancel"},
		{in509, "/v1/terminals/lane-1/end-of-day"},
		{in507, "/v1/payments"},
		{in507, "/v1/payments/" + sale507ID + "/refund"},
		{in507, "/v1/split-sales"},
		{in507, "/v1/split-sales/" + split + "/payments"},
		{in507, "/v1/split-sales/" + split + "/complete"},
		{in507, "/v1/payments/" + sale507ID + "/void"},
		{in509, "/v1/split-sales"},
	}

	f.Fuzz(func(t *testing.T, route uint8, body []byte, key string) {
		rt := routes[int(route)%len(routes)]
		header := http.Header{"Content-Type": {"application/json"}}
		if key != "" {
			header.Set("Idempotency-Key", key)
		}
		before := rt.in.head(t)
		w := serve(rt.in.h, http.MethodPost, rt.path, body, header)
		after := rt.in.head(t)

		if w.Code >= 500 {
			t.Fatalf("POST %s %q (key %q): %d %s", rt.path, body, key, w.Code, w.Body)
		}
		if w.Code >= 400 && before != after {
			t.Fatalf("POST %s %q (key %q) was refused with %d %s, but the journal moved from %s to %s",
				rt.path, body, key, w.Code, bytes.TrimSpace(w.Body.Bytes()), before, after)
		}
	})
}
