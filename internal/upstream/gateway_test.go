package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/payment"
)

func TestFromError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		class    payment.Class
		busy     bool
		withCode string // "" = no UpstreamError
		message  string
	}{
		{"foreign error", errors.New("boom"), payment.Unknown, false, "", ""},
		{"approved", &Error{Class: Approved}, payment.Approved, false, "", ""},
		{"declined", &Error{Class: Declined, Code: "10051", Group: "BANK_ERROR", Message: "Insufficient funds"},
			payment.Declined, false, "10051", "Insufficient funds"},
		{"consumer message wins", &Error{Class: Declined, Code: "10051", Message: "tech", ConsumerMessage: "Use another card"},
			payment.Declined, false, "10051", "Use another card"},
		{"busy", &Error{Class: NotSent, Reason: ReasonTerminalBusy, Code: "380201", Group: "DEVICE_ERROR"}, payment.NotSent, true, "380201", ""},
		{"not connected", &Error{Class: NotSent, Reason: ReasonNotConnected}, payment.NotSent, false, "", ""},
		{"auth failed", &Error{Class: AuthFailed, Reason: ReasonCredentialsRejected, Message: "check credentials"},
			payment.NotSent, false, "", "check credentials"},
		{"not found", &Error{Class: NotFound, Code: "380108"}, payment.NotFound, false, "380108", ""},
		{"unknown", &Error{Class: Unknown, Reason: ReasonTimeout}, payment.Unknown, false, "", ""},
		{"unknown with code", &Error{Class: Unknown, Code: "380103", Group: "TIMEOUT_ERROR"}, payment.Unknown, false, "380103", ""},
		{"wrapped", errors.Join(errors.New("ctx"), &Error{Class: Declined, Group: "BANK_ERROR"}), payment.Declined, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := fromError(tc.err)
			if out.Class != tc.class || out.Busy != tc.busy || out.Cause != tc.err {
				t.Fatalf("outcome %+v", out)
			}
			switch {
			case tc.withCode == "" && tc.message == "" && out.Error != nil && out.Error.Group == "":
				t.Fatalf("error %+v without a code", out.Error)
			case tc.withCode != "" && (out.Error == nil || out.Error.Code != tc.withCode):
				t.Fatalf("error %+v, want code %s", out.Error, tc.withCode)
			case tc.message != "" && (out.Error == nil || out.Error.Message != tc.message):
				t.Fatalf("error %+v, want message %q", out.Error, tc.message)
			}
		})
	}
}

// gatewayFake is a fake iyzico whose terminal-host answers are scripted per
// path; it records the bodies it was sent per path.
type gatewayFake struct {
	*fake
	answers map[string]func(w http.ResponseWriter, body map[string]any)
}

func newGatewayFake(t *testing.T, answers map[string]func(w http.ResponseWriter, body map[string]any)) (*gatewayFake, *Client) {
	t.Helper()
	g := &gatewayFake{fake: newFake(t), answers: answers}
	g.set(func(w http.ResponseWriter, r *http.Request, b []byte, _ int) {
		var body map[string]any
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		_ = d.Decode(&body)
		a := g.answers[r.URL.Path]
		if a == nil {
			t.Errorf("unexpected call to %s", r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		a(w, body)
	})
	return g, start(t, g.srv.URL, nil).c
}

// bodiesTo returns the decoded bodies sent to path.
func (g *gatewayFake) bodiesTo(path string) []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []map[string]any
	for i, p := range g.paths {
		if p == path {
			var m map[string]any
			_ = json.Unmarshal(g.bodies[i], &m)
			out = append(out, m)
		}
	}
	return out
}

// raw answers a JSON text as it is.
func raw(status int, text string) func(w http.ResponseWriter, _ map[string]any) {
	return func(w http.ResponseWriter, _ map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(text))
	}
}

func refundableInfo(items string) func(w http.ResponseWriter, _ map[string]any) {
	return raw(200, `{"status":"success","errorCode":"0","saleNumber":"S-1","saleUid":"u","currency":"TRY","saleItems":[`+items+`]}`)
}

