package simulator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       Fault
		price       string
		wantErr     bool // the client gets no answer at all
		wantStatus  int
		wantCode    string
		wantCharges int
		wantOutcome string
	}{
		{"http 500", Fault{Op: OpPayment, Kind: FaultHTTPStatus, Status: 500}, "10.00", false, 500, "", 0, OutcomeAnswered},
		{"http 502", Fault{Op: OpPayment, Kind: FaultHTTPStatus, Status: 502}, "10.00", false, 502, "", 0, OutcomeAnswered},
		{"http 503", Fault{Kind: FaultHTTPStatus, Status: 503}, "10.00", false, 503, "", 0, OutcomeAnswered},
		{"reset before processing", Fault{Op: OpPayment, Kind: FaultResetBeforeProcessing}, "10.00", true, 0, "", 0, OutcomeReset},
		{"commit then drop", Fault{Op: OpPayment, Kind: FaultCommitThenDrop}, "10.00", true, 0, "", 1, OutcomeDropped},
		{"commit then drop a decline", Fault{Op: OpPayment, Kind: FaultCommitThenDrop}, "10.51", true, 0, "", 0, OutcomeDropped},
		{"device busy", Fault{Op: OpPayment, Device: testDevice, Kind: FaultDeviceBusy}, "10.00", false, 400, CodeDeviceBusy, 0, OutcomeAnswered},
		{"expire tokens", Fault{Op: OpPayment, Kind: FaultExpireTokens}, "10.00", false, 401, CodeTokenExpired, 0, OutcomeAnswered},
		{"revoke sessions", Fault{Op: OpPayment, Kind: FaultRevokeSessions}, "10.00", false, 401, CodeSessionTerminated, 0, OutcomeAnswered},
		{"delay", Fault{Op: OpPayment, Kind: FaultDelay, Delay: 20 * time.Millisecond}, "10.00", false, 200, "", 1, OutcomeAnswered},
		{"fault on another device", Fault{Device: testDevice2, Kind: FaultHTTPStatus, Status: 503}, "10.00", false, 200, "", 1, OutcomeAnswered},
		{"fault on another op", Fault{Op: OpQuery, Kind: FaultResetBeforeProcessing}, "10.00", false, 200, "", 1, OutcomeAnswered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.sim.Inject(tt.fault)
			started := time.Now()
			resp, err := h.srv.Client().Do(h.jsonRequest(context.Background(), h.token, PathPayment, sale509("f1", tt.price)))
			if tt.wantErr {
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Fatalf("got an answer %d %s, want none", resp.StatusCode, body)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got := decodeLenient(t, resp)
				if resp.StatusCode != tt.wantStatus || (tt.wantCode != "" && got["errorCode"] != tt.wantCode) {
					t.Fatalf("got %d %v, want %d %s", resp.StatusCode, got, tt.wantStatus, tt.wantCode)
				}
			}
			if tt.fault.Kind == FaultDelay && time.Since(started) < tt.fault.Delay {
				t.Errorf("answered after %v, before the delay", time.Since(started))
			}
			if h.sim.Charges("f1") != tt.wantCharges {
				t.Errorf("charges %d, want %d", h.sim.Charges("f1"), tt.wantCharges)
			}
			reqs := h.requestsFor(OpPayment)
			if len(reqs) != 1 || reqs[0].Outcome != tt.wantOutcome {
				t.Fatalf("observation %+v", reqs)
			}
			if applied := len(reqs[0].Faults) > 0; applied != !strings.HasPrefix(tt.name, "fault on another") {
				t.Errorf("faults recorded %v", reqs[0].Faults)
			}
			if len(h.sim.Faults()) != 0 && !strings.HasPrefix(tt.name, "fault on another") {
				t.Errorf("a Times=1 fault is still active: %+v", h.sim.Faults())
			}
		})
	}
}

// decodeLenient reads an answer that may be plain text (injected HTTP statuses).
func decodeLenient(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_, _ = io.Copy(io.Discard, resp.Body)
		return map[string]any{}
	}
	return decode(t, resp.Body)
}

