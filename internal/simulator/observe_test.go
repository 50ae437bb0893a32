package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

func TestFindingsForUnknownFields(t *testing.T) {
	h := newHarness(t, Config{})
	body := sale509("u1", "10.00")
	body["tip"] = 5
	body["saleType"] = "SALE"
	status, got := h.post(PathPayment, body)
	if status != http.StatusOK {
		t.Fatalf("unknown fields are ignored, as iyzico probably does: %d %v", status, got)
	}
	reqs := h.requestsFor(OpPayment)
	want := []Finding{
		{Field: "saleType", Kind: FindingUnknownField, Detail: "not in iyzico's schema; ignored"},
		{Field: "tip", Kind: FindingUnknownField, Detail: "not in iyzico's schema; ignored"},
	}
	if len(reqs) != 1 || len(reqs[0].Findings) != 2 || reqs[0].Findings[0] != want[0] || reqs[0].Findings[1] != want[1] {
		t.Fatalf("findings %+v", reqs)
	}
	for _, f := range reqs[0].Findings {
		if f.Fatal() {
			t.Errorf("%+v is fatal", f)
		}
	}

	line := item("Tea", "20", 1, "1.00", "1.00")
	line["colour"] = "red"
	h.post(PathGmuPayment, sale507("u2", "1.00", "CARD", line))
	f := h.requestsFor(OpGmuPayment)[0].Findings
	if len(f) != 1 || f[0].Field != "saleItems[0].colour" {
		t.Fatalf("nested unknown field: %+v", f)
	}
}

func TestRequestRecord(t *testing.T) {
	h := newHarness(t, Config{})
	req := h.jsonRequest(context.Background(), h.token, PathPayment, sale509("rec", "10.00"))
	req.Header.Del("Content-Type")
	h.do(req)
	h.get("/_sim/counters", nil) // control calls are not recorded

	reqs := h.sim.Requests()
	if len(reqs) != 3 { // authorize, token, payment
		t.Fatalf("requests %+v", reqs)
	}
	for i, op := range []string{OpAuthorize, OpToken, OpPayment} {
		if reqs[i].Op != op || reqs[i].Status != http.StatusOK || reqs[i].Outcome != OutcomeAnswered || reqs[i].Method != http.MethodPost {
			t.Errorf("request %d: %+v", i, reqs[i])
		}
	}
	pay := reqs[2]
	if pay.Device != testDevice || pay.TransactionReferenceID != "rec" || pay.Path != PathPayment || !pay.Time.Equal(h.clock.Now()) {
		t.Errorf("payment record %+v", pay)
	}
	if len(pay.Findings) != 1 || pay.Findings[0].Kind != FindingHeader {
		t.Errorf("a missing Content-Type is a (non-fatal) finding: %+v", pay.Findings)
	}
	c := h.sim.Counters()
	if c.Authorize != 1 || c.TokenByCode != 1 || c.ServiceCalls != 1 || c.OAuthFailures != 0 {
		t.Errorf("counters %+v", c)
	}
}

func TestUnknownPaths(t *testing.T) {
	h := newHarness(t, Config{})
	status, _ := h.post("/v2/terminal-host/nope", map[string]any{})
	if status != http.StatusNotFound {
		t.Fatalf("unknown path: %d", status)
	}
	if st := h.get(PathPayment, nil); st != http.StatusMethodNotAllowed {
		t.Fatalf("GET on an operation path: %d", st)
	}
	reqs := h.sim.Requests()
	if last := reqs[len(reqs)-1]; last.Op != "" || last.Status != http.StatusMethodNotAllowed {
		t.Fatalf("record %+v", last)
	}
}

