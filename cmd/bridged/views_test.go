package main

import (
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/config"
)

// TestViewsAgreeAcrossModes: what a new user met. The card's type is the
// same word in both modes (VUK 507's simulator says CREDIT); a refund's
// lines carry the line_id they return; a void or refund keyed only by its
// Idempotency-Key header shows that key as its reference and is found by it.
func TestViewsAgreeAcrossModes(t *testing.T) {
	t.Run("vuk509", func(t *testing.T) {
		e := startE2E(t, e2eOpts{})
		sale := e.pay("v-sale", `{"amount":"50.00","reference":"V-SALE"}`)
		expect(t, sale, 201, "status", "approved", "card.type", "CREDIT_CARD")
		void := e.call("POST", "/v1/payments/"+sale.str("id")+"/void", "", "Idempotency-Key: V-SALE-VOID")
		expect(t, void, 201, "type", "void", "reference", "V-SALE-VOID")
		found := e.call("GET", "/v1/payments?reference=V-SALE-VOID", "")
		if !strings.Contains(found.raw, void.str("id")) {
			t.Errorf("the void is not found by its key: %s", found.raw)
		}
		other := e.pay("v-sale-2", `{"amount":"50.00","reference":"V-SALE-2"}`)
		expect(t, e.call("POST", "/v1/payments/"+other.str("id")+"/refund", `{"amount":"10.00"}`, "Idempotency-Key: V-SALE-2-R"),
			201, "type", "refund", "reference", "V-SALE-2-R")
	})
	t.Run("vuk507", func(t *testing.T) {
		e := startE2E(t, e2eOpts{mode: config.ModeVUK507})
		sale := e.pay("g-sale", `{"amount":"30.00","reference":"G-SALE","document_type":"1","items":[
			{"name":"Bread","quantity":2,"unit_price":"5.00","total":"10.00","tax_group_code":"1"},
			{"name":"Cheese","quantity":1,"unit_price":"20.00","total":"20.00","tax_group_code":"1"}]}`)
		expect(t, sale, 201, "status", "approved", "card.type", "CREDIT_CARD")
		expect(t, e.call("POST", "/v1/terminals/lane-1/end-of-day", ""), 201, "status", "approved")
		refund := e.call("POST", "/v1/payments/"+sale.str("id")+"/refund", `{"lines":[{"line_id":"2","quantity":1,"amount":"20.00"}]}`,
			"Idempotency-Key: G-SALE-R1")
		expect(t, refund, 201, "status", "approved", "reference", "G-SALE-R1")
		if !strings.Contains(refund.raw, `"line_id":"2"`) || !strings.Contains(refund.raw, `"related_line_id":"2"`) {
			t.Errorf("the refund's line does not carry the line_id it returns: %s", refund.raw)
		}
	})
}