// TestCommitThenDropIsQueryable is acceptance point 3: the dropped sale was
// charged exactly once, and a later query returns it as approved.
func TestCommitThenDropIsQueryable(t *testing.T) {
	for _, tc := range []struct{ name, path, queryPath string }{
		{"VUK 509", PathPayment, PathQuery},
		{"VUK 507", PathGmuPayment, PathGmuQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.sim.Inject(Fault{Kind: FaultCommitThenDrop})
			body := sale509("drop-1", "149.90")
			query := query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "drop-1"})
			if tc.path == PathGmuPayment {
				body = sale507("drop-1", "149.90", "CARD")
				query = map[string]any{"deviceUniqueId": testDevice2, "transactionReferenceId": "drop-1"}
			}
			_, err := h.srv.Client().Do(h.jsonRequest(context.Background(), h.token, tc.path, body))
			if err == nil {
				t.Fatal("the answer was not dropped")
			}
			if h.sim.Charges("drop-1") != 1 {
				t.Fatalf("charges %d, want 1", h.sim.Charges("drop-1"))
			}
			status, got := h.post(tc.queryPath, query)
			if status != http.StatusOK || !strings.EqualFold(got["status"].(string), "success") || str(t, got, "paymentId") == "" {
				t.Fatalf("query after the drop: %d %v", status, got)
			}
			if h.sim.Charges("drop-1") != 1 || h.sim.TotalCharges() != 1 {
				t.Fatal("the query charged")
			}
		})
	}
}

func TestFaultTimesAndScope(t *testing.T) {
	h := newHarness(t, Config{})
	h.sim.Inject(Fault{Op: OpPayment, Kind: FaultDeviceBusy, Times: 2})
	// A query does not take the device, so it does not consume a device-busy fault.
	h.post(PathQuery, query509(map[string]any{"paymentId": "1"}))
	for i, want := range []int{400, 400, 200} {
		status, got := h.post(PathPayment, sale509("t"+string(rune('0'+i)), "1.00"))
		if status != want {
			t.Fatalf("call %d: %d %v", i, status, got)
		}
	}
	h.sim.Inject(Fault{Kind: FaultHTTPStatus, Status: 503, Times: 5})
	h.sim.ClearFaults()
	if status, _ := h.post(PathPayment, sale509("after-clear", "1.00")); status != 200 {
		t.Fatalf("ClearFaults left a fault: %d", status)
	}
}

func TestProbabilisticFaultsAreRepeatable(t *testing.T) {
	run := func(seed uint64) []int {
		h := newHarness(t, Config{Seed: seed})
		h.sim.Inject(Fault{Op: OpEOD, Kind: FaultHTTPStatus, Status: 503, Probability: 0.5})
		var out []int
		for range 24 {
			resp, err := h.srv.Client().Do(h.jsonRequest(context.Background(), h.token, PathEOD, eod509(testDevice)))
			if err != nil {
				t.Fatal(err)
			}
			decodeLenient(t, resp)
			out = append(out, resp.StatusCode)
		}
		if len(h.sim.Faults()) != 1 {
			t.Fatal("a probabilistic fault must stay until cleared")
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	count := func(xs []int) (n int) {
		for _, x := range xs {
			if x == 503 {
				n++
			}
		}
		return n
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different runs: %v vs %v", a, b)
		}
	}
	if n := count(a); n == 0 || n == len(a) {
		t.Fatalf("p=0.5 gave %d of %d", n, len(a))
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same %d outcomes", len(a))
	}
}

func TestInjectRejectsInvalidFaults(t *testing.T) {
	for _, f := range []Fault{
		{Kind: "nonsense"},
		{Kind: FaultHTTPStatus, Status: 200},
		{Kind: FaultDelay},
		{Kind: FaultDeviceBusy, Op: "pay"},
		{Kind: FaultDeviceBusy, Probability: 2},
		{Kind: FaultDeviceBusy, Times: -1},
	} {
		if f.Validate() == nil {
			t.Errorf("%+v: Validate passed", f)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v: Inject did not panic", f)
				}
			}()
			New(Config{}).Inject(f)
		}()
	}
}

