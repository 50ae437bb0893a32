package upstream

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/payment"
)

func try(minor int64) payment.Money { return payment.NewMoney(minor, payment.TRY) }

func saleLine() SaleItem {
	return SaleItem{Name: "Çay", UnitCode: "C62", TaxGroupCode: "KDV20", ItemQuantity: 2,
		UnitPriceAmount: try(5000), GrossPriceAmount: try(10000), TotalPriceAmount: try(10000)}
}

func gmuSale(ref string) GmuPaymentRequest {
	return GmuPaymentRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: ref}, Price: try(10000), PaidPrice: try(10000),
		PaymentType: PaymentTypeCard, SaleAppName: "bridged", SaleAppVersion: "1.0.0", SaleDocumentType: DocumentEInvoice,
		SaleItems: []SaleItem{saleLine()}}
}

// TestWireShapes sends every operation and checks the exact JSON it put on the
// wire: the spec's field names and nothing else, the right JSON types
// (paymentDate integer in VUK 507 and string in VUK 509, saleDocumentType a
// string, amounts exact numbers) and the default locale per family.
func TestWireShapes(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, _ []byte, _ int) {
		if strings.Contains(r.URL.Path, "/gmu/") {
			writeJSON(w, 200, map[string]any{"status": "success", "errorCode": "0"})
			return
		}
		writeJSON(w, 200, map[string]any{"status": "SUCCESS", "errorCode": ""})
	})
	h := start(t, f.srv.URL, nil)
	ctx := context.Background()
	yes := true
	refundLine := saleLine()
	refundLine.RelatedSaleItemID, refundLine.ReturnAmount = "17", try(5000)
	buyer := &BuyerInfo{CustomerType: CustomerCorporate, CompanyName: "ACME", TaxNumber: "1234567890"}
	withBuyer := gmuSale("s-2")
	withBuyer.BuyerInfo, withBuyer.Installment, withBuyer.NotificationEmail = buyer, 3, "a@b.c"

	type check struct {
		name string
		run  func() error
		path string
		keys []string
		want map[string]any // exact values (json.Number for numbers)
	}
	checks := []check{
		{"payment", func() error { _, err := h.c.Payment(ctx, sale("r-1", 14990)); return err }, PathPayment,
			[]string{"conversationId", "locale", "deviceUniqueId", "transactionReferenceId", "price", "currency", "installment", "salesType"},
			map[string]any{"locale": "tr", "price": json.Number("149.90"), "currency": "TRY", "installment": json.Number("1"), "salesType": "SALE"}},
		{"post-auth", func() error {
			r := sale("r-2", 5)
			r.SalesType, r.PaymentID, r.Locale = SalesTypePostAuth, "p-1", "EN"
			_, err := h.c.Payment(ctx, r)
			return err
		}, PathPayment,
			[]string{"conversationId", "locale", "deviceUniqueId", "transactionReferenceId", "price", "currency", "installment", "salesType", "paymentId"},
			map[string]any{"locale": "en", "price": json.Number("0.05"), "salesType": "POST_AUTH", "paymentId": "p-1"}},
		{"query", func() error {
			_, err := h.c.QueryTransactionStatus(ctx, QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "r-1"}})
			return err
		}, PathQuery, []string{"conversationId", "locale", "deviceUniqueId", "transactionReferenceId"}, map[string]any{"locale": "tr"}},
		{"void", func() error {
			_, err := h.c.Void(ctx, VoidRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "v-1"}, PaymentID: "p-1", PaymentDate: "20260406", Reason: "x"})
			return err
		}, PathVoid, []string{"conversationId", "locale", "paymentId", "paymentDate", "deviceUniqueId", "transactionReferenceId", "reason"},
			map[string]any{"paymentDate": "20260406"}},
		{"refund", func() error {
			_, err := h.c.Refund(ctx, RefundRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "f-1"},
				PaymentID: "p-1", PaymentDate: "20260406", Amount: try(100)})
			return err
		}, PathRefund, []string{"conversationId", "locale", "paymentId", "deviceUniqueId", "price", "transactionReferenceId", "paymentDate"},
			map[string]any{"price": json.Number("1.00"), "paymentDate": "20260406"}},
		{"eod", func() error {
			_, err := h.c.EndOfDay(ctx, EODRequest{Head: Head{DeviceUniqueID: testDevice}, UseSummary: &yes})
			return err
		}, PathEOD,
			[]string{"conversationId", "locale", "deviceUniqueId", "useSummary"}, map[string]any{"useSummary": true}},
		{"gmu.payment", func() error { _, err := h.c.GmuPayment(ctx, gmuSale("s-1")); return err }, PathGmuPayment,
			[]string{"locale", "conversationId", "deviceUniqueId", "transactionReferenceId", "price", "paidPrice", "paymentType", "currency",
				"saleAppName", "saleAppVersion", "saleDocumentType", "saleItems"},
			map[string]any{"locale": "TR", "price": json.Number("100.00"), "paidPrice": json.Number("100.00"), "paymentType": "CARD", "saleDocumentType": "1"}},
		{"gmu.payment buyer", func() error { _, err := h.c.GmuPayment(ctx, withBuyer); return err }, PathGmuPayment,
			[]string{"locale", "conversationId", "deviceUniqueId", "transactionReferenceId", "price", "paidPrice", "paymentType", "currency", "installment",
				"saleAppName", "saleAppVersion", "saleDocumentType", "saleItems", "buyerInfo", "notificationEmail"},
			map[string]any{"installment": json.Number("3")}},
		{"gmu.query", func() error {
			_, err := h.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{PaymentID: "p-1"})
			return err
		}, PathGmuQuery, []string{"locale", "conversationId", "paymentId"}, nil},
		{"gmu.void", func() error {
			_, err := h.c.GmuVoid(ctx, GmuVoidRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "v-1"}, PaymentID: "p-1", PaymentDate: 20260406})
			return err
		}, PathGmuVoid, []string{"locale", "conversationId", "deviceUniqueId", "paymentId", "paymentDate", "transactionReferenceId"},
			map[string]any{"paymentDate": json.Number("20260406")}},
		{"gmu.refund", func() error {
			_, err := h.c.GmuRefund(ctx, GmuRefundRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "f-1"},
				PaymentID: "p-1", PaymentDate: 20260406, SaleAppName: "bridged", SaleAppVersion: "1", SaleItems: []SaleItem{refundLine}})
			return err
		}, PathGmuRefund, []string{"locale", "conversationId", "deviceUniqueId", "paymentId", "paymentDate", "transactionReferenceId",
			"saleAppName", "saleAppVersion", "saleItems"}, map[string]any{"paymentDate": json.Number("20260406")}},
		{"gmu.refundable", func() error {
			_, err := h.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{Head: Head{TransactionReferenceID: "s-1"}})
			return err
		}, PathGmuRefundableSaleInfo, []string{"locale", "conversationId", "transactionReferenceId"}, nil},
		{"gmu.partial_start", func() error { _, err := h.c.GmuPartialStart(ctx, gmuSale("s-3")); return err }, PathGmuPartialStart,
			[]string{"locale", "conversationId", "deviceUniqueId", "transactionReferenceId", "price", "paidPrice", "paymentType", "currency",
				"saleAppName", "saleAppVersion", "saleDocumentType", "saleItems"}, nil},
		{"gmu.partial_add", func() error {
			_, err := h.c.GmuPartialAdd(ctx, GmuPartialAddRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "a-1"}, SaleNumber: "S-1", Price: try(5000)})
			return err
		}, PathGmuPartialAdd, []string{"locale", "conversationId", "deviceUniqueId", "transactionReferenceId", "saleNumber", "price", "currency"},
			map[string]any{"price": json.Number("50.00")}},
		{"gmu.partial_complete", func() error {
			_, err := h.c.GmuPartialComplete(ctx, GmuPartialCompleteRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "c-1"}, SaleNumber: "S-1"})
			return err
		}, PathGmuPartialComplete, []string{"locale", "conversationId", "deviceUniqueId", "transactionReferenceId", "saleNumber"}, nil},
		{"gmu.eod", func() error {
			_, err := h.c.GmuEndOfDay(ctx, GmuEODRequest{Head: Head{DeviceUniqueID: testDevice}})
			return err
		}, PathGmuEOD,
			[]string{"locale", "conversationId", "deviceUniqueId"}, nil},
	}
	for _, c := range checks {
		if err := c.run(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		f.mu.Lock()
		path := f.paths[len(f.paths)-1]
		f.mu.Unlock()
		if path != c.path {
			t.Errorf("%s: path %s, want %s", c.name, path, c.path)
		}
		body := f.lastBody()
		var keys []string
		for k := range body {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := slices.Clone(c.keys)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("%s: keys %v, want %v", c.name, keys, want)
		}
		for k, v := range c.want {
			if body[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", c.name, k, body[k], v)
			}
		}
		if strings.HasPrefix(c.name, "gmu.payment") || c.name == "gmu.partial_start" || c.name == "gmu.refund" {
			line := body["saleItems"].([]any)[0].(map[string]any)
			lk := []string{"name", "unitCode", "taxGroupCode", "itemQuantity", "unitPriceAmount", "grossPriceAmount", "totalPriceAmount"}
			if c.name == "gmu.refund" {
				lk = append(lk, "relatedSaleItemId", "returnAmount")
				if line["returnAmount"] != json.Number("50.00") || line["relatedSaleItemId"] != "17" {
					t.Errorf("refund line: %v", line)
				}
			}
			if len(line) != len(lk) || line["unitPriceAmount"] != json.Number("50.00") || line["itemQuantity"] != json.Number("2") {
				t.Errorf("%s: line %v, want keys %v", c.name, line, lk)
			}
		}
	}
}

// TestEndOfDayRefusesAReference: an end of day has no transactionReferenceId
// (spec §3.5, §4.9). The Head every request embeds can carry one; an end of
// day refuses it before anything is sent rather than put it on the wire.
func TestEndOfDayRefusesAReference(t *testing.T) {
	f := newFake(t)
	h := start(t, f.srv.URL, nil)
	ctx := context.Background()
	withRef := Head{DeviceUniqueID: testDevice, TransactionReferenceID: "eod-1"}
	_, err := h.c.EndOfDay(ctx, EODRequest{Head: withRef})
	if e := wantClass(t, err, NotSent); e.Reason != ReasonInvalidRequest || !strings.Contains(err.Error(), "transactionReferenceId") {
		t.Fatalf("509: %v", err)
	}
	_, err = h.c.GmuEndOfDay(ctx, GmuEODRequest{Head: withRef})
	if e := wantClass(t, err, NotSent); e.Reason != ReasonInvalidRequest || !strings.Contains(err.Error(), "transactionReferenceId") {
		t.Fatalf("507: %v", err)
	}
	if c := f.counts(); c.service != 0 {
		t.Fatalf("service calls = %d, want 0", c.service)
	}
}
