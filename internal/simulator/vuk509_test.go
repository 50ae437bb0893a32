package simulator

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

const today = "20260406" // the fake clock's date

func TestVUK509Sale(t *testing.T) {
	h := newHarness(t, Config{})
	status, got := h.post(PathPayment, sale509("s1", "149.90"))
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, got)
	}
	want := map[string]any{
		"conversationId": "conv-s1", "locale": "tr", "deviceUniqueId": testDevice, "transactionReferenceId": "s1",
		"status": "SUCCESS", "errorCode": "", "errorMessage": "", "errorGroup": "",
		"paymentDate": today, "currency": "TRY", "binNumber": "552879", "lastFourDigits": "0008",
		"cardType": "CREDIT_CARD", "acquirerId": "12", "batchNo": "0001", "cancelHostReference": "", "refundHostReference": "",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if num(t, got, "price") != "149.9" || num(t, got, "installment") != "1" {
		t.Errorf("price/installment: %v", got)
	}
	if num(t, got, "systemTime") != "1775458800000" { // 2026-04-06T10:00:00+03:00 in ms
		t.Errorf("systemTime %v", got["systemTime"])
	}
	if got["transactionDateTime"] != "2026-04-06T07:00:00.000Z" {
		t.Errorf("transactionDateTime %v", got["transactionDateTime"])
	}
	for _, k := range []string{"paymentId", "authCode", "hostReference", "stanNo", "bankMerchantId", "bankTerminalId", "issuerId", "posEntryModeCode"} {
		if str(t, got, k) == "" {
			t.Errorf("%s empty", k)
		}
	}
	if h.sim.Charges("s1") != 1 || h.sim.TotalCharges() != 1 {
		t.Errorf("charges %d total %d", h.sim.Charges("s1"), h.sim.TotalCharges())
	}
	v, ok := h.sim.Payment(testDevice, "s1")
	if !ok || v.Status != "approved" || v.Amount != "149.90" || v.PaymentID != got["paymentId"] || v.Kind != "sale" {
		t.Errorf("Payment view %+v", v)
	}
}

func TestVUK509QueryVoidRefund(t *testing.T) {
	h := newHarness(t, Config{})
	_, sale := h.post(PathPayment, sale509("s1", "100.00"))
	pid := str(t, sale, "paymentId")

	queries := []struct {
		name   string
		fields map[string]any
	}{
		{"by paymentId", map[string]any{"paymentId": pid}},
		{"by device and reference", map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "s1"}},
		{"by paymentId and reference", map[string]any{"paymentId": pid, "transactionReferenceId": "s1"}},
		{"by reference alone", map[string]any{"transactionReferenceId": "s1"}},
	}
	for _, q := range queries {
		t.Run("query "+q.name, func(t *testing.T) {
			status, got := h.post(PathQuery, query509(q.fields))
			if status != http.StatusOK || got["status"] != "SUCCESS" || got["paymentId"] != pid || got["transactionReferenceId"] != "s1" {
				t.Fatalf("%d %v", status, got)
			}
			if got["conversationId"] != "conv-q" {
				t.Fatalf("conversationId not echoed: %v", got)
			}
		})
	}

	status, refund := h.post(PathRefund, refund509("r1", pid, today, "30.00"))
	if status != http.StatusOK || refund["status"] != "SUCCESS" || num(t, refund, "price") != "30" ||
		str(t, refund, "refundHostReference") == "" || refund["hostReference"] != sale["hostReference"] {
		t.Fatalf("refund: %d %v", status, refund)
	}
	status, second := h.post(PathRefund, refund509("r2", pid, today, "70.00"))
	if status != http.StatusOK {
		t.Fatalf("refund of the rest: %d %v", status, second)
	}
	if h.sim.Charges("r1") != 0 || h.sim.TotalCharges() != 1 {
		t.Fatal("a refund counted as a charge")
	}

	t.Run("the sale shows its latest refund", func(t *testing.T) {
		_, got := h.post(PathQuery, query509(map[string]any{"paymentId": pid}))
		if got["refundHostReference"] != second["refundHostReference"] || got["transactionReferenceId"] != "s1" {
			t.Fatalf("%v", got)
		}
	})
	t.Run("a refund's reference returns the refund", func(t *testing.T) {
		_, got := h.post(PathQuery, query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "r1"}))
		if got["transactionReferenceId"] != "r1" || num(t, got, "price") != "30" || got["refundHostReference"] != refund["refundHostReference"] {
			t.Fatalf("%v", got)
		}
	})

	_, sale2 := h.post(PathPayment, sale509("s2", "50.00"))
	status, void := h.post(PathVoid, void509("v2", str(t, sale2, "paymentId"), today))
	if status != http.StatusOK || void["status"] != "SUCCESS" || str(t, void, "cancelHostReference") == "" ||
		void["transactionReferenceId"] != "v2" || void["paymentId"] != sale2["paymentId"] {
		t.Fatalf("void: %d %v", status, void)
	}
	t.Run("a voided sale shows cancelHostReference", func(t *testing.T) {
		_, got := h.post(PathQuery, query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "s2"}))
		if got["status"] != "SUCCESS" || got["cancelHostReference"] != void["cancelHostReference"] {
			t.Fatalf("%v", got)
		}
	})
	t.Run("a void's reference returns the void", func(t *testing.T) {
		_, got := h.post(PathQuery, query509(map[string]any{"paymentId": sale2["paymentId"], "transactionReferenceId": "v2"}))
		if got["transactionReferenceId"] != "v2" || got["cancelHostReference"] != void["cancelHostReference"] || got["authCode"] != void["authCode"] {
			t.Fatalf("%v", got)
		}
	})
	if v, _ := h.sim.Payment(testDevice, "s2"); !v.Voided || v.Kind != "sale" {
		t.Fatalf("view %+v", v)
	}
}