// TestBusyDevice proves one operation per device: while a card wait is in
// progress, another money call to the same device gets 380201, and a call to
// another device goes through. The card wait blocks on a channel the test
// controls; nothing sleeps.
func TestBusyDevice(t *testing.T) {
	entered, release := make(chan CardEvent, 1), make(chan struct{})
	cfg := Config{OnCardWait: func(ctx context.Context, ev CardEvent) {
		if ev.TransactionReferenceID != "slow" {
			return
		}
		entered <- ev
		select {
		case <-release:
		case <-ctx.Done():
		}
	}}
	h := newHarness(t, cfg)
	type answer struct {
		status int
		body   map[string]any
	}
	first := make(chan answer, 1)
	go func() {
		status, body := h.post(PathPayment, sale509("slow", "10.00"))
		first <- answer{status, body}
	}()
	ev := <-entered
	if ev.Op != OpPayment || ev.Device != testDevice || ev.Amount != "10.00" {
		t.Fatalf("card event %+v", ev)
	}

	for _, tc := range []struct {
		name string
		path string
		body map[string]any
	}{
		{"sale", PathPayment, sale509("second", "5.00")},
		{"end of day", PathEOD, eod509(testDevice)},
		{"void", PathVoid, void509("v", "1", today)},
	} {
		status, got := h.post(tc.path, tc.body)
		wantStatus := map[string]int{PathVoid: 422}[tc.path]
		if wantStatus == 0 {
			wantStatus = 400
		}
		wantFailure(t, status, got, wantStatus, CodeDeviceBusy, GroupDevice)
	}
	other := sale509("other-device", "5.00")
	other["deviceUniqueId"] = testDevice2
	if status, got := h.post(PathPayment, other); status != http.StatusOK {
		t.Fatalf("another device is not busy: %d %v", status, got)
	}
	if status, got := h.post(PathQuery, query509(map[string]any{"transactionReferenceId": "other-device"})); status != http.StatusOK {
		t.Fatalf("a query does not need the device: %d %v", status, got)
	}

	close(release)
	if a := <-first; a.status != http.StatusOK {
		t.Fatalf("first sale: %d %v", a.status, a.body)
	}
	if status, got := h.post(PathPayment, sale509("third", "5.00")); status != http.StatusOK {
		t.Fatalf("device not released: %d %v", status, got)
	}
	if h.sim.Charges("second") != 0 || h.sim.TotalCharges() != 3 {
		t.Fatalf("charges %v", h.sim.ChargesByReference())
	}
}

// TestClientCancelsDuringCardWait covers both readings of a client that gives
// up during the card wait: finished anyway (default, as a device does) or
// abandoned (AbandonOnCancel).
func TestClientCancelsDuringCardWait(t *testing.T) {
	for _, cont := range []bool{false, true} {
		t.Run(map[bool]string{false: "abandon on cancel", true: "continues by default"}[cont], func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			recorded := make(chan Request, 16)
			cfg := Config{
				AbandonOnCancel: !cont,
				OnRequest:       func(r Request) { recorded <- r },
				OnCardWait: func(ctx context.Context, ev CardEvent) {
					if ev.TransactionReferenceID != "c1" {
						return
					}
					close(entered)
					if cont {
						<-release // ctx is never done: the device carries on
					} else {
						<-ctx.Done() // the server notices the client left
					}
				},
			}
			h := newHarness(t, cfg)
			for len(recorded) > 0 { // the login
				<-recorded
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				resp, err := h.srv.Client().Do(h.jsonRequest(ctx, h.token, PathPayment, sale509("c1", "10.00")))
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			<-entered
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("client error %v", err)
			}
			if cont {
				close(release)
			}
			r := <-recorded
			wantOutcome, wantCharges := OutcomeAbandoned, 0
			if cont {
				wantOutcome, wantCharges = OutcomeAnswered, 1
			}
			if r.Op != OpPayment || r.Outcome != wantOutcome || h.sim.Charges("c1") != wantCharges {
				t.Fatalf("record %+v, charges %d", r, h.sim.Charges("c1"))
			}
			if _, found := h.sim.Payment(testDevice, "c1"); found != cont {
				t.Fatalf("operation recorded: %v", found)
			}
			if status, got := h.post(PathPayment, sale509("c2", "10.00")); status != http.StatusOK {
				t.Fatalf("device not released: %d %v", status, got)
			}
		})
	}
}

func TestSlowCardWait(t *testing.T) {
	h := newHarness(t, Config{SlowCardWait: 30 * time.Millisecond})
	start := time.Now()
	status, got := h.post(PathPayment, sale509("slow", "10.55"))
	if status != http.StatusOK || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("%d %v after %v", status, got, time.Since(start))
	}
	status, got = h.post(PathPayment, sale509("debit", "10.56"))
	if status != http.StatusOK || got["cardType"] != "DEBIT_CARD" || got["acquirerId"] != "46" || got["binNumber"] != "454671" {
		t.Fatalf("%d %v", status, got)
	}
}
