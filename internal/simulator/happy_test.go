package simulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEveryOperationHappyPath walks all 17 operations of the spec once, each
// with what it needs set up before it, and checks the answer's convention.
func TestEveryOperationHappyPath(t *testing.T) {
	h := newHarness(t, Config{})
	state := map[string]string{} // values carried from one step to the next

	_, sale := h.post(PathPayment, sale509("base509", "100.00"))
	state["pid509"] = str(t, sale, "paymentId")
	_, gsale := h.post(PathGmuPayment, sale507("base507", "100.00", "CARD"))
	state["pid507"] = str(t, gsale, "paymentId")

	steps := []struct {
		op, path string
		body     func() any // nil: an OAuth step, run by form
		form     func() url.Values
		basic    bool
		keep     func(got map[string]any)
	}{
		{op: OpAuthorize, path: PathAuthorize, form: authorizeForm,
			keep: func(got map[string]any) { state["code"] = got["code"].(string) }},
		{op: OpToken, path: PathToken, basic: true,
			form: func() url.Values { return url.Values{"grant_type": {"authorization_code"}, "code": {state["code"]}} },
			keep: func(got map[string]any) { state["refresh"] = got["refresh_token"].(string) }},
		{op: OpTokenRefresh, path: PathTokenRefresh, basic: true,
			form: func() url.Values {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {state["refresh"]}}
			}},
		{op: OpPayment, path: PathPayment, body: func() any { return sale509("h-sale", "10.00") }},
		{op: OpQuery, path: PathQuery, body: func() any { return query509(map[string]any{"paymentId": state["pid509"]}) }},
		{op: OpRefund, path: PathRefund, body: func() any { return refund509("h-refund", state["pid509"], today, "10.00") }},
		{op: OpVoid, path: PathVoid, body: func() any {
			_, s := h.post(PathPayment, sale509("h-to-void", "5.00"))
			return void509("h-void", s["paymentId"].(string), today)
		}},
		{op: OpEOD, path: PathEOD, body: func() any { return eod509(testDevice) }},
		{op: OpGmuPayment, path: PathGmuPayment, body: func() any { return sale507("h-gsale", "10.00", "CARD") }},
		{op: OpGmuQuery, path: PathGmuQuery, body: func() any { return map[string]any{"paymentId": state["pid507"]} }},
		{op: OpGmuRefundableSaleInfo, path: PathGmuRefundableSaleInfo, body: func() any {
			return map[string]any{"transactionReferenceId": "base507"}
		}},
		{op: OpGmuRefund, path: PathGmuRefund, body: func() any {
			return refund507("h-grefund", state["pid507"], todayInt, refundLine507(h.lineIDs("base507")[0], 1, "10.00"))
		}},
		{op: OpGmuVoid, path: PathGmuVoid, body: func() any {
			_, s := h.post(PathGmuPayment, sale507("h-to-gvoid", "5.00", "CARD"))
			return map[string]any{"deviceUniqueId": testDevice2, "paymentId": s["paymentId"], "paymentDate": todayInt, "transactionReferenceId": "h-gvoid"}
		}},
		{op: OpGmuPartialStart, path: PathGmuPartialStart, body: func() any { return sale507("h-start", "10.00", "CARD") },
			keep: func(got map[string]any) { state["saleNumber"] = got["saleNumber"].(string) }},
		{op: OpGmuPartialAdd, path: PathGmuPartialAdd, body: func() any {
			return map[string]any{"saleNumber": state["saleNumber"], "price": json.Number("10.00"), "transactionReferenceId": "h-add"}
		}},
		{op: OpGmuPartialComplete, path: PathGmuPartialComplete, body: func() any {
			return map[string]any{"saleNumber": state["saleNumber"], "transactionReferenceId": "h-complete", "deviceUniqueId": testDevice2}
		}},
		{op: OpGmuEOD, path: PathGmuEOD, body: func() any { return map[string]any{"deviceUniqueId": testDevice2} }},
	}
	seen := map[string]bool{}
	for _, st := range steps {
		t.Run(st.op, func(t *testing.T) {
			var status int
			var got map[string]any
			if st.form != nil {
				status, got = h.form(st.path, st.form(), st.basic)
			} else {
				status, got = h.post(st.path, st.body())
			}
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, got)
			}
			switch {
			case strings.HasPrefix(st.path, "/in-store/"):
			case strings.Contains(st.path, "/gmu/"):
				if got["status"] != "success" || got["errorCode"] != "0" {
					t.Fatalf("VUK 507 success convention: %v", got)
				}
			default:
				if got["status"] != "SUCCESS" || got["errorCode"] != "" || got["errorGroup"] != "" {
					t.Fatalf("VUK 509 success convention: %v", got)
				}
			}
			if st.keep != nil {
				st.keep(got)
			}
			reqs := h.sim.Requests()
			last := reqs[len(reqs)-1]
			if last.Op != st.op || last.Path != st.path || len(last.Findings) != 0 {
				t.Fatalf("observed %+v", last)
			}
			seen[st.op] = true
		})
	}
	if len(seen) != 17 {
		t.Fatalf("%d operations covered, want 17", len(seen))
	}
}
