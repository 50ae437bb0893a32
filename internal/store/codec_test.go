package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// fullOp sets every field of an Operation, recursively, to a non-zero value.
// TestFullOpSetsEveryField keeps it that way when payment.Operation grows.
func fullOp() *payment.Operation {
	trt := time.FixedZone("TRT", 3*3600)
	t0 := time.Date(2026, 11, 22, 13, 45, 6, 123456789, trt)
	return &payment.Operation{
		ID: "op-1", Kind: payment.KindRefund, Client: "ecr", IdempotencyKey: "key-1",
		Fingerprint: "sha256:abc", Reference: "ECR-000123", Terminal: "lane-1", DeviceUniqueID: "PAV860047264",
		Amount: payment.NewMoney(14990, payment.TRY), Installment: 3,
		PaymentType: "CARD", DocumentType: "9",
		Lines: []payment.SaleLine{{
			ID: "line-1", Name: "Çay", Quantity: 2,
			UnitPrice: payment.NewMoney(500, payment.TRY), Total: payment.NewMoney(1000, payment.TRY),
			UnitCode: "C62", TaxGroupCode: "KDV20", Generic: true, RelatedLineID: "sale-line-1", RefundedQuantity: 1, RefundedMinor: 150,
		}, {Name: "Simit", Quantity: 1, UnitPrice: payment.NewMoney(1, payment.EUR), Total: payment.NewMoney(1, payment.EUR)}},
		Buyer: &payment.Buyer{
			CustomerType: 2, FirstName: "Ada", MiddleName: "B", FamilyName: "Yılmaz", CompanyName: "Acme A.Ş.",
			TaxOfficeCode: "034", TaxNumber: "1234567890", Country: "TR", City: "İstanbul", District: "Kadıköy",
		},
		ParentID: "op-0", ParentTransactionReferenceID: "trx-0", SaleNumber: "SN-9", TransactionReferenceID: "trx-1", ConversationID: "conv-1",
		State: payment.StateUnknown, Resolution: payment.ResolvedByQuery, SafeToRetry: true,
		PaymentID: "pay-1", PaymentDate: "20261122", AuthCode: "A1B2", HostRef: "HR-1", BatchNo: "007",
		Card:   &payment.Card{BIN: "552879", Last4: "0008", Type: "CREDIT_CARD"},
		Error:  &payment.UpstreamError{Code: "10051", Group: "NOT_SUFFICIENT_FUNDS", Message: "Yetersiz bakiye"},
		Voided: true, RefundedMinor: 250, CapturedBy: "op_post", CapturedMinor: 900, Closed: true,
		Reason: "queried_timeout", KeyReleased: true, BatchMaybeClosed: true,
		Settlement: &payment.Settlement{By: "ayse", At: t0.Add(time.Hour), Evidence: "slip 123 approved", PaymentID: "pay-9",
			WatchUntil: t0.Add(12 * time.Hour), Confirmed: true},
		Conflict: &payment.Conflict{At: t0.Add(2 * time.Hour), Settled: payment.StateDeclined, Upstream: payment.StateApproved,
			UpstreamPaymentID: "pay-9", AcknowledgedBy: "mehmet", AcknowledgedAt: t0.Add(3 * time.Hour), AcknowledgedNote: "refunded"},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second), SentAt: t0.Add(time.Millisecond), BusinessDay: "20261122",
		Report: &payment.EndOfDayReport{BatchNo: "007", ResultMessage: "Gün sonu başarılı", Totals: []payment.AcquirerTotal{{
			AcquirerID: "62", AcquirerName: "Garanti", TerminalID: "T1", BatchNo: "007",
			Amount: payment.NewMoney(123456, payment.TRY), Count: 12, ResponseCode: "00",
		}}},
		BatchSince: t0.Add(-24 * time.Hour),
		Queries:    4, NextQueryAt: t0.Add(time.Minute),
	}
}

