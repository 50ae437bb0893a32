package simulator

import (
	"encoding/json"
	"net/http"
	"testing"
)

const todayInt = int64(20260406)

func TestVUK507Sale(t *testing.T) {
	h := newHarness(t, Config{})
	status, got := h.post(PathGmuPayment, sale507("g1", "123.45", "CARD",
		item("Tea", "20", 2, "50.00", "100.00"), item("Cake", "10", 1, "23.45", "23.45")))
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, got)
	}
	want := map[string]any{
		"status": "success", "errorCode": "0", "errorMessage": "", "conversationId": "conv-g1",
		"deviceUniqueId": testDevice2, "transactionReferenceId": "g1", "transactionDateTime": "2026-04-06 10:00:00",
		"currency": "TRY", "binNumber": "552879", "lastFourDigits": "0008", "cardType": "CREDIT", "batchNo": "0001",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if _, has := got["errorGroup"]; has {
		t.Error("VUK 507 answers carry no errorGroup")
	}
	if num(t, got, "paymentDate") != "20260406" || num(t, got, "price") != "123.45" || num(t, got, "systemTime") != "1775458800000" {
		t.Errorf("paymentDate/price/systemTime: %v", got)
	}
	if got["saleNumber"] != got["paymentId"] || len(got["saleItems"].([]any)) != 2 {
		t.Errorf("saleNumber/saleItems: %v", got)
	}
	if h.sim.Charges("g1") != 1 {
		t.Error("sale not charged")
	}

	t.Run("conversationId is generated when absent", func(t *testing.T) {
		body := sale507("g2", "1.00", "CARD")
		delete(body, "conversationId")
		delete(body, "locale")
		_, got := h.post(PathGmuPayment, body)
		if len(str(t, got, "conversationId")) != 36 {
			t.Fatalf("%v", got)
		}
	})
	t.Run("cash needs no card", func(t *testing.T) {
		status, got := h.post(PathGmuPayment, sale507("cash", "10.51", "CASH"))
		if status != http.StatusOK || got["binNumber"] != "" || got["lastFourDigits"] != "" || got["authCode"] != "" {
			t.Fatalf("%d %v", status, got)
		}
		if h.sim.Charges("cash") != 1 {
			t.Fatal("a cash sale is a charge")
		}
	})
}