func TestControlAPI(t *testing.T) {
	h := newHarness(t, Config{})
	_, sale := h.post(PathPayment, sale509("c1", "10.00"))

	var charges struct {
		Total       int            `json:"total"`
		ByReference map[string]int `json:"by_reference"`
	}
	if st := h.get("/_sim/charges", &charges); st != 200 || charges.Total != 1 || charges.ByReference["c1"] != 1 {
		t.Fatalf("charges %d %+v", st, charges)
	}
	var one struct{ Charges int }
	if h.get("/_sim/charges?reference=c1", &one); one.Charges != 1 {
		t.Fatalf("charges of c1: %+v", one)
	}
	var reqs []Request
	if h.get("/_sim/requests", &reqs); len(reqs) != 3 || reqs[2].TransactionReferenceID != "c1" {
		t.Fatalf("requests %+v", reqs)
	}
	var counters Counters
	if h.get("/_sim/counters", &counters); counters.TokenByCode != 1 {
		t.Fatalf("counters %+v", counters)
	}
	var view PaymentView
	if st := h.get("/_sim/payments?reference=c1&device="+testDevice, &view); st != 200 || view.PaymentID != sale["paymentId"] || view.Status != "approved" {
		t.Fatalf("payment %d %+v", st, view)
	}
	if st := h.get("/_sim/payments?reference=nope", nil); st != http.StatusNotFound {
		t.Fatalf("unknown payment: %d", st)
	}
	if st := h.get("/_sim/", nil); st != 200 {
		t.Fatalf("index: %d", st)
	}

	ctl := func(method, path, body string) int {
		req, _ := http.NewRequest(method, h.srv.URL+path, bytes.NewBufferString(body))
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := ctl("POST", "/_sim/faults", `{"op":"payment","kind":"delay","delay":"5ms","times":2}`); st != http.StatusCreated {
		t.Fatalf("inject: %d", st)
	}
	var faults []map[string]any
	if h.get("/_sim/faults", &faults); len(faults) != 1 || faults[0]["delay"] != "5ms" || faults[0]["times"] != float64(2) {
		t.Fatalf("faults %v", faults)
	}
	for _, bad := range []string{`{"kind":"nonsense"}`, `{"kind":"delay","delay":"soon"}`, `{"kind":"http_status","status":200}`, `{"kind":"delay","delay":"1s","extra":1}`} {
		if st := ctl("POST", "/_sim/faults", bad); st != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, st)
		}
	}
	if st := ctl("DELETE", "/_sim/faults", ""); st != http.StatusNoContent || len(h.sim.Faults()) != 0 {
		t.Fatalf("clear: %d %v", st, h.sim.Faults())
	}

	if st := ctl("POST", "/_sim/tokens/expire", ""); st != http.StatusNoContent {
		t.Fatal(st)
	}
	status, got := h.post(PathEOD, eod509(testDevice))
	wantFailure(t, status, got, 401, CodeTokenExpired, GroupSystem)
	h.token = h.login()
	if st := ctl("POST", "/_sim/sessions/revoke", ""); st != http.StatusNoContent {
		t.Fatal(st)
	}
	status, got = h.post(PathEOD, eod509(testDevice))
	wantFailure(t, status, got, 401, CodeSessionTerminated, GroupDevice)
}

func TestCommitThenDropOnToken(t *testing.T) {
	h := newHarness(t, Config{})
	h.sim.Inject(Fault{Op: OpToken, Kind: FaultCommitThenDrop})
	_, code := h.form(PathAuthorize, authorizeForm(), false)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+PathToken,
		bytes.NewBufferString(url.Values{"grant_type": {"authorization_code"}, "code": {code["code"].(string)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("sim-client", "sim-secret")
	if resp, err := h.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("token answer not dropped")
	}
	if c := h.sim.Counters(); c.TokenByCode != 2 {
		t.Fatalf("the token was issued before the drop: %+v", c)
	}
	raw, _ := json.Marshal(h.sim.Requests())
	if !bytes.Contains(raw, []byte(`"outcome":"dropped"`)) {
		t.Fatalf("%s", raw)
	}
}