func TestFullOpSetsEveryField(t *testing.T) {
	moneyType := reflect.TypeFor[payment.Money]()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				t.Errorf("%s is nil: set it in fullOp (and in the codec)", path)
				return
			}
			walk(path, v.Elem())
		case reflect.Slice:
			if v.Len() == 0 {
				t.Errorf("%s is empty: set it in fullOp (and in the codec)", path)
				return
			}
			walk(path+"[0]", v.Index(0))
		case reflect.Struct:
			if v.Type().PkgPath() == moneyType.PkgPath() && v.Type() != moneyType {
				for i := range v.NumField() {
					walk(path+"."+v.Type().Field(i).Name, v.Field(i))
				}
				return
			}
			fallthrough
		default:
			if v.IsZero() {
				t.Errorf("%s is zero: set it in fullOp (and in the codec)", path)
			}
		}
	}
	walk("Operation", reflect.ValueOf(fullOp()))
}

// utc is what the codec promises to give back: every time in UTC.
func utc(op *payment.Operation) *payment.Operation {
	c := op.Clone()
	times := []*time.Time{&c.CreatedAt, &c.UpdatedAt, &c.SentAt, &c.NextQueryAt, &c.BatchSince}
	if c.Settlement != nil {
		times = append(times, &c.Settlement.At, &c.Settlement.WatchUntil)
	}
	if c.Conflict != nil {
		times = append(times, &c.Conflict.At, &c.Conflict.AcknowledgedAt)
	}
	for _, t := range times {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	return c
}

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		op   *payment.Operation
	}{
		{"every field", fullOp()},
		{"minimal", &payment.Operation{ID: "x", Kind: payment.KindEndOfDay, State: payment.StateAccepted}},
		{"negative and zero money", &payment.Operation{ID: "y", Kind: payment.KindSale, State: payment.StateSending,
			Amount: payment.NewMoney(-1, payment.USD), RefundedMinor: -5}},
		{"time before 1970", &payment.Operation{ID: "z", Kind: payment.KindSale, State: payment.StateSending,
			CreatedAt: time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeOp(tt.op)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != recordV1 {
				t.Errorf("version byte = %d", b[0])
			}
			got, err := decodeOp(b)
			if err != nil {
				t.Fatal(err)
			}
			if want := utc(tt.op); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
			}
			// Decoding shares nothing with the input bytes.
			for i := range b {
				b[i] = 0
			}
			if want := utc(tt.op); !reflect.DeepEqual(got, want) {
				t.Error("decoded operation aliases the record bytes")
			}
		})
	}
}

// TestCodecFormat pins the file format: these names are on disk in every
// journal, so renaming a payment field must not change them.
func TestCodecFormat(t *testing.T) {
	b, err := encodeOp(fullOp())
	if err != nil {
		t.Fatal(err)
	}
	js := string(b[1:])
	for _, want := range []string{
		`"amount":{"minor":14990,"currency":"TRY"}`,
		`"created_at":"2026-11-22T10:45:06.123456789Z"`,
		`"unit_price":{"minor":500,"currency":"TRY"}`,
		`"idempotency_key":"key-1"`, `"transaction_reference_id":"trx-1"`,
		`"card":{"bin":"552879","last4":"0008","type":"CREDIT_CARD"}`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("record %s\nlacks %s", js, want)
		}
	}
	// A record written by this version decodes forever: a frozen sample.
	const frozen = "\x01" + `{"id":"f","kind":"sale","amount":{"minor":100,"currency":"TRY"},"state":"approved","created_at":"2026-01-02T03:04:05.000000006Z","card":{"last4":"1234"}}`
	op, err := decodeOp([]byte(frozen))
	if err != nil {
		t.Fatal(err)
	}
	if op.ID != "f" || op.Amount != payment.NewMoney(100, payment.TRY) || op.State != payment.StateApproved ||
		!op.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)) || op.Card.Last4 != "1234" {
		t.Errorf("frozen record decoded as %+v", op)
	}
}

func TestCodecRejects(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", []byte("\x02{}")},
		{"bad json", []byte("\x01{")},
		{"bad time", []byte("\x01" + `{"id":"a","created_at":"yesterday"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeOp(tt.b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decodeOp = %v, want ErrCorrupt", err)
			}
		})
	}
}