func refundOK(w http.ResponseWriter, body map[string]any) {
	writeJSON(w, 200, map[string]any{"status": "success", "errorCode": "0", "transactionReferenceId": body["transactionReferenceId"],
		"price": 1, "hostReference": "HOST-REFUND", "authCode": "A1", "batchNo": "0001"})
}

func line(id, name string, qty int, unit, total int64) payment.SaleLine {
	return payment.SaleLine{RelatedLineID: id, Name: name, Quantity: qty, UnitPrice: try(unit), Total: try(total), UnitCode: "C62", TaxGroupCode: "20"}
}

func refundOp(lines ...payment.SaleLine) *payment.Operation {
	var sum int64
	for _, l := range lines {
		sum += l.Total.Minor()
	}
	return &payment.Operation{Kind: payment.KindRefund, DeviceUniqueID: testDevice, TransactionReferenceID: "refund-1",
		ConversationID: "c", ParentTransactionReferenceID: "sale-1", PaymentID: "P-1", PaymentDate: "20260406",
		Amount: try(sum), Lines: lines}
}

// TestRefund507MatchesLinesByContent: the refund names iyzico's line by what
// it is, never by its position among the sale's lines.
func TestRefund507MatchesLinesByContent(t *testing.T) {
	const teaCake = `{"id":90017,"name":"Tea","itemQuantity":2,"totalPriceAmount":20.00,"vatAmount":3.33,"returnableQuantity":2,"returnableAmount":20.00},
		{"id":70023,"name":"Cake","itemQuantity":1,"totalPriceAmount":30.00,"vatAmount":5.00,"returnableQuantity":1,"returnableAmount":30.00}`
	for _, tc := range []struct {
		name  string
		info  func(w http.ResponseWriter, _ map[string]any)
		lines []payment.SaleLine
		want  []string // relatedSaleItemIds sent; nil = the refund must not be sent
		error string   // part of the not_sent message
	}{
		{"second line", refundableInfo(teaCake), []payment.SaleLine{line("2", "Cake", 1, 3000, 3000)}, []string{"70023"}, ""},
		{"position says otherwise", refundableInfo(teaCake), []payment.SaleLine{line("1", "Cake", 1, 3000, 3000)}, []string{"70023"}, ""},
		{"both, in the refund's order", refundableInfo(teaCake),
			[]payment.SaleLine{line("2", "Cake", 1, 3000, 3000), line("1", "Tea", 2, 1000, 2000)}, []string{"70023", "90017"}, ""},
		{"part of a line", refundableInfo(teaCake), []payment.SaleLine{line("1", "Tea", 1, 1000, 1000)}, []string{"90017"}, ""},
		{"returned lines omitted", refundableInfo(`{"id":70023,"name":"Cake","itemQuantity":1,"totalPriceAmount":30,"returnableQuantity":1,"returnableAmount":30}`),
			[]payment.SaleLine{line("2", "Cake", 1, 3000, 3000)}, []string{"70023"}, ""},
		{"same name, other unit price", refundableInfo(`{"id":11,"name":"Tea","itemQuantity":1,"totalPriceAmount":10.00},
			{"id":12,"name":"Tea","itemQuantity":1,"totalPriceAmount":12.00}`),
			[]payment.SaleLine{line("2", "Tea", 1, 1200, 1200)}, []string{"12"}, ""},
		{"identical lines are interchangeable", refundableInfo(`{"id":21,"name":"Tea","itemQuantity":1,"totalPriceAmount":10.00,"returnableQuantity":1,"returnableAmount":10},
			{"id":22,"name":"Tea","itemQuantity":1,"totalPriceAmount":10.00,"returnableQuantity":1,"returnableAmount":10}`),
			[]payment.SaleLine{line("1", "Tea", 1, 1000, 1000), line("2", "Tea", 1, 1000, 1000)}, []string{"21", "22"}, ""},
		{"the returned twin is skipped", refundableInfo(`{"id":21,"name":"Tea","itemQuantity":1,"totalPriceAmount":10.00,"returnableQuantity":0,"returnableAmount":0},
			{"id":22,"name":"Tea","itemQuantity":1,"totalPriceAmount":10.00,"returnableQuantity":1,"returnableAmount":10}`),
			[]payment.SaleLine{line("1", "Tea", 1, 1000, 1000)}, []string{"22"}, ""},
		{"ambiguous", refundableInfo(`{"id":31,"name":"Tea","itemQuantity":2,"totalPriceAmount":20.00},
			{"id":32,"name":"Tea","itemQuantity":1,"totalPriceAmount":10.00}`),
			[]payment.SaleLine{line("2", "Tea", 1, 1000, 1000)}, nil, "refusing to guess"},
		{"no such line", refundableInfo(teaCake), []payment.SaleLine{line("1", "Coffee", 1, 3000, 3000)}, nil, "matches none"},
		{"more items than sold", refundableInfo(teaCake), []payment.SaleLine{line("1", "Tea", 3, 1000, 3000)}, nil, "matches none"},
		{"nothing left to return", refundableInfo(`{"id":70023,"name":"Cake","itemQuantity":1,"totalPriceAmount":30,"returnableQuantity":0,"returnableAmount":0}`),
			[]payment.SaleLine{line("2", "Cake", 1, 3000, 3000)}, nil, "matches none"},
		{"less left than asked", refundableInfo(`{"id":9,"name":"Tea","itemQuantity":2,"totalPriceAmount":20,"returnableQuantity":1,"returnableAmount":10}`),
			[]payment.SaleLine{line("1", "Tea", 2, 1000, 2000)}, nil, "matches none"},
		{"no id", refundableInfo(`{"name":"Cake","itemQuantity":1,"totalPriceAmount":30}`),
			[]payment.SaleLine{line("2", "Cake", 1, 3000, 3000)}, nil, "no id"},
		{"sale not found", raw(400, `{"status":"failure","errorCode":"380108","errorMessage":"Payment not found"}`),
			[]payment.SaleLine{line("2", "Cake", 1, 3000, 3000)}, nil, ""},
		{"info times out upstream", raw(503, `gateway`), []payment.SaleLine{line("2", "Cake", 1, 3000, 3000)}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, c := newGatewayFake(t, map[string]func(http.ResponseWriter, map[string]any){
				PathGmuRefundableSaleInfo: tc.info,
				PathGmuRefund:             refundOK,
			})
			gw := NewGateway(c, payment.VUK507, SaleApp{Name: "bridged", Version: "1"})
			out := gw.Execute(context.Background(), refundOp(tc.lines...))
			sent := g.bodiesTo(PathGmuRefund)
			if tc.want == nil {
				if out.Class != payment.NotSent || len(sent) != 0 {
					t.Fatalf("outcome %+v, %d refunds sent: want not_sent and none", out, len(sent))
				}
				if tc.error != "" && (out.Error == nil || !strings.Contains(out.Error.Message, tc.error)) {
					t.Fatalf("error %+v, want %q", out.Error, tc.error)
				}
				return
			}
			if out.Class != payment.Approved || out.HostRef != "HOST-REFUND" || len(sent) != 1 {
				t.Fatalf("outcome %+v, %d refunds sent", out, len(sent))
			}
			items := sent[0]["saleItems"].([]any)
			if len(items) != len(tc.want) {
				t.Fatalf("items %v", items)
			}
			for i, it := range items {
				if got := it.(map[string]any)["relatedSaleItemId"]; got != tc.want[i] {
					t.Fatalf("line %d: relatedSaleItemId %v, want %s (sent %v)", i, got, tc.want[i], items)
				}
			}
			if info := g.bodiesTo(PathGmuRefundableSaleInfo); len(info) != 1 || info[0]["transactionReferenceId"] != "sale-1" {
				t.Fatalf("refundable-sale-info asked %v", info)
			}
		})
	}
	t.Run("bad payment date: nothing asked", func(t *testing.T) {
		g, c := newGatewayFake(t, nil)
		op := refundOp(line("1", "Tea", 1, 1000, 1000))
		op.PaymentDate = "2026-04-06"
		if out := NewGateway(c, payment.VUK507, SaleApp{}).Execute(context.Background(), op); out.Class != payment.NotSent {
			t.Fatalf("outcome %+v", out)
		}
		if c := g.counts(); c.service != 0 {
			t.Fatalf("%d calls", c.service)
		}
	})
}

