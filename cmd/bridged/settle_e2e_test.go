package main

// End-to-end tests of issue 15 (settle): an unknown that iyzico never
// settles no longer closes the till.

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// quickSettle: the grace before an operator may settle is a millisecond,
// and the reconciler's backoff short, so that a test need not wait minutes.
func quickSettle(o *payment.Options) {
	o.NotFoundGrace = time.Millisecond
	o.BackoffMin, o.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
}

func saleBody(mode config.Mode, amount, ref string) string {
	if mode == config.ModeVUK507 {
		return `{"amount":"` + amount + `","reference":"` + ref + `","document_type":"1","items":[{"name":"Tea","quantity":1,"unit_price":"` +
			amount + `","total":"` + amount + `","tax_group_code":"1"}]}`
	}
	return `{"amount":"` + amount + `","reference":"` + ref + `"}`
}

// TestE2EOperatorSettlesWhatIyzicoNeverWill: for each scripted outcome
// whose status query never settles (.52 device timeout, .57 empty device
// answer, .58 unreadable device answer, .59 a code nobody documents), in
// both modes: the lane is blocked and says how to get out; an operator
// settles it declined on the slip's evidence; the lane takes the next sale.
func TestE2EOperatorSettlesWhatIyzicoNeverWill(t *testing.T) {
	for _, mode := range []config.Mode{config.ModeVUK509, config.ModeVUK507} {
		for _, cents := range []string{"52", "57", "58", "59"} {
			t.Run(fmt.Sprintf("%s/.%s", mode, cents), func(t *testing.T) {
				e := startE2E(t, e2eOpts{mode: mode, seams: seams{Payment: quickSettle}})
				stuck := e.pay("stuck", saleBody(mode, "10."+cents, "STUCK"))
				expect(t, stuck, 202, "status", "unknown")
				id := stuck.str("id")
				resolved := e.call("POST", "/v1/payments/"+id+"/resolve", "")
				expect(t, resolved, 200, "status", "unknown")
				if resolved.str("reason") == "" {
					t.Fatalf("an unknown that iyzico will not settle says nothing of why: %s", resolved.raw)
				}
				blocked := e.pay("next", saleBody(mode, "5.00", "NEXT"))
				expect(t, blocked, 409, "code", "terminal_blocked")
				if !strings.Contains(blocked.str("unknown"), id) || !strings.Contains(blocked.str("detail"), "tx settle") {
					t.Fatalf("the 409 does not name the operation or say how to settle it: %s", blocked.raw)
				}
				// The ECR's own key may not settle: that is the operator's word.
				expect(t, e.call("POST", "/v1/payments/"+id+"/settle", `{"outcome":"declined","evidence":"slip","by":"ecr"}`), 403, "code", "forbidden_scope")
				settled := e.operate("/v1/payments/"+id+"/settle", `{"outcome":"declined","evidence":"terminal slip: transaction cancelled","by":"ayse"}`)
				expect(t, settled, 200, "status", "declined", "resolution", "operator", "safe_to_retry", "true",
					"settlement.by", "ayse", "settlement.evidence", "terminal slip: transaction cancelled")
				expect(t, e.pay("next", saleBody(mode, "5.00", "NEXT")), 201, "status", "approved")
				if n := e.sim.Charges(stuck.str("transaction_reference_id")); n != 0 {
					t.Fatalf("%d charges for the settled sale", n)
				}
			})
		}
	}
}

