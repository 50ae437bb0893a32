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
	codecs := []struct {
		name    string
		encode  func(*payment.Operation) ([]byte, error)
		version byte
	}{{"v2", encodeOp, recordV2}, {"v1", encodeOpV1, recordV1}}
	for _, c := range codecs {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				roundTrip(t, c.encode, c.version, tt.op)
			})
		}
	}
}

func roundTrip(t *testing.T, encode func(*payment.Operation) ([]byte, error), version byte, op *payment.Operation) {
	t.Helper()
	{
		{
			b, err := encode(op)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != version {
				t.Errorf("version byte = %d", b[0])
			}
			got, err := decodeOp(b)
			if err != nil {
				t.Fatal(err)
			}
			if want := utc(op); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
			}
			// Decoding shares nothing with the input bytes.
			for i := range b {
				b[i] = 0
			}
			if want := utc(op); !reflect.DeepEqual(got, want) {
				t.Error("decoded operation aliases the record bytes")
			}
		}
	}
}

// TestRecordIsSmall: the point of version 2. An approved sale as the bench
// journals it is about 40 % of its JSON.
func TestRecordIsSmall(t *testing.T) {
	op := fullOp()
	op.Lines, op.Buyer, op.Settlement, op.Conflict, op.Report, op.Error = nil, nil, nil, nil, nil, nil
	v2, _ := encodeOp(op)
	v1, _ := encodeOpV1(op)
	t.Logf("version 2: %d bytes, version 1: %d bytes", len(v2), len(v1))
	if len(v2)*2 > len(v1) {
		t.Errorf("version 2 record of %d bytes is more than half the JSON's %d", len(v2), len(v1))
	}
}

// TestCodecFormat pins the formats: these names are in every archive and
// every v1 journal, so renaming a payment field must not change them; and a
// version 2 record written today decodes forever.
func TestCodecFormat(t *testing.T) {
	b, err := encodeOpV1(fullOp())
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
	// The same operation in version 2, as this code writes it: the bytes
	// are the format, field numbers and all.
	const frozenV2 = "\x02\x05\x01f\x09\x04sale\x25\x08\x04\xc8\x01\x09\x03TRY\x51\x08approved\x71\x06\x09\x041234\x9e\x01\x18\x86\xca\xf2\x1c\x96\x32\x06"
	op2 := op.Clone()
	enc2, err := encodeOp(op2)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc2) != frozenV2 {
		t.Errorf("version 2 of the frozen record is %q, want %q", enc2, frozenV2)
	}
	got, err := decodeOp([]byte(frozenV2))
	if err != nil || !reflect.DeepEqual(got, op) {
		t.Errorf("frozen version 2 record decoded as %+v, %v", got, err)
	}
}

func TestCodecRejects(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad json", []byte("\x01{")},
		{"bad time", []byte("\x01" + `{"id":"a","created_at":"yesterday"}`)},
		{"v2 unknown field", []byte("\x02\x05\x01f\xfd\x07\x01x")},
		{"v2 truncated string", []byte("\x02\x05\x09f")},
		{"v2 truncated time", []byte("\x02\x9e\x01\x18\x87")},
		{"v2 string where a time belongs", []byte("\x02\x9d\x01\x01x")},
		{"v2 bad boolean", []byte("\x02\x58\x02")},
		{"v2 unknown nested field", []byte("\x02\x71\x03\x11\x01x")},
		{"unknown version", []byte("\x03")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeOp(tt.b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decodeOp = %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzDecodeRecord: any bytes decode or fail cleanly (ErrCorrupt, never a
// panic), and what decodes encodes back to a record that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	for _, op := range []*payment.Operation{fullOp(), sale("a"), {ID: "x"}} {
		b, _ := encodeOp(op)
		f.Add(b)
	}
	f.Add([]byte{recordV2})
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := decodeRecord(append([]byte{recordV2}, b...))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		again, err := encodeOp(op)
		if err != nil {
			return // a time out of the recordable range
		}
		back, err := decodeOp(again)
		if err != nil || !reflect.DeepEqual(back, op) {
			t.Fatalf("re-encoded record decodes as %+v, %v; want %+v", back, err, op)
		}
	})
}