func TestVUK507QueryVoidRefund(t *testing.T) {
	h := newHarness(t, Config{})
	_, sale := h.post(PathGmuPayment, sale507("g1", "123.45", "CARD",
		item("Tea", "20", 2, "50.00", "100.00"), item("Cake", "10", 1, "23.45", "23.45")))
	pid := str(t, sale, "paymentId")

	for name, fields := range map[string]map[string]any{
		"by paymentId":                {"paymentId": pid},
		"by reference":                {"transactionReferenceId": "g1"},
		"by device and reference":     {"deviceUniqueId": testDevice2, "transactionReferenceId": "g1"},
		"by paymentId and reference":  {"paymentId": pid, "transactionReferenceId": "g1"},
		"with locale and correlation": {"paymentId": pid, "locale": "EN", "conversationId": "c"},
	} {
		t.Run("query "+name, func(t *testing.T) {
			status, got := h.post(PathGmuQuery, fields)
			if status != http.StatusOK || got["status"] != "success" || got["paymentId"] != pid {
				t.Fatalf("%d %v", status, got)
			}
			if v, has := got["cancelHostReference"]; !has || v != nil {
				t.Fatalf("cancelHostReference must be null: %v", got)
			}
		})
	}

	status, info := h.post(PathGmuRefundableSaleInfo, map[string]any{"transactionReferenceId": "g1"})
	if status != http.StatusOK || num(t, info, "totalReturnableAmount") != "123.45" || str(t, info, "saleUid") == "" ||
		info["saleNumber"] != pid {
		t.Fatalf("refundable-sale-info: %d %v", status, info)
	}
	lines := info["saleItems"].([]any)
	tea := lines[0].(map[string]any)
	if num(t, tea, "id") == "1" || num(t, tea, "returnableQuantity") != "2" || num(t, tea, "returnableAmount") != "100.00" ||
		num(t, tea, "vatAmount") != "16.67" || tea["name"] != "Tea" {
		t.Fatalf("line 1: %v", tea)
	}
	teaID := h.lineIDs("g1")[0]

	status, refund := h.post(PathGmuRefund, refund507("rf1", pid, todayInt, refundLine507(teaID, 1, "50.00")))
	if status != http.StatusOK || num(t, refund, "price") != "50.00" || num(t, refund, "vatAmount") != "8.33" ||
		str(t, refund, "invoiceNo") == "" || str(t, refund, "hostReference") == "" || refund["acquirerId"] != "12" {
		t.Fatalf("refund: %d %v", status, refund)
	}
	_, info = h.post(PathGmuRefundableSaleInfo, map[string]any{"transactionReferenceId": "g1", "deviceUniqueId": testDevice2})
	tea = info["saleItems"].([]any)[0].(map[string]any)
	if num(t, info, "totalReturnableAmount") != "73.45" || num(t, tea, "returnableQuantity") != "1" || num(t, tea, "returnableAmount") != "50.00" {
		t.Fatalf("after refund: %v", info)
	}
	_, q := h.post(PathGmuQuery, map[string]any{"transactionReferenceId": "g1"})
	if q["refundHostReference"] != refund["hostReference"] {
		t.Fatalf("sale query after refund: %v", q)
	}
	_, q = h.post(PathGmuQuery, map[string]any{"transactionReferenceId": "rf1"})
	if q["transactionReferenceId"] != "rf1" || num(t, q, "price") != "50.00" || q["refundHostReference"] != refund["hostReference"] {
		t.Fatalf("refund query: %v", q)
	}

	_, sale2 := h.post(PathGmuPayment, sale507("g2", "10.00", "CARD"))
	status, void := h.post(PathGmuVoid, map[string]any{
		"deviceUniqueId": testDevice2, "paymentId": sale2["paymentId"], "paymentDate": todayInt, "transactionReferenceId": "gv2",
	})
	if status != http.StatusOK || void["status"] != "success" || void["hostReference"] != sale2["hostReference"] ||
		str(t, void, "cancelHostReference") == "" || void["transactionDate"] != "2026-04-06" || void["transactionTime"] != "10:00:00" ||
		num(t, void, "paymentDate") != "20260406" || num(t, void, "price") != "10.00" {
		t.Fatalf("void: %d %v", status, void)
	}
	_, q = h.post(PathGmuQuery, map[string]any{"transactionReferenceId": "g2"})
	if q["cancelHostReference"] != void["cancelHostReference"] {
		t.Fatalf("voided sale query: %v", q)
	}
	_, q = h.post(PathGmuQuery, map[string]any{"transactionReferenceId": "gv2"})
	if q["transactionReferenceId"] != "gv2" || q["cancelHostReference"] != void["cancelHostReference"] {
		t.Fatalf("void query: %v", q)
	}
	_, info = h.post(PathGmuRefundableSaleInfo, map[string]any{"transactionReferenceId": "g2"})
	if num(t, info, "totalReturnableAmount") != "0.00" {
		t.Fatalf("a voided sale has nothing to return: %v", info)
	}
	status, got := h.post(PathGmuRefundableSaleInfo, map[string]any{"transactionReferenceId": "gv2"})
	wantFailure(t, status, got, http.StatusBadRequest, CodeReferenceNotFound, "") // a void is no sale

	_, cash := h.post(PathGmuPayment, sale507("c1", "20.00", "CASH"))
	status, got = h.post(PathGmuRefund, refund507("cr1", cash["paymentId"].(string), todayInt, refundLine507(h.lineIDs("c1")[0], 1, "20.00")))
	if status != http.StatusOK || got["binNumber"] != "" {
		t.Fatalf("cash refund: %d %v", status, got)
	}

	_, eod := h.post(PathGmuEOD, map[string]any{"deviceUniqueId": testDevice2, "conversationId": "e"})
	tails := eod["tails"].([]any)
	if eod["status"] != "success" || eod["errorCode"] != "0" || eod["batchNo"] != "0001" || len(tails) != 1 {
		t.Fatalf("eod: %v", eod)
	}
	tail := tails[0].(map[string]any)
	// 123.45 sale − 50.00 refund; the voided sale and the cash are not in it.
	if tail["totalTransactionAmount"] != "73.45" || tail["totalTransactionCount"] != "2" || tail["internalErrorCode"] != nil {
		t.Fatalf("tails: %v", tail)
	}
}

