package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// benchSaleBody is a vuk507 sale as an ECR sends it: two lines and a buyer.
var benchSaleBody = []byte(`{"amount":"149.90","currency":"TRY","terminal":"lane-1","reference":"ECR-000124",` +
	`"installment":1,"document_type":"1","payment_type":"CARD","items":[` +
	`{"name":"Bread","quantity":2,"unit_price":"5.00","total":"10.00","tax_group_code":"1"},` +
	`{"name":"Cheese","quantity":1,"unit_price":"139.90","total":"139.90","tax_group_code":"1","unit_code":"KGM"}],` +
	`"buyer":{"customer_type":2,"company_name":"Acme A.Ş.","tax_office_code":"034","tax_number":"1234567890",` +
	`"country":"TR","city":"İstanbul","district":"Kadıköy"}}`)

// discard is a ResponseWriter that keeps nothing but its headers.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}

// BenchmarkDecodeSale measures a sale body's way from the request to a
// payment.SaleRequest: media type, size limit, strict field-by-field decode.
func BenchmarkDecodeSale(b *testing.B) {
	s := &server{}
	r := httptest.NewRequest(http.MethodPost, "/v1/payments", nil)
	r.Header.Set("Content-Type", "application/json")
	w := discard{h: http.Header{}}
	body := bytes.NewReader(nil)
	b.SetBytes(int64(len(benchSaleBody)))
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(benchSaleBody)
		r.Body = io.NopCloser(body)
		req, err := s.saleRequest(w, r)
		if err != nil || len(req.Items) != 2 || req.Buyer == nil {
			b.Fatalf("saleRequest = %+v, %v", req, err)
		}
	}
}

// BenchmarkEncodeOperation measures the answer to a settled sale: the view
// of the operation and its JSON, as writeJSON sends it.
func BenchmarkEncodeOperation(b *testing.B) {
	t0 := time.Date(2026, 11, 22, 13, 45, 6, 123456789, time.UTC)
	op := &payment.Operation{
		ID: "0193a7c2-5b1e-7c3d-9f00-1a2b3c4d5e6f", Kind: payment.KindSale, Client: "ecr", Reference: "ECR-000124",
		Terminal: "lane-1", Amount: payment.NewMoney(14990, payment.TRY), Installment: 1,
		State: payment.StateApproved, Resolution: payment.ResolvedDirect, PaymentID: "pay-1", PaymentDate: "20261122",
		AuthCode: "A1B2", Card: &payment.Card{BIN: "552879", Last4: "0008", Type: "CREDIT_CARD"},
		PaymentType: "CARD", DocumentType: "1", TransactionReferenceID: "trx-1",
		Lines: []payment.SaleLine{
			{ID: "l1", Name: "Bread", Quantity: 2, UnitPrice: payment.NewMoney(500, payment.TRY), Total: payment.NewMoney(1000, payment.TRY), UnitCode: "C62", TaxGroupCode: "1"},
			{ID: "l2", Name: "Cheese", Quantity: 1, UnitPrice: payment.NewMoney(13990, payment.TRY), Total: payment.NewMoney(13990, payment.TRY), UnitCode: "KGM", TaxGroupCode: "1"},
		},
		CreatedAt: t0, UpdatedAt: t0.Add(3 * time.Second), BusinessDay: "20261122",
	}
	w := discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		writeJSON(w, http.StatusCreated, viewOf(op))
	}
}