// TestE2EOperatorSettlesApprovedThenRefunds: iyzico charged (the device
// approved after iyzico stopped waiting) but its record stays the timeout
// (.61). The operator reads the slip, settles it approved with its
// paymentId, and a refund of it then works.
func TestE2EOperatorSettlesApprovedThenRefunds(t *testing.T) {
	for _, mode := range []config.Mode{config.ModeVUK509, config.ModeVUK507} {
		t.Run(string(mode), func(t *testing.T) {
			e := startE2E(t, e2eOpts{mode: mode, seams: seams{Payment: quickSettle}})
			stuck := e.pay("stuck", saleBody(mode, "20.61", "STUCK"))
			expect(t, stuck, 202, "status", "unknown")
			expect(t, e.call("POST", "/v1/payments/"+stuck.str("id")+"/resolve", ""), 200, "status", "unknown", "reason", "queried_timeout")
			slip, ok := e.sim.Payment("", stuck.str("transaction_reference_id"))
			if !ok || slip.PaymentID == "" {
				t.Fatalf("the simulator has no charge for the .61 sale: %+v", slip)
			}
			settled := e.operate("/v1/payments/"+stuck.str("id")+"/settle", `{"outcome":"approved","evidence":"slip shows approved, auth `+slip.AuthCode+`","by":"ayse","payment_id":"`+slip.PaymentID+`"}`)
			expect(t, settled, 200, "status", "approved", "resolution", "operator", "payment_id", slip.PaymentID)
			expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "status", "approved")
			// (A refund is scripted by its own amount: 20.00 is approved.)
			body := `{"amount":"20.00"}`
			if mode == config.ModeVUK507 {
				body = `{"lines":[{"line_id":"1","amount":"20.00"}]}`
			}
			refund := e.call("POST", "/v1/payments/"+stuck.str("id")+"/refund", body, "Idempotency-Key: r1")
			expect(t, refund, 201, "status", "approved", "amount", "20.00")
			if n := e.sim.Refunds(refund.str("transaction_reference_id")); n != 1 {
				t.Fatalf("%d refunds at iyzico", n)
			}
		})
	}
}

// TestE2ESettlementRefusedWhileIyzicoCanAnswer: a settlement is refused
// while the operation is young, and when iyzico answers the status query
// that comes first (that answer is recorded instead).
func TestE2ESettlementRefusedWhileIyzicoCanAnswer(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	stuck := e.pay("young", `{"amount":"10.52","reference":"Y"}`)
	expect(t, stuck, 202, "status", "unknown")
	young := e.operate("/v1/payments/"+stuck.str("id")+"/settle", `{"outcome":"declined","evidence":"slip","by":"ayse"}`)
	expect(t, young, 409, "code", "not_settleable")
	if !strings.Contains(young.str("detail"), "may still answer") {
		t.Fatalf("the refusal does not say why: %s", young.raw)
	}

	// The grace is a millisecond, and the reconciler waits an hour: the
	// settlement's own status query is the one that hears iyzico's answer.
	// (With quickSettle's 20 ms the reconciler could answer first, and the
	// refusal then says the operation is approved, not what the query heard.)
	// A settlement inside that millisecond is refused as too young, as it
	// should be: the operator tries again until the grace has passed.
	q := startE2E(t, e2eOpts{seams: seams{Payment: func(o *payment.Options) {
		quickSettle(o)
		o.BackoffMin, o.BackoffMax = time.Hour, time.Hour
	}}})
	q.sim.Inject(simulator.Fault{Op: simulator.OpQuery, Kind: simulator.FaultHTTPStatus, Status: 503, Probability: 1})
	late := q.pay("late", `{"amount":"10.60","reference":"L"}`) // charged; the answer a timeout
	expect(t, late, 202, "status", "unknown")
	q.sim.ClearFaults()
	var refused reply
	for try := 0; ; try++ {
		refused = q.operate("/v1/payments/"+late.str("id")+"/settle", `{"outcome":"declined","evidence":"slip","by":"ayse"}`)
		if !strings.Contains(refused.str("detail"), "may still answer") {
			break
		}
		if try == 10_000 {
			t.Fatalf("still too young after %d settlements: %s", try, refused.raw)
		}
	}
	expect(t, refused, 409, "code", "not_settleable")
	if !strings.Contains(refused.str("detail"), "iyzico answered approved") {
		t.Fatalf("the refusal does not say that iyzico answered: %s", refused.raw)
	}
	expect(t, q.call("GET", "/v1/payments/"+late.str("id"), ""), 200, "status", "approved", "resolution", "query")
}