// query507 answers a VUK 507 status query with fields over a success envelope
// that repeats the queried reference.
func query507(status int, fields string) func(w http.ResponseWriter, body map[string]any) {
	return func(w http.ResponseWriter, body map[string]any) {
		ref, _ := json.Marshal(body["transactionReferenceId"])
		text := `{"conversationId":"c","deviceUniqueId":"` + testDevice + `","transactionReferenceId":` + string(ref)
		if fields != "" {
			text += "," + fields
		}
		raw(status, text+"}")(w, body)
	}
}

func TestGatewayQuery507(t *testing.T) {
	const ok = `"status":"success","errorCode":"0","paymentId":"P-1","paymentDate":20260406,"authCode":"A1","hostReference":"HOST-SALE","batchNo":"0001","binNumber":"552879","lastFourDigits":"0008","cardType":"CREDIT"`
	for _, tc := range []struct {
		name    string
		kind    payment.Kind
		answer  func(w http.ResponseWriter, body map[string]any)
		class   payment.Class
		check   func(t *testing.T, out payment.Outcome)
		errCode string
	}{
		{"approved sale", payment.KindSale, query507(200, ok+`,"cancelHostReference":null,"refundHostReference":null`), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.PaymentID != "P-1" || out.PaymentDate != "20260406" || out.HostRef != "HOST-SALE" || out.Voided || out.Card == nil || out.Card.BIN != "552879" {
					t.Fatalf("%+v", out)
				}
			}, ""},
		{"voided sale", payment.KindSale, query507(200, ok+`,"cancelHostReference":"HOST-VOID"`), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if !out.Voided || out.HostRef != "HOST-SALE" {
					t.Fatalf("%+v", out)
				}
			}, ""},
		{"void: its own host reference", payment.KindVoid, query507(200, ok+`,"cancelHostReference":"HOST-VOID"`), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "HOST-VOID" || out.Voided {
					t.Fatalf("%+v", out)
				}
			}, ""},
		{"refund: its own host reference", payment.KindRefund, query507(200, ok+`,"refundHostReference":"HOST-REFUND"`), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "HOST-REFUND" {
					t.Fatalf("%+v", out)
				}
			}, ""},
		{"refund without its own: none rather than the sale's", payment.KindRefund, query507(200, ok), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "" {
					t.Fatalf("%+v", out)
				}
			}, ""},
		{"paymentId as a number", payment.KindSale, query507(200, `"status":"success","errorCode":"0","paymentId":40000001`), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.PaymentID != "40000001" {
					t.Fatalf("%+v", out)
				}
			}, ""},
		{"recorded 380202: declined, nothing happened", payment.KindSale, query507(200, `"status":"failure","errorCode":"380202","errorMessage":"TechPOS"`),
			payment.Declined, nil, "380202"},
		{"recorded 380201: declined", payment.KindSale, query507(200, `"status":"failure","errorCode":"380201"`), payment.Declined, nil, "380201"},
		{"recorded bank decline", payment.KindSale, query507(200, `"status":"failure","errorCode":"10051"`), payment.Declined, nil, "10051"},
		{"recorded 380103: unknown, and why", payment.KindSale, query507(200, `"status":"failure","errorCode":"380103"`), payment.Unknown,
			func(t *testing.T, out payment.Outcome) {
				if !strings.Contains(out.Cause.Error(), string(ReasonQueriedTimeout)) {
					t.Fatalf("cause %v", out.Cause)
				}
			}, "380103"},
		{"query refused", payment.KindSale, query507(400, `"status":"failure","errorCode":"380104"`), payment.Unknown, nil, "380104"},
		{"not found", payment.KindSale, query507(400, `"status":"failure","errorCode":"380108"`), payment.NotFound, nil, "380108"},
		{"about another transaction", payment.KindSale, raw(200, `{"status":"success","errorCode":"0","transactionReferenceId":"someone-else","paymentId":"P-9"}`),
			payment.Unknown, nil, ""},
		{"split start without saleNumber", payment.KindSplitStart, query507(200, `"status":"success","errorCode":"0"`), payment.Unknown, nil, ""},
		{"split start", payment.KindSplitStart, query507(200, `"status":"success","errorCode":"0","saleNumber":"S-7"`), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.SaleNumber != "S-7" {
					t.Fatalf("%+v", out)
				}
			}, ""},
		{"success with a 201", payment.KindSale, func(w http.ResponseWriter, body map[string]any) { query507(201, ok)(w, body) }, payment.Unknown, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, c := newGatewayFake(t, map[string]func(http.ResponseWriter, map[string]any){PathGmuQuery: tc.answer})
			op := &payment.Operation{Kind: tc.kind, DeviceUniqueID: testDevice, TransactionReferenceID: "op-1", ConversationID: "c"}
			out := NewGateway(c, payment.VUK507, SaleApp{}).Query(context.Background(), op)
			if out.Class != tc.class {
				t.Fatalf("class %v, want %v (%+v, cause %v)", out.Class, tc.class, out, out.Cause)
			}
			if tc.errCode != "" && (out.Error == nil || out.Error.Code != tc.errCode) {
				t.Fatalf("error %+v, want %s", out.Error, tc.errCode)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
			if q := g.bodiesTo(PathGmuQuery); len(q) != 1 || q[0]["transactionReferenceId"] != "op-1" || q[0]["deviceUniqueId"] != testDevice {
				t.Fatalf("query sent %v", q)
			}
		})
	}
}