func TestVUK509DeclinedIsQueryable(t *testing.T) {
	h := newHarness(t, Config{})
	status, got := h.post(PathPayment, sale509("d1", "10.51"))
	wantFailure(t, status, got, http.StatusBadRequest, CodeBankInsufficientFunds, GroupBank)
	if got["errorMessage"] != "Yetersiz bakiye" {
		t.Errorf("locale tr: errorMessage %v", got["errorMessage"])
	}
	status, q := h.post(PathQuery, query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "d1"}))
	if status != http.StatusOK || q["status"] != "FAILURE" || q["errorCode"] != CodeBankInsufficientFunds || q["errorGroup"] != GroupBank {
		t.Fatalf("query of a declined sale: %d %v", status, q)
	}
	if q["paymentId"] != "" || h.sim.TotalCharges() != 0 {
		t.Fatalf("a declined sale has a payment: %v", q)
	}
	en := sale509("d2", "10.51")
	en["locale"] = "en"
	_, got = h.post(PathPayment, en)
	if got["errorMessage"] != "Insufficient funds" || str(t, got, "consumerErrorMessage") == "" {
		t.Errorf("locale en: %v", got)
	}
}

func TestVUK509PreAuthPostAuth(t *testing.T) {
	h := newHarness(t, Config{})
	pre := sale509("p1", "200.00")
	pre["salesType"] = "PRE_AUTH"
	status, held := h.post(PathPayment, pre)
	if status != http.StatusOK || h.sim.Charges("p1") != 0 {
		t.Fatalf("pre-auth: %d %v, charges %d", status, held, h.sim.Charges("p1"))
	}
	pid := str(t, held, "paymentId")
	post := sale509("p2", "180.00")
	post["salesType"], post["paymentId"] = "POST_AUTH", pid
	status, captured := h.post(PathPayment, post)
	if status != http.StatusOK || captured["paymentId"] != pid || num(t, captured, "price") != "180" {
		t.Fatalf("post-auth: %d %v", status, captured)
	}
	if h.sim.Charges("p2") != 1 || h.sim.TotalCharges() != 1 {
		t.Fatalf("post-auth charges %d, total %d", h.sim.Charges("p2"), h.sim.TotalCharges())
	}
	again := sale509("p3", "10.00")
	again["salesType"], again["paymentId"] = "POST_AUTH", pid
	status, got := h.post(PathPayment, again)
	wantFailure(t, status, got, http.StatusBadRequest, CodeSimNotAllowed, GroupBusiness)

	_, eod := h.post(PathEOD, eod509(testDevice))
	totals := eod["totals"].([]any)
	if len(totals) != 1 || totals[0].(map[string]any)["totalTransactionAmount"] != "180.00" {
		t.Fatalf("a capture counts once, at its captured amount: %v", totals)
	}
}