// TestE2EConflictRaisedInFivePlaces: an operator settles a .61 sale declined
// (wrongly: the device approved); iyzico later learns of the approval. The
// money state stays as settled, and the conflict shows in the operation,
// /readyz, the metrics, the event stream and the log; an acknowledgment
// closes it.
func TestE2EConflictRaisedInFivePlaces(t *testing.T) {
	e := startE2E(t, e2eOpts{seams: seams{Payment: quickSettle}})
	stuck := e.pay("stuck", `{"amount":"30.61","reference":"S"}`)
	expect(t, stuck, 202, "status", "unknown")
	id := stuck.str("id")
	expect(t, e.operate("/v1/payments/"+id+"/settle", `{"outcome":"declined","evidence":"no slip printed","by":"ayse"}`), 200, "status", "declined")

	e.awaitEvent("payment.conflict", e.sim.RevealRecords) // iyzico learns what the device did

	op := e.call("GET", "/v1/payments/"+id, "")
	expect(t, op, 200, "status", "declined", "conflict.settled", "declined", "conflict.iyzico", "approved")
	rd := e.readyz()
	if rd.str("status") != "degraded" || rd.str("conflicts", "status") != "degraded" || !strings.Contains(rd.str("conflicts", "operations"), id) {
		t.Fatalf("/readyz does not show the conflict: %s", rd.raw)
	}
	// The event comes with the commit; the metric and the error log line
	// right after it (the metric first): wait for the line.
	waitFor(t, e.logs, "CONFLICT")
	metrics := e.call("GET", "/metrics", "", "Authorization: Bearer "+e.ops)
	for _, want := range []string{`bridged_conflicts_total{kind="settlement"} 1`, "bridged_conflicts_open 1", `bridged_operator_settlements_total{outcome="declined"} 1`} {
		if !strings.Contains(metrics.raw, want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
	if !strings.Contains(e.logs.String(), "CONFLICT") || !strings.Contains(e.logs.String(), id) {
		t.Fatal("no error log line names the conflict")
	}

	expect(t, e.call("POST", "/v1/payments/"+id+"/acknowledge-conflict", `{"by":"ecr"}`), 403, "code", "forbidden_scope")
	ack := e.operate("/v1/payments/"+id+"/acknowledge-conflict", `{"by":"mehmet","note":"customer refunded at the counter"}`)
	expect(t, ack, 200, "conflict.acknowledged_by", "mehmet")
	if rd := e.readyz(); rd.str("conflicts", "status") != "ok" {
		t.Fatalf("/readyz after the acknowledgment: %s", rd.raw)
	}
}

// TestE2EEndOfDayWithOpenUnknowns: a lane blocked by an unknown runs end of
// day when asked to, and its report lists the unknown with what it could
// add; without the flag the 409 names it.
func TestE2EEndOfDayWithOpenUnknowns(t *testing.T) {
	e := startE2E(t, e2eOpts{})
	expect(t, e.pay("ok", `{"amount":"40.00","reference":"OK"}`), 201, "status", "approved")
	stuck := e.pay("stuck", `{"amount":"12.52","reference":"S"}`)
	expect(t, stuck, 202, "status", "unknown")
	refused := e.call("POST", "/v1/terminals/lane-1/end-of-day", "")
	expect(t, refused, 409, "code", "terminal_blocked")
	if !strings.Contains(refused.str("unknown"), stuck.str("id")) {
		t.Fatalf("the 409 does not name the unknown: %s", refused.raw)
	}
	rep := e.call("POST", "/v1/terminals/lane-1/end-of-day", `{"allow_unknown":true}`)
	expect(t, rep, 201, "status", "approved", "match", "true", "unknown_could_add.amount", "12.52", "unknown_could_add.count", "1")
	if !strings.Contains(rep.str("unknown"), stuck.str("id")) {
		t.Fatalf("the report does not list the unknown: %s", rep.raw)
	}
}

// TestE2EControlQueryBeforeNotFound: iyzico answers "not found" to every
// query (its records out of reach): no sale becomes declined, because a
// query of a sale iyzico approved earlier does not find that one either.
func TestE2EControlQueryBeforeNotFound(t *testing.T) {
	for _, mode := range []config.Mode{config.ModeVUK509, config.ModeVUK507} {
		t.Run(string(mode), func(t *testing.T) {
			e := startE2E(t, e2eOpts{mode: mode, seams: seams{Payment: quickSettle}})
			expect(t, e.pay("known", saleBody(mode, "15.00", "K")), 201, "status", "approved")
			e.sim.Inject(simulator.Fault{Kind: simulator.FaultQueryNotFound, Probability: 1})
			opOf := simulator.OpPayment
			if mode == config.ModeVUK507 {
				opOf = simulator.OpGmuPayment
			}
			e.sim.Inject(simulator.Fault{Op: opOf, Kind: simulator.FaultCommitThenDrop})
			lost := e.pay("lost", saleBody(mode, "25.00", "L")) // charged, answer lost
			expect(t, lost, 202, "status", "unknown")
			for range 3 {
				r := e.call("POST", "/v1/payments/"+lost.str("id")+"/resolve", "")
				expect(t, r, 200, "status", "unknown", "reason", "records_unreachable")
			}
			e.sim.ClearFaults()
			expect(t, e.call("POST", "/v1/payments/"+lost.str("id")+"/resolve", ""), 200, "status", "approved")
		})
	}
}

// operate sends a request with the operator's key (scopes read, operate):
// settling and acknowledging are the store's IT person's, never the ECR's.
func (e *e2e) operate(path, body string) reply {
	e.t.Helper()
	return e.call("POST", path, body, "Authorization: Bearer "+e.ops)
}

// TestCLISettleAcknowledgeAndExport: the store's IT person settles a .61
// sale declined with `bridged tx settle` (the ECR's key alone cannot), iyzico
// later learns the device approved it, the export shows the settlement and
// the open conflict, `bridged tx acknowledge` closes it, and the journal
// read with the daemon stopped exports the same.
func TestCLISettleAcknowledgeAndExport(t *testing.T) {
	e := startE2E(t, e2eOpts{seams: seams{Payment: quickSettle}})
	stuck := e.pay("stuck", `{"amount":"30.61","reference":"CLI-S"}`)
	expect(t, stuck, 202, "status", "unknown")
	id := stuck.str("id")
	path := configFile(t, e.cfg)

	ecrOnly := *e.cfg
	ecrOnly.API.Keys = e.cfg.API.Keys[:1]
	_, err := runCLI(t, "tx", "settle", id, "--outcome", "declined", "--evidence", "slip", "--by", "ayse", "-c", configFile(t, &ecrOnly))
	if err == nil || !strings.Contains(err.Error(), "forbidden_scope") || !strings.Contains(err.Error(), "scope operate") {
		t.Fatalf("tx settle with the ECR's key only: %v", err)
	}
	if _, err := runCLI(t, "tx", "settle", id, "--outcome", "declined", "-c", path); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), "--by, --evidence required") {
		t.Fatalf("tx settle without --by and --evidence: %v", err)
	}
	out, err := runCLI(t, "tx", "settle", id, "--outcome", "declined", "--evidence", "no slip printed", "--by", "Ayse K.", "-c", path)
	if err != nil || !strings.Contains(out, "Settled declined by Ayse K.") || !strings.Contains(out, "resolution:") {
		t.Fatalf("tx settle: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "tx", "settle", id, "--outcome", "approved", "--evidence", "slip", "--by", "x", "-c", path); err == nil ||
		!strings.Contains(err.Error(), "not_settleable") {
		t.Fatalf("a second settlement: %v", err)
	}

	e.awaitEvent("payment.conflict", e.sim.RevealRecords) // iyzico learns what the device did
	row := exportRow(t, path, "CLI-S")
	for col, want := range map[string]string{"status": "declined", "resolution": "operator", "settled_by": "Ayse K.",
		"evidence": "no slip printed", "conflict": "settled declined, iyzico approved"} {
		if !strings.HasPrefix(row[col], want) {
			t.Errorf("export %s = %q, want %q...", col, row[col], want)
		}
	}
	if !strings.HasSuffix(row["conflict"], "; open") || row["settled_at"] == "" {
		t.Errorf("export conflict %q, settled_at %q", row["conflict"], row["settled_at"])
	}

	if _, err := runCLI(t, "tx", "acknowledge", id, "--by", "Mehmet Y.", "-c", path); exitCode(err) != 2 || !strings.Contains(err.Error(), "--note") {
		t.Fatalf("tx acknowledge without --note: %v", err)
	}
	// With the daemon stopped, the CLI acknowledges on the journal itself.
	e.stop()
	out, err = runCLI(t, "tx", "acknowledge", id, "--by", "Mehmet Y.", "--note", "customer refunded at the counter", "-c", path)
	if err != nil || !strings.Contains(out, "Conflict acknowledged.") || !strings.Contains(out, "working on the journal") {
		t.Fatalf("tx acknowledge: %v\n%s", err, out)
	}
	if got := exportRow(t, path, "CLI-S")["conflict"]; !strings.HasSuffix(got, "; acknowledged by Mehmet Y.: customer refunded at the counter") {
		t.Fatalf("export from the stopped daemon's journal: conflict %q", got)
	}
}

// TestCLISettlesWithTheDaemonStopped: tx settle on the journal itself, with
// the daemon's rules: refused while the sale is younger than the card
// timeout plus the grace, then settled on the slip's evidence after one more
// status query, and the next life of the daemon takes sales on that lane.
func TestCLISettlesWithTheDaemonStopped(t *testing.T) {
	for _, mode := range []config.Mode{config.ModeVUK509, config.ModeVUK507} {
		t.Run(string(mode), func(t *testing.T) {
			e := startE2E(t, e2eOpts{mode: mode})
			stuck := e.pay("stuck", saleBody(mode, "20.52", "OFF-S"))
			expect(t, stuck, 202, "status", "unknown")
			id := stuck.str("id")
			e.stop()
			path := configFile(t, e.cfg)
			args := []string{"tx", "settle", id, "--outcome", "declined", "--evidence", "slip: cancelled", "--by", "Ayse", "-c", path}
			if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "not_settleable") || !strings.Contains(err.Error(), "may still answer") {
				t.Fatalf("a young unknown settled with the daemon stopped: %v", err)
			}
			var out, errOut strings.Builder
			a := testApp(noEnv, &out, &errOut)
			a.offlinePayment = func(o *payment.Options) { o.NotFoundGrace = time.Millisecond }
			if err := a.main(context.Background(), args); err != nil {
				t.Fatalf("tx settle with the daemon stopped: %v\n%s%s", err, out.String(), errOut.String())
			}
			// One more status query came first (iyzico's record: the device's
			// timeout), so the reason is iyzico's, not a missing token.
			if !strings.Contains(out.String(), "Settled declined by Ayse") || !regexp.MustCompile(`resolution:\s+operator`).MatchString(out.String()) ||
				!regexp.MustCompile(`reason:\s+queried_timeout`).MatchString(out.String()) {
				t.Fatalf("tx settle printed:\n%s", out.String())
			}
			if n := e.sim.Charges(stuck.str("transaction_reference_id")); n != 0 {
				t.Fatalf("%d charges for the settled sale", n)
			}
			next := startE2E(t, e2eOpts{mode: mode, tweak: func(c *config.Config) { c.DataDir = e.cfg.DataDir; c.Upstream.BaseURL = e.cfg.Upstream.BaseURL }})
			expect(t, next.call("GET", "/v1/payments/"+id, ""), 200, "status", "declined", "resolution", "operator", "settlement.by", "Ayse")
		})
	}
}

// exportRow exports the journal as CSV and returns the row of reference as
// column -> value.
func exportRow(t *testing.T, cfgPath, reference string) map[string]string {
	t.Helper()
	csvPath := filepath.Join(t.TempDir(), "out.csv")
	if out, err := runCLI(t, "export", "-c", cfgPath, "-o", csvPath); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	rows, err := csv.NewReader(strings.NewReader(readFile(t, csvPath))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %v %v", err, rows)
	}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, c := range rows[0] {
			m[c] = r[i]
		}
		if m["reference"] == reference {
			return m
		}
	}
	t.Fatalf("no row of %s in %v", reference, rows)
	return nil
}

// awaitEvent subscribes to the event stream, runs cause, and waits until an
// event of that name arrives, as an ECR or a monitor would.
func (e *e2e) awaitEvent(name string, cause func()) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	cause()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if sc.Text() == "event: "+name {
			return
		}
	}
	e.t.Fatalf("no %s event: %v", name, sc.Err())
}