func TestVUK507PartialPayment(t *testing.T) {
	h := newHarness(t, Config{})
	start := sale507("ps", "100.00", "CARD", item("Shoes", "20", 1, "100.00", "100.00"))
	status, started := h.post(PathGmuPartialStart, start)
	if status != http.StatusOK || num(t, started, "remainingPaymentAmount") != "100.00" || h.sim.TotalCharges() != 0 {
		t.Fatalf("start: %d %v", status, started)
	}
	saleNumber := str(t, started, "saleNumber")
	add := func(ref, price string) (int, map[string]any) {
		return h.post(PathGmuPartialAdd, map[string]any{"saleNumber": saleNumber, "price": json.Number(price),
			"transactionReferenceId": ref, "deviceUniqueId": testDevice2})
	}
	complete := func(ref string) (int, map[string]any) {
		return h.post(PathGmuPartialComplete, map[string]any{"saleNumber": saleNumber, "transactionReferenceId": ref, "deviceUniqueId": testDevice2})
	}

	status, got := complete("pc0")
	wantFailure(t, status, got, 400, CodeSimSaleIncomplete, "")
	status, got = add("pa0", "100.01")
	wantFailure(t, status, got, 400, CodeAmountNotAvailable, "")
	status, got = add("pad", "60.51")
	wantFailure(t, status, got, 400, CodeBankInsufficientFunds, "")

	status, part1 := add("pa1", "60.00")
	if status != http.StatusOK || part1["saleNumber"] != saleNumber || part1["paymentId"] == saleNumber || num(t, part1, "price") != "60.00" {
		t.Fatalf("add 1: %d %v", status, part1)
	}
	status, part2 := add("pa2", "40.00")
	if status != http.StatusOK {
		t.Fatalf("add 2: %d %v", status, part2)
	}
	if h.sim.Charges("pa1") != 1 || h.sim.Charges("pa2") != 1 || h.sim.TotalCharges() != 2 {
		t.Fatalf("charges: %v", h.sim.ChargesByReference())
	}
	status, got = add("pa3", "0.01")
	wantFailure(t, status, got, 400, CodeAmountNotAvailable, "")

	status, done := complete("pc")
	if status != http.StatusOK || done["paymentId"] != saleNumber || num(t, done, "remainingPaymentAmount") != "0.00" ||
		num(t, done, "price") != "100.00" || len(done["saleItems"].([]any)) != 1 || done["status"] != "success" {
		t.Fatalf("complete: %d %v", status, done)
	}
	if h.sim.TotalCharges() != 2 {
		t.Fatal("complete charged")
	}
	status, got = complete("pc2")
	wantFailure(t, status, got, 400, CodeSimSaleClosed, "")
	status, got = add("pa4", "1.00")
	wantFailure(t, status, got, 400, CodeSimSaleClosed, "")

	for _, ref := range []string{"ps", "pc"} {
		_, info := h.post(PathGmuRefundableSaleInfo, map[string]any{"transactionReferenceId": ref})
		if info["saleNumber"] != saleNumber || num(t, info, "totalReturnableAmount") != "100.00" {
			t.Fatalf("refundable-sale-info by %s: %v", ref, info)
		}
	}
	_, q := h.post(PathGmuQuery, map[string]any{"paymentId": saleNumber, "transactionReferenceId": "pa2"})
	if q["transactionReferenceId"] != "pa2" || num(t, q, "price") != "40.00" {
		t.Fatalf("query of a part through its sale: %v", q)
	}
	status, got = h.post(PathGmuVoid, map[string]any{"deviceUniqueId": testDevice2, "paymentId": part1["paymentId"],
		"paymentDate": todayInt, "transactionReferenceId": "pv1"})
	wantFailure(t, status, got, 400, CodeSimNotAllowed, "")

	status, got = h.post(PathGmuVoid, map[string]any{"deviceUniqueId": testDevice2, "paymentId": saleNumber,
		"paymentDate": todayInt, "transactionReferenceId": "pv"})
	if status != http.StatusOK {
		t.Fatalf("void of the split sale: %d %v", status, got)
	}
	if v, _ := h.sim.Payment(testDevice2, "pa1"); !v.Voided {
		t.Fatalf("the parts are voided with their sale: %+v", v)
	}
	_, eod := h.post(PathGmuEOD, map[string]any{"deviceUniqueId": testDevice2})
	if tails := eod["tails"].([]any); len(tails) != 0 {
		t.Fatalf("voided split sale in the batch: %v", tails)
	}
}