func TestVUK509Errors(t *testing.T) {
	type setup struct {
		pid string // paymentId of an approved 100.00 sale "base"
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		m[k] = v
		return m
	}
	without := func(m map[string]any, k string) map[string]any {
		delete(m, k)
		return m
	}
	tests := []struct {
		name       string
		path       string
		body       func(s setup) any
		before     func(h *harness, s setup)
		wantStatus int
		wantCode   string
		wantGroup  string
		finding    FindingKind // a fatal finding the log must show, when set
	}{
		{"unknown device", PathPayment, func(s setup) any { return with(sale509("x", "1.00"), "deviceUniqueId", "NOPE") }, nil,
			400, CodeDeviceNotFound, GroupBusiness, ""},
		{"missing price", PathPayment, func(s setup) any { return without(sale509("x", "1.00"), "price") }, nil,
			400, CodeValidation, GroupValidation, FindingMissing},
		{"price as a string", PathPayment, func(s setup) any { return with(sale509("x", "1.00"), "price", "1.00") }, nil,
			400, CodeValidation, GroupValidation, FindingType},
		{"price with three decimals", PathPayment, func(s setup) any { return sale509("x", "1.001") }, nil,
			400, CodeValidation, GroupValidation, FindingValue},
		{"zero price", PathPayment, func(s setup) any { return sale509("x", "0") }, nil,
			400, CodeValidation, GroupValidation, FindingValue},
		{"locale in capitals", PathPayment, func(s setup) any { return with(sale509("x", "1.00"), "locale", "TR") }, nil,
			400, CodeValidation, GroupValidation, FindingEnum},
		{"installment 13", PathPayment, func(s setup) any { return with(sale509("x", "1.00"), "installment", 13) }, nil,
			400, CodeValidation, GroupValidation, FindingEnum},
		{"installment 1.0", PathPayment, func(s setup) any { return with(sale509("x", "1.00"), "installment", json.Number("1.0")) }, nil,
			400, CodeValidation, GroupValidation, FindingType},
		{"saleType spelling", PathPayment, func(s setup) any {
			return with(without(sale509("x", "1.00"), "salesType"), "saleType", "SALE")
		}, nil, 400, CodeValidation, GroupValidation, FindingMissing},
		{"POST_AUTH without paymentId", PathPayment, func(s setup) any { return with(sale509("x", "1.00"), "salesType", "POST_AUTH") }, nil,
			400, CodeValidation, GroupValidation, FindingMissing},
		{"missing conversationId", PathPayment, func(s setup) any { return without(sale509("x", "1.00"), "conversationId") }, nil,
			400, CodeValidation, GroupValidation, FindingMissing},
		{"body not JSON", PathPayment, func(s setup) any { return []byte("{price: 1") }, nil,
			400, CodeValidation, GroupValidation, FindingMalformed},
		{"declined by the bank (.51)", PathPayment, func(s setup) any { return sale509("x", "1.51") }, nil,
			400, CodeBankInsufficientFunds, GroupBank, ""},
		{"device timeout (.52)", PathPayment, func(s setup) any { return sale509("x", "1.52") }, nil,
			400, CodeTimeout, GroupTimeout, ""},
		{"device application (.53)", PathPayment, func(s setup) any { return sale509("x", "1.53") }, nil,
			400, CodeDeviceAppNotStarted, GroupDevice, ""},
		{"payment service (.54)", PathPayment, func(s setup) any { return sale509("x", "1.54") }, nil,
			400, CodePaymentRejected, GroupPayment, ""},
		{"empty device answer (.57)", PathPayment, func(s setup) any { return sale509("x", "1.57") }, nil,
			400, CodeDeviceEmptyResponse, GroupDevice, ""},
		{"device answer not built (.58)", PathPayment, func(s setup) any { return sale509("x", "1.58") }, nil,
			400, CodeDeviceBadResponse, GroupDevice, ""},
		{"device busy", PathPayment, func(s setup) any { return sale509("x", "1.00") },
			func(h *harness, s setup) { h.sim.Inject(Fault{Op: OpPayment, Kind: FaultDeviceBusy}) },
			400, CodeDeviceBusy, GroupDevice, ""},
		{"reference used before", PathPayment, func(s setup) any { return sale509("base", "1.00") }, nil,
			400, CodeSimDuplicateReference, GroupBusiness, ""},
		{"post-auth of a sale", PathPayment, func(s setup) any {
			return with(with(sale509("x", "1.00"), "salesType", "POST_AUTH"), "paymentId", s.pid)
		}, nil, 400, CodeSimNotAllowed, GroupBusiness, ""},
		{"query without ids", PathQuery, func(s setup) any { return query509(map[string]any{"deviceUniqueId": testDevice}) }, nil,
			400, CodeNoIdentifier, GroupValidation, ""},
		{"query unknown paymentId", PathQuery, func(s setup) any { return query509(map[string]any{"paymentId": "1"}) }, nil,
			400, CodePaymentNotFound, GroupBusiness, ""},
		{"query unknown reference", PathQuery, func(s setup) any {
			return query509(map[string]any{"deviceUniqueId": testDevice, "transactionReferenceId": "nope"})
		}, nil, 400, CodeReferenceNotFound, GroupBusiness, ""},
		{"query a reference of another payment", PathQuery, func(s setup) any {
			return query509(map[string]any{"paymentId": s.pid, "transactionReferenceId": "other"})
		}, func(h *harness, s setup) { h.post(PathPayment, sale509("other", "5.00")) }, 400, CodeReferenceNotFound, GroupBusiness, ""},
		{"query on an unknown device", PathQuery, func(s setup) any {
			return query509(map[string]any{"deviceUniqueId": "NOPE", "transactionReferenceId": "base"})
		}, nil, 400, CodeDeviceNotFound, GroupBusiness, ""},
		{"void unknown payment", PathVoid, func(s setup) any { return void509("v", "1", today) }, nil,
			422, CodePaymentNotFound, GroupBusiness, ""},
		{"void with the wrong paymentDate", PathVoid, func(s setup) any { return void509("v", s.pid, "20260405") }, nil,
			422, CodePaymentNotFound, GroupBusiness, ""},
		{"void with a malformed paymentDate", PathVoid, func(s setup) any { return void509("v", s.pid, "2026-04-06") }, nil,
			422, CodeValidation, GroupValidation, FindingValue},
		{"void twice", PathVoid, func(s setup) any { return void509("v2", s.pid, today) },
			func(h *harness, s setup) { h.post(PathVoid, void509("v1", s.pid, today)) },
			422, CodeAmountNotAvailable, GroupBusiness, ""},
		{"void after end of day", PathVoid, func(s setup) any { return void509("v", s.pid, today) },
			func(h *harness, s setup) { h.post(PathEOD, eod509(testDevice)) },
			422, CodeSimVoidNotAllowed, GroupBusiness, ""},
		{"void the next day", PathVoid, func(s setup) any { return void509("v", s.pid, today) },
			func(h *harness, s setup) {
				h.clock.Advance(24 * time.Hour)
				h.token = h.login()
			},
			422, CodeSimVoidNotAllowed, GroupBusiness, ""},
		{"void after a refund", PathVoid, func(s setup) any { return void509("v", s.pid, today) },
			func(h *harness, s setup) { h.post(PathRefund, refund509("r", s.pid, today, "1.00")) },
			422, CodeSimNotAllowed, GroupBusiness, ""},
		{"refund beyond the amount", PathRefund, func(s setup) any { return refund509("r", s.pid, today, "100.01") }, nil,
			400, CodeAmountNotAvailable, GroupBusiness, ""},
		{"refund beyond what is left", PathRefund, func(s setup) any { return refund509("r2", s.pid, today, "60.00") },
			func(h *harness, s setup) { h.post(PathRefund, refund509("r1", s.pid, today, "50.00")) },
			400, CodeAmountNotAvailable, GroupBusiness, ""},
		{"refund a voided sale", PathRefund, func(s setup) any { return refund509("r", s.pid, today, "1.00") },
			func(h *harness, s setup) { h.post(PathVoid, void509("v", s.pid, today)) },
			400, CodeAmountNotAvailable, GroupBusiness, ""},
		{"refund declined by the bank", PathRefund, func(s setup) any { return refund509("r", s.pid, today, "1.51") }, nil,
			400, CodeBankInsufficientFunds, GroupBank, ""},
		{"refund missing price", PathRefund, func(s setup) any { return without(refund509("r", s.pid, today, "1"), "price") }, nil,
			400, CodeValidation, GroupValidation, FindingMissing},
		{"eod unknown device", PathEOD, func(s setup) any { return eod509("NOPE") }, nil,
			400, CodeDeviceNotFound, GroupBusiness, ""},
		{"eod useSummary as a locale", PathEOD, func(s setup) any { return with(eod509(testDevice), "useSummary", "tr") }, nil,
			400, CodeValidation, GroupValidation, FindingType},
		{"eod busy", PathEOD, func(s setup) any { return eod509(testDevice) },
			func(h *harness, s setup) { h.sim.Inject(Fault{Op: OpEOD, Kind: FaultDeviceBusy}) },
			400, CodeDeviceBusy, GroupDevice, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			_, base := h.post(PathPayment, sale509("base", "100.00"))
			s := setup{pid: str(t, base, "paymentId")}
			if tt.before != nil {
				tt.before(h, s)
			}
			charges := h.sim.TotalCharges()
			status, got := h.post(tt.path, tt.body(s))
			wantFailure(t, status, got, tt.wantStatus, tt.wantCode, tt.wantGroup)
			if h.sim.TotalCharges() != charges {
				t.Errorf("a failure charged: %d -> %d", charges, h.sim.TotalCharges())
			}
			reqs := h.sim.Requests()
			last := reqs[len(reqs)-1]
			if last.Status != tt.wantStatus || last.ErrorCode != tt.wantCode {
				t.Errorf("observation %+v", last)
			}
			if tt.finding != "" {
				var seen bool
				for _, f := range last.Findings {
					seen = seen || (f.Kind == tt.finding && f.Fatal())
				}
				if !seen {
					t.Errorf("no %s finding in %+v", tt.finding, last.Findings)
				}
			}
		})
	}
}