// TestGateway509Checks: the VUK 509 mapping of payments, voids, refunds and
// queries.
func TestGateway509Checks(t *testing.T) {
	echo := func(status int, fields string) func(w http.ResponseWriter, body map[string]any) {
		return func(w http.ResponseWriter, body map[string]any) {
			ref, _ := json.Marshal(body["transactionReferenceId"])
			raw(status, `{"transactionReferenceId":`+string(ref)+`,`+fields+`}`)(w, body)
		}
	}
	const ok = `"status":"SUCCESS","errorCode":"","errorGroup":"","paymentId":"P-1","paymentDate":"20260406","hostReference":"HOST-SALE","authCode":"A1"`
	for _, tc := range []struct {
		name   string
		kind   payment.Kind
		query  bool
		path   string
		answer func(w http.ResponseWriter, body map[string]any)
		class  payment.Class
		check  func(t *testing.T, out payment.Outcome)
	}{
		{"sale", payment.KindSale, false, PathPayment, echo(200, ok), payment.Approved, func(t *testing.T, out payment.Outcome) {
			if out.PaymentID != "P-1" || out.HostRef != "HOST-SALE" || out.PaymentDate != "20260406" {
				t.Fatalf("%+v", out)
			}
		}},
		{"sale with a numeric paymentId", payment.KindSale, false, PathPayment, echo(200, `"status":"SUCCESS","errorCode":"","paymentId":123`),
			payment.Approved, func(t *testing.T, out payment.Outcome) {
				if out.PaymentID != "123" {
					t.Fatalf("%+v", out)
				}
			}},
		{"sale without paymentId: still approved", payment.KindSale, false, PathPayment, echo(200, `"status":"SUCCESS","errorCode":""`),
			payment.Approved, func(t *testing.T, out payment.Outcome) {
				if out.PaymentID != "" {
					t.Fatalf("%+v", out)
				}
			}},
		{"approval about another transaction", payment.KindSale, false, PathPayment,
			raw(200, `{"status":"SUCCESS","errorCode":"","transactionReferenceId":"other","paymentId":"P-9"}`), payment.Unknown, nil},
		{"void: its own host reference", payment.KindVoid, false, PathVoid, echo(200, ok+`,"cancelHostReference":"HOST-VOID"`),
			payment.Approved, func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "HOST-VOID" {
					t.Fatalf("%+v", out)
				}
			}},
		{"void without one: not the sale's", payment.KindVoid, false, PathVoid, echo(200, ok), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "" {
					t.Fatalf("%+v", out)
				}
			}},
		{"refund: its own host reference", payment.KindRefund, false, PathRefund, echo(200, ok+`,"refundHostReference":"HOST-REFUND"`),
			payment.Approved, func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "HOST-REFUND" {
					t.Fatalf("%+v", out)
				}
			}},
		{"refund 380204 on 200: unknown", payment.KindRefund, false, PathRefund,
			raw(200, `{"status":"FAILURE","errorCode":"380204","errorGroup":"DEVICE_ERROR"}`), payment.Unknown, nil},
		{"void query: its own host reference", payment.KindVoid, true, PathQuery,
			echo(200, ok+`,"cancelHostReference":"HOST-VOID"`), payment.Approved, func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "HOST-VOID" || out.Voided {
					t.Fatalf("%+v", out)
				}
			}},
		{"voided sale query", payment.KindSale, true, PathQuery, echo(200, ok+`,"cancelHostReference":"HOST-VOID"`), payment.Approved,
			func(t *testing.T, out payment.Outcome) {
				if out.HostRef != "HOST-SALE" || !out.Voided {
					t.Fatalf("%+v", out)
				}
			}},
		{"recorded busy", payment.KindSale, true, PathQuery, echo(200, `"status":"FAILURE","errorCode":"380201","errorGroup":"DEVICE_ERROR"`),
			payment.Declined, func(t *testing.T, out payment.Outcome) {
				if out.Busy || out.Error == nil || out.Error.Code != "380201" {
					t.Fatalf("%+v", out)
				}
			}},
		{"query refused (failure schema)", payment.KindSale, true, PathQuery,
			raw(400, `{"status":"FAILURE","errorCode":"10051","errorGroup":"BANK_ERROR"}`), payment.Unknown, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newGatewayFake(t, map[string]func(http.ResponseWriter, map[string]any){tc.path: tc.answer})
			op := &payment.Operation{Kind: tc.kind, DeviceUniqueID: testDevice, TransactionReferenceID: "op-1", ConversationID: "c",
				Amount: try(1000), Installment: 1, PaymentID: "P-1", PaymentDate: "20260406"}
			gw := NewGateway(c, payment.VUK509, SaleApp{})
			var out payment.Outcome
			if tc.query {
				out = gw.Query(context.Background(), op)
			} else {
				out = gw.Execute(context.Background(), op)
			}
			if out.Class != tc.class {
				t.Fatalf("class %v, want %v (%+v, cause %v)", out.Class, tc.class, out, out.Cause)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}

func TestGatewaySplitStart(t *testing.T) {
	for _, tc := range []struct {
		answer string
		class  payment.Class
	}{
		{`{"status":"success","errorCode":"0","saleNumber":"S-1","remainingPaymentAmount":123.45}`, payment.Approved},
		{`{"status":"success","errorCode":"0","saleNumber":"","remainingPaymentAmount":123.45}`, payment.Unknown},
		{`{"status":"success","errorCode":"0"}`, payment.Unknown},
	} {
		_, c := newGatewayFake(t, map[string]func(http.ResponseWriter, map[string]any){PathGmuPartialStart: raw(200, tc.answer)})
		op := &payment.Operation{Kind: payment.KindSplitStart, DeviceUniqueID: testDevice, TransactionReferenceID: "st-1",
			Amount: try(12345), PaymentType: "CARD", DocumentType: "1", Installment: 1, Lines: []payment.SaleLine{line("", "Shoes", 1, 12345, 12345)}}
		out := NewGateway(c, payment.VUK507, SaleApp{Name: "bridged", Version: "1"}).Execute(context.Background(), op)
		if out.Class != tc.class {
			t.Fatalf("%s: %+v", tc.answer, out)
		}
		if tc.class == payment.Approved && (out.SaleNumber != "S-1" || out.Remaining == nil || out.Remaining.Minor() != 12345) {
			t.Fatalf("%+v", out)
		}
	}
}