func TestVUK507Errors(t *testing.T) {
	with := func(m map[string]any, k string, v any) map[string]any {
		m[k] = v
		return m
	}
	without := func(m map[string]any, k string) map[string]any {
		delete(m, k)
		return m
	}
	var line int // the id of the base sale's one line, set before each body is built
	tests := []struct {
		name     string
		path     string
		body     func(pid string) any
		wantCode string
		finding  FindingKind
	}{
		{"lines do not add up", PathGmuPayment, func(string) any {
			return sale507("x", "10.00", "CARD", item("A", "20", 1, "9.00", "9.00"))
		}, CodeValidation, FindingValue},
		{"paidPrice differs", PathGmuPayment, func(string) any { return with(sale507("x", "10.00", "CARD"), "paidPrice", json.Number("9")) },
			CodeValidation, FindingValue},
		{"saleDocumentType as an integer", PathGmuPayment, func(string) any { return with(sale507("x", "1.00", "CARD"), "saleDocumentType", 1) },
			CodeValidation, FindingType},
		{"paymentType QR", PathGmuPayment, func(string) any { return sale507("x", "1.00", "QR") }, CodeValidation, FindingEnum},
		{"no saleItems", PathGmuPayment, func(string) any { return without(sale507("x", "1.00", "CARD"), "saleItems") },
			CodeValidation, FindingMissing},
		{"empty saleItems", PathGmuPayment, func(string) any { return with(sale507("x", "1.00", "CARD"), "saleItems", []any{}) },
			CodeValidation, FindingValue},
		{"line without unitCode", PathGmuPayment, func(string) any {
			return sale507("x", "1.00", "CARD", without(item("A", "20", 1, "1.00", "1.00"), "unitCode"))
		}, CodeValidation, FindingMissing},
		{"amount as a string", PathGmuPayment, func(string) any { return with(sale507("x", "1.00", "CARD"), "price", "1.00") },
			CodeValidation, FindingType},
		{"deviceUniqueId over 64", PathGmuPayment, func(string) any {
			return with(sale507("x", "1.00", "CARD"), "deviceUniqueId", string(make([]byte, 65)))
		}, CodeValidation, FindingValue},
		{"unknown device", PathGmuPayment, func(string) any { return with(sale507("x", "1.00", "CARD"), "deviceUniqueId", "NOPE") },
			CodeDeviceNotFound, ""},
		{"declined", PathGmuPayment, func(string) any { return sale507("x", "1.51", "CARD") }, CodeBankInsufficientFunds, ""},
		{"timeout", PathGmuPayment, func(string) any { return sale507("x", "1.52", "CARD") }, CodeTimeout, ""},
		{"device error", PathGmuPayment, func(string) any { return sale507("x", "1.53", "CARD") }, CodeDeviceAppNotStarted, ""},
		{"payment error", PathGmuPayment, func(string) any { return sale507("x", "1.54", "CARD") }, CodePaymentRejected, ""},
		{"query without ids", PathGmuQuery, func(string) any { return map[string]any{"deviceUniqueId": testDevice2} }, CodeNoIdentifier, ""},
		{"query unknown payment", PathGmuQuery, func(string) any { return map[string]any{"paymentId": "1"} }, CodePaymentNotFound, ""},
		{"query unknown reference", PathGmuQuery, func(string) any { return map[string]any{"transactionReferenceId": "nope"} },
			CodeReferenceNotFound, ""},
		{"query a VUK 509 payment", PathGmuQuery, func(string) any { return map[string]any{"transactionReferenceId": "s509"} },
			CodeReferenceNotFound, ""},
		{"void with a string paymentDate", PathGmuVoid, func(pid string) any {
			return map[string]any{"deviceUniqueId": testDevice2, "paymentId": pid, "paymentDate": "20260406", "transactionReferenceId": "v"}
		}, CodeValidation, FindingType},
		{"void unknown payment", PathGmuVoid, func(pid string) any {
			return map[string]any{"deviceUniqueId": testDevice2, "paymentId": "1", "paymentDate": todayInt, "transactionReferenceId": "v"}
		}, CodePaymentNotFound, ""},
		{"refund line that does not exist", PathGmuRefund, func(pid string) any {
			return refund507("r", pid, todayInt, refundLine507(line+1, 1, "1.00"))
		}, CodeValidation, FindingValue},
		{"refund line id not a number", PathGmuRefund, func(pid string) any {
			return refund507("r", pid, todayInt, with(refundLine507(line, 1, "1.00"), "relatedSaleItemId", "L1"))
		}, CodeValidation, FindingValue},
		{"refund line without returnAmount", PathGmuRefund, func(pid string) any {
			return refund507("r", pid, todayInt, without(refundLine507(line, 1, "1.00"), "returnAmount"))
		}, CodeValidation, FindingMissing},
		{"refund more than the line", PathGmuRefund, func(pid string) any {
			return refund507("r", pid, todayInt, refundLine507(line, 1, "100.01"))
		}, CodeAmountNotAvailable, ""},
		{"refund more items than sold", PathGmuRefund, func(pid string) any {
			return refund507("r", pid, todayInt, refundLine507(line, 2, "1.00"))
		}, CodeAmountNotAvailable, ""},
		{"refund declined", PathGmuRefund, func(pid string) any {
			return refund507("r", pid, todayInt, refundLine507(line, 1, "1.51"))
		}, CodeBankInsufficientFunds, ""},
		{"refundable info of an unknown reference", PathGmuRefundableSaleInfo, func(string) any { return map[string]any{"transactionReferenceId": "nope"} },
			CodeReferenceNotFound, ""},
		{"add to an unknown sale", PathGmuPartialAdd, func(string) any { return map[string]any{"saleNumber": "1", "price": 1} },
			CodePaymentNotFound, ""},
		{"complete an unknown sale", PathGmuPartialComplete, func(string) any {
			return map[string]any{"saleNumber": "1", "transactionReferenceId": "c", "deviceUniqueId": testDevice2}
		}, CodePaymentNotFound, ""},
		{"eod unknown device", PathGmuEOD, func(string) any { return map[string]any{"deviceUniqueId": "NOPE"} }, CodeDeviceNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			_, base := h.post(PathGmuPayment, sale507("base", "100.00", "CARD"))
			line = h.lineIDs("base")[0]
			h.post(PathPayment, sale509("s509", "1.00"))
			charges := h.sim.TotalCharges()
			status, got := h.post(tt.path, tt.body(str(t, base, "paymentId")))
			wantFailure(t, status, got, http.StatusBadRequest, tt.wantCode, "")
			if got["conversationId"] == "" {
				t.Errorf("failure without conversationId: %v", got)
			}
			if h.sim.TotalCharges() != charges {
				t.Error("a failure charged")
			}
			if tt.finding != "" {
				reqs := h.sim.Requests()
				var seen bool
				for _, f := range reqs[len(reqs)-1].Findings {
					seen = seen || f.Kind == tt.finding
				}
				if !seen {
					t.Errorf("no %s finding in %+v", tt.finding, reqs[len(reqs)-1].Findings)
				}
			}
		})
	}
}