func TestVUK509EndOfDay(t *testing.T) {
	h := newHarness(t, Config{})
	sale := func(ref, price string) string {
		t.Helper()
		status, got := h.post(PathPayment, sale509(ref, price))
		if status != http.StatusOK {
			return ""
		}
		return str(t, got, "paymentId")
	}
	sale("a1", "100.00")
	a2 := sale("a2", "50.00")
	sale("b1", "20.56") // debit card, second acquirer
	voided := sale("a3", "30.00")
	sale("d1", "40.51") // declined
	pre := sale509("h1", "70.00")
	pre["salesType"] = "PRE_AUTH"
	h.post(PathPayment, pre) // an uncaptured hold is not in the batch
	h.post(PathVoid, void509("v1", voided, today))
	h.post(PathRefund, refund509("r1", a2, today, "15.25"))

	status, eod := h.post(PathEOD, eod509(testDevice))
	if status != http.StatusOK || eod["status"] != "SUCCESS" || eod["errorCode"] != "" || eod["batchNo"] != "0001" ||
		eod["locale"] != "tr" || eod["conversationId"] != "conv-eod" || str(t, eod, "resultMessage") == "" {
		t.Fatalf("%d %v", status, eod)
	}
	want := []map[string]any{
		{"acquirerId": "12", "totalTransactionAmount": "134.75", "totalTransactionCount": "3", "responseCode": "00", "batchNo": "0001"},
		{"acquirerId": "46", "totalTransactionAmount": "20.56", "totalTransactionCount": "1", "responseCode": "00", "batchNo": "0001"},
	}
	totals := eod["totals"].([]any)
	if len(totals) != len(want) {
		t.Fatalf("totals %v", totals)
	}
	for i, w := range want {
		got := totals[i].(map[string]any)
		for k, v := range w {
			if got[k] != v {
				t.Errorf("totals[%d].%s = %v, want %v", i, k, got[k], v)
			}
		}
		for _, k := range []string{"terminalId", "bankMerchantId", "acquirerName"} {
			if str(t, got, k) == "" {
				t.Errorf("totals[%d].%s empty", i, k)
			}
		}
	}

	_, next := h.post(PathPayment, sale509("n1", "10.00"))
	if next["batchNo"] != "0002" {
		t.Fatalf("the next sale is not in batch 0002: %v", next)
	}
	status, got := h.post(PathRefund, refund509("r2", a2, today, "5.00")) // refund after end of day: into the new batch
	if status != http.StatusOK || got["batchNo"] != "0002" {
		t.Fatalf("%d %v", status, got)
	}
	_, eod2 := h.post(PathEOD, eod509(testDevice))
	totals = eod2["totals"].([]any)
	if eod2["batchNo"] != "0002" || len(totals) != 1 || totals[0].(map[string]any)["totalTransactionAmount"] != "5.00" ||
		totals[0].(map[string]any)["totalTransactionCount"] != "2" {
		t.Fatalf("second batch: %v", eod2)
	}
	_, empty := h.post(PathEOD, eod509(testDevice))
	if tt, ok := empty["totals"].([]any); !ok || len(tt) != 0 {
		t.Fatalf("an empty batch answers totals: [], got %v", empty)
	}
}