func TestVUK507ConfigReadings(t *testing.T) {
	t.Run("GmuErrorGroup", func(t *testing.T) {
		h := newHarness(t, Config{GmuErrorGroup: true})
		_, got := h.post(PathGmuPayment, sale507("x", "1.51", "CARD"))
		if got["errorGroup"] != GroupBank {
			t.Fatalf("%v", got)
		}
	})
	t.Run("AcceptDecimalStrings", func(t *testing.T) {
		h := newHarness(t, Config{AcceptDecimalStrings: true})
		body := sale507("x", "1.00", "CARD")
		body["price"], body["paidPrice"] = "1.00", "1.00"
		if status, got := h.post(PathGmuPayment, body); status != http.StatusOK {
			t.Fatalf("%d %v", status, got)
		}
	})
	t.Run("RequireReturnFieldsOnSale", func(t *testing.T) {
		h := newHarness(t, Config{RequireReturnFieldsOnSale: true})
		status, got := h.post(PathGmuPayment, sale507("x", "1.00", "CARD"))
		wantFailure(t, status, got, 400, CodeValidation, "")
		withReturn := item("A", "20", 1, "1.00", "1.00")
		withReturn["relatedSaleItemId"], withReturn["returnAmount"] = "0", json.Number("0.01")
		if status, got := h.post(PathGmuPayment, sale507("y", "1.00", "CARD", withReturn)); status != http.StatusOK {
			t.Fatalf("%d %v", status, got)
		}
	})
}