func TestVUK509DuplicateReferencePolicies(t *testing.T) {
	tests := []struct {
		policy      DuplicatePolicy
		wantStatus  int
		wantCharges int
	}{
		{DuplicateReject, http.StatusBadRequest, 1},
		{DuplicateReplay, http.StatusOK, 1},
		{DuplicateCharge, http.StatusOK, 2},
	}
	for _, tt := range tests {
		h := newHarness(t, Config{DuplicateReferences: tt.policy})
		_, first := h.post(PathPayment, sale509("dup", "10.00"))
		status, second := h.post(PathPayment, sale509("dup", "10.00"))
		if status != tt.wantStatus || h.sim.Charges("dup") != tt.wantCharges {
			t.Errorf("policy %d: status %d charges %d, want %d %d", tt.policy, status, h.sim.Charges("dup"), tt.wantStatus, tt.wantCharges)
		}
		if tt.policy == DuplicateReplay && second["paymentId"] != first["paymentId"] {
			t.Errorf("replay answered another payment: %v", second)
		}
		if tt.policy == DuplicateCharge && second["paymentId"] == first["paymentId"] {
			t.Errorf("charge policy did not make a new payment: %v", second)
		}
	}
}

func TestVUK509ConfigReadings(t *testing.T) {
	t.Run("AcceptSaleType", func(t *testing.T) {
		h := newHarness(t, Config{AcceptSaleType: true})
		body := sale509("s", "10.00")
		delete(body, "salesType")
		body["saleType"] = "SALE"
		if status, got := h.post(PathPayment, body); status != http.StatusOK {
			t.Fatalf("%d %v", status, got)
		}
		f := h.sim.Findings()
		if len(f) != 1 || f[0].Field != "saleType" || f[0].Kind != FindingUnknownField {
			t.Fatalf("saleType must still be reported: %+v", f)
		}
	})
	t.Run("StrictQuery509", func(t *testing.T) {
		h := newHarness(t, Config{StrictQuery509: true})
		_, sale := h.post(PathPayment, sale509("s", "10.00"))
		status, got := h.post(PathQuery, query509(map[string]any{"paymentId": sale["paymentId"]}))
		wantFailure(t, status, got, 400, CodeValidation, GroupValidation)
		status, _ = h.post(PathQuery, query509(map[string]any{"paymentId": sale["paymentId"], "deviceUniqueId": testDevice, "transactionReferenceId": "s"}))
		if status != http.StatusOK {
			t.Fatalf("all three: %d", status)
		}
	})
}
