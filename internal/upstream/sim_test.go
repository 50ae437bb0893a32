package upstream

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
	sec "github.com/bridgedpos/bridged/internal/secret"
	"github.com/bridgedpos/bridged/internal/simulator"
)

// simEnv is a simulator on a :0 port with a running client in front of it.
type simEnv struct {
	sim  *simulator.Sim
	c    *Client
	logs *syncBuffer
}

func newSimEnv(t *testing.T, sc simulator.Config, mod func(*Config)) *simEnv {
	t.Helper()
	sim := simulator.New(sc)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
	cfg := Config{
		BaseURL:      srv.URL,
		Credentials:  Credentials{ClientID: "sim-client", ClientSecret: sec.New("sim-secret"), Username: "sim-user", Password: sec.New("sim-password")},
		CardTimeout:  5 * time.Second,
		QueryTimeout: 5 * time.Second,
		EODTimeout:   5 * time.Second,
		LoginTimeout: 5 * time.Second,
		Logger:       zerolog.New(logs),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, NewMemoryTokenStore(nil))
	if err != nil {
		t.Fatal(err)
	}
	runTokenOwner(t, c)
	return &simEnv{sim: sim, c: c, logs: logs}
}

// noFindings asserts that every request the simulator saw (OAuth included)
// matched the spec's required fields and enums.
func (e *simEnv) noFindings(t *testing.T) {
	t.Helper()
	reqs := e.sim.Requests()
	if len(reqs) == 0 {
		t.Fatal("the simulator saw no request")
	}
	for _, r := range reqs {
		if len(r.Findings) > 0 {
			t.Errorf("%s %s (%s): findings %v", r.Method, r.Path, r.Op, r.Findings)
		}
	}
}

// ops lists the simulator operations that were called.
func (e *simEnv) ops() map[string]int {
	out := map[string]int{}
	for _, r := range e.sim.Requests() {
		out[r.Op]++
	}
	return out
}

func simSale(ref string, minor int64) PaymentRequest { return sale(ref, minor) }

func TestSimVUK509(t *testing.T) {
	e := newSimEnv(t, simulator.Config{}, nil)
	ctx := context.Background()

	// Sale, then every way of querying it.
	s1, err := e.c.Payment(ctx, simSale("509-sale-1", 14990))
	wantClass(t, err, Approved)
	if s1.PaymentID == "" || len(s1.PaymentDate) != 8 || s1.AuthCode == "" || s1.BinNumber == "" || s1.LastFourDigits == "" {
		t.Fatalf("sale answer: %+v", s1)
	}
	if m, err := s1.Amount(); err != nil || m.Minor() != 14990 {
		t.Fatalf("amount %v %v", m, err)
	}
	for _, q := range []QueryRequest{
		{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "509-sale-1"}},
		{PaymentID: string(s1.PaymentID)},
		{Head: Head{TransactionReferenceID: "509-sale-1"}, PaymentID: string(s1.PaymentID)},
	} {
		r, err := e.c.QueryTransactionStatus(ctx, q)
		wantClass(t, err, Approved)
		if r.PaymentID != s1.PaymentID {
			t.Fatalf("query %+v: %+v", q, r)
		}
	}

	// Void the sale; the query then shows it voided.
	v, err := e.c.Void(ctx, VoidRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "509-void-1"},
		PaymentID: string(s1.PaymentID), PaymentDate: string(s1.PaymentDate), Reason: "customer request"})
	wantClass(t, err, Approved)
	if v.CancelHostReference == "" {
		t.Fatalf("void answer: %+v", v)
	}
	q, err := e.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: string(s1.PaymentID)})
	wantClass(t, err, Approved)
	if q.CancelHostReference == "" {
		t.Fatalf("voided sale not shown voided: %+v", q)
	}

	// A second sale, refunded in part, in English.
	s2, err := e.c.Payment(ctx, simSale("509-sale-2", 20000))
	wantClass(t, err, Approved)
	rf, err := e.c.Refund(ctx, RefundRequest{Head: Head{Locale: "en", DeviceUniqueID: testDevice, TransactionReferenceID: "509-refund-1"},
		PaymentID: string(s2.PaymentID), PaymentDate: string(s2.PaymentDate), Amount: payment.NewMoney(5000, payment.TRY)})
	wantClass(t, err, Approved)
	if m, _ := rf.Amount(); m.Minor() != 5000 || rf.RefundHostReference == "" {
		t.Fatalf("refund answer: %+v", rf)
	}
	// Refunding more than is left is a business decline.
	_, err = e.c.Refund(ctx, RefundRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "509-refund-2"},
		PaymentID: string(s2.PaymentID), PaymentDate: string(s2.PaymentDate), Amount: payment.NewMoney(90000, payment.TRY)})
	if x := wantClass(t, err, Declined); x.Code != "380112" || x.Group != "BUSINESS_ERROR" {
		t.Fatalf("over-refund: %v", err)
	}

	// Pre-authorisation and its capture.
	pre, err := e.c.Payment(ctx, PaymentRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "509-pre-1"},
		Amount: payment.NewMoney(30000, payment.TRY), Installment: 1, SalesType: SalesTypePreAuth})
	wantClass(t, err, Approved)
	_, err = e.c.Payment(ctx, PaymentRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "509-post-1"},
		Amount: payment.NewMoney(25000, payment.TRY), Installment: 1, SalesType: SalesTypePostAuth, PaymentID: string(pre.PaymentID)})
	wantClass(t, err, Approved)

	// Scripted outcomes, and what a later query says about each.
	for _, tc := range []struct {
		kurus       int64
		class       Class
		code, group string
		query       Class
		queryReason Reason
		charged     int
	}{
		{51, Declined, "10051", "BANK_ERROR", Declined, ReasonAnswered, 0},
		{52, Unknown, "380103", "TIMEOUT_ERROR", Unknown, ReasonQueriedTimeout, 0},
		{53, Unknown, "380202", "DEVICE_ERROR", Declined, ReasonDeviceAppNotStarted, 0},
		{54, Declined, "10012", "PAYMENT_ERROR", Declined, ReasonAnswered, 0},
		{57, Unknown, "380203", "DEVICE_ERROR", Unknown, ReasonQueriedDeviceError, 0},
		{58, Unknown, "380205", "DEVICE_ERROR", Unknown, ReasonQueriedDeviceError, 0},
		{59, Unknown, "99", "", Unknown, ReasonAnswered, 0},
		{60, Unknown, "380103", "TIMEOUT_ERROR", Approved, "", 1}, // iyzico gave up, the device charged
	} {
		ref := fmt.Sprintf("509-script-%d", tc.kurus)
		_, err := e.c.Payment(ctx, simSale(ref, 1000+tc.kurus))
		x := wantClass(t, err, tc.class)
		if x.Code != tc.code || x.Group != tc.group || x.Message == "" {
			t.Fatalf(".%d: %#v", tc.kurus, x)
		}
		_, err = e.c.QueryTransactionStatus(ctx, QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: ref}})
		if q := wantClass(t, err, tc.query); q != nil && q.Reason != tc.queryReason {
			t.Fatalf(".%d: query reason %v, want %v", tc.kurus, q.Reason, tc.queryReason)
		}
		if n := e.sim.Charges(ref); n != tc.charged {
			t.Fatalf(".%d charged %d times", tc.kurus, n)
		}
	}
	// A reference iyzico never saw.
	_, err = e.c.QueryTransactionStatus(ctx, QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "509-never-sent"}})
	wantClass(t, err, NotFound)
	// A device iyzico does not know: refused before any device acted.
	_, err = e.c.Payment(ctx, PaymentRequest{Head: Head{DeviceUniqueID: "NO-SUCH-DEVICE", TransactionReferenceID: "509-x"},
		Amount: payment.NewMoney(100, payment.TRY), Installment: 1, SalesType: SalesTypeSale})
	wantClass(t, err, NotSent)

	yes := true
	eod, err := e.c.EndOfDay(ctx, EODRequest{Head: Head{DeviceUniqueID: testDevice}, UseSummary: &yes})
	wantClass(t, err, Approved)
	if eod.BatchNo == "" || len(eod.Totals) == 0 {
		t.Fatalf("eod answer: %+v", eod)
	}
	// After end of day a void is refused: a business decline.
	_, err = e.c.Void(ctx, VoidRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "509-void-late"},
		PaymentID: string(s2.PaymentID), PaymentDate: string(s2.PaymentDate)})
	if x := wantClass(t, err, Declined); x.HTTPStatus != 422 {
		t.Fatalf("late void: %v", err)
	}

	for _, ref := range []string{"509-sale-1", "509-sale-2", "509-post-1"} {
		if n := e.sim.Charges(ref); n != 1 {
			t.Errorf("%s charged %d times", ref, n)
		}
	}
	ops := e.ops()
	for _, op := range []string{simulator.OpAuthorize, simulator.OpToken, simulator.OpPayment, simulator.OpQuery, simulator.OpVoid, simulator.OpRefund, simulator.OpEOD} {
		if ops[op] == 0 {
			t.Errorf("operation %s not exercised", op)
		}
	}
	e.noFindings(t)
}

func gmuLines(prices ...int64) ([]SaleItem, payment.Money) {
	var items []SaleItem
	var total int64
	for i, p := range prices {
		items = append(items, SaleItem{Name: fmt.Sprintf("item %d", i+1), UnitCode: "C62", TaxGroupCode: "KDV20", ItemQuantity: 1,
			UnitPriceAmount: try(p), GrossPriceAmount: try(p), TotalPriceAmount: try(p)})
		total += p
	}
	return items, try(total)
}

func gmuSaleOf(ref string, pt PaymentType, prices ...int64) GmuPaymentRequest {
	items, total := gmuLines(prices...)
	return GmuPaymentRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: ref}, Price: total, PaidPrice: total,
		PaymentType: pt, SaleAppName: "bridged", SaleAppVersion: "0.1.0", SaleDocumentType: DocumentEInvoice, SaleItems: items}
}

func TestSimVUK507(t *testing.T) {
	for _, withGroup := range []bool{false, true} {
		t.Run(fmt.Sprintf("errorGroup=%v", withGroup), func(t *testing.T) {
			e := newSimEnv(t, simulator.Config{GmuErrorGroup: withGroup}, nil)
			ctx := context.Background()

			// Card sale with two lines, queried both ways.
			sale := gmuSaleOf("507-sale-1", PaymentTypeCard, 10000, 2345)
			sale.BuyerInfo = &BuyerInfo{CustomerType: CustomerCorporate, CompanyName: "ACME A.Ş.", TaxNumber: "1234567890", TaxOfficeCode: "034"}
			s1, err := e.c.GmuPayment(ctx, sale)
			wantClass(t, err, Approved)
			if s1.PaymentID == "" || s1.PaymentDate < 20000101 || len(s1.SaleItems) != 2 {
				t.Fatalf("sale answer: %+v", s1)
			}
			if m, err := s1.Amount(); err != nil || m.Minor() != 12345 {
				t.Fatalf("amount %v %v", m, err)
			}
			for _, q := range []GmuQueryRequest{{PaymentID: string(s1.PaymentID)}, {Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "507-sale-1"}}} {
				r, err := e.c.GmuQueryTransactionStatus(ctx, q)
				wantClass(t, err, Approved)
				if r.PaymentID != s1.PaymentID || r.CancelHostReference != "" {
					t.Fatalf("query: %+v", r)
				}
			}

			// What can be refunded, then refund one line.
			info, err := e.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "507-sale-1"}})
			wantClass(t, err, Approved)
			if len(info.SaleItems) != 2 || info.TotalReturnableAmount == "" {
				t.Fatalf("refundable info: %+v", info)
			}
			line := sale.SaleItems[1]
			line.RelatedSaleItemID = strconv.FormatInt(int64(info.SaleItems[1].ID), 10)
			line.ReturnAmount = try(2345)
			rf, err := e.c.GmuRefund(ctx, GmuRefundRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "507-refund-1"},
				PaymentID: string(s1.PaymentID), PaymentDate: int(s1.PaymentDate), SaleAppName: "bridged", SaleAppVersion: "0.1.0", SaleItems: []SaleItem{line}})
			wantClass(t, err, Approved)
			if m, _ := rf.Amount(); m.Minor() != 2345 {
				t.Fatalf("refund answer: %+v", rf)
			}

			// Cash sale, voided the same day.
			s2, err := e.c.GmuPayment(ctx, gmuSaleOf("507-cash-1", PaymentTypeCash, 5000))
			wantClass(t, err, Approved)
			v, err := e.c.GmuVoid(ctx, GmuVoidRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "507-void-1"},
				PaymentID: string(s2.PaymentID), PaymentDate: int(s2.PaymentDate), Reason: "customer request"})
			wantClass(t, err, Approved)
			if v.CancelHostReference == "" {
				t.Fatalf("void answer: %+v", v)
			}
			q, err := e.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{PaymentID: string(s2.PaymentID)})
			wantClass(t, err, Approved)
			if q.CancelHostReference == "" {
				t.Fatalf("voided sale not shown voided: %+v", q)
			}

			// Partial payment: start, two card parts, complete.
			st, err := e.c.GmuPartialStart(ctx, gmuSaleOf("507-split-1", PaymentTypeCard, 12345))
			wantClass(t, err, Approved)
			if st.SaleNumber == "" || st.RemainingPaymentAmount != "123.45" {
				t.Fatalf("start: %+v", st)
			}
			for i, part := range []int64{5000, 7345} {
				_, err := e.c.GmuPartialAdd(ctx, GmuPartialAddRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: fmt.Sprintf("507-split-1-part-%d", i)},
					SaleNumber: st.SaleNumber, Price: try(part), Installment: 1})
				wantClass(t, err, Approved)
			}
			done, err := e.c.GmuPartialComplete(ctx, GmuPartialCompleteRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "507-split-1-complete"},
				SaleNumber: st.SaleNumber})
			wantClass(t, err, Approved)
			if m, err := ParseAmount(done.RemainingPaymentAmount, payment.TRY); err != nil || !m.IsZero() {
				t.Fatalf("complete: %+v", done)
			}

			// Scripted outcomes: without errorGroup the bank and payment
			// declines are recognised by their forwarded codes.
			for _, tc := range []struct {
				kurus   int64
				class   Class
				code    string
				query   Class
				charged int
			}{
				{51, Declined, "10051", Declined, 0}, {52, Unknown, "380103", Unknown, 0}, {53, Unknown, "380202", Declined, 0},
				{54, Declined, "10012", Declined, 0}, {57, Unknown, "380203", Unknown, 0}, {58, Unknown, "380205", Unknown, 0},
				{59, Unknown, "99", Unknown, 0}, {60, Unknown, "380103", Approved, 1},
			} {
				ref := fmt.Sprintf("507-script-%d", tc.kurus)
				_, err := e.c.GmuPayment(ctx, gmuSaleOf(ref, PaymentTypeCard, 1000+tc.kurus))
				if x := wantClass(t, err, tc.class); x.Code != tc.code {
					t.Fatalf(".%d: %#v", tc.kurus, x)
				}
				_, err = e.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: ref}})
				wantClass(t, err, tc.query)
				if n := e.sim.Charges(ref); n != tc.charged {
					t.Fatalf(".%d charged %d times", tc.kurus, n)
				}
			}
			_, err = e.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "507-never-sent"}})
			wantClass(t, err, NotFound)
			_, err = e.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{Head: Head{TransactionReferenceID: "507-never-sent"}})
			wantClass(t, err, NotFound)

			no := false
			eod, err := e.c.GmuEndOfDay(ctx, GmuEODRequest{Head: Head{DeviceUniqueID: testDevice}, UseSummary: &no})
			wantClass(t, err, Approved)
			if eod.BatchNo == "" || len(eod.Tails) == 0 {
				t.Fatalf("eod: %+v", eod)
			}

			for _, ref := range []string{"507-sale-1", "507-cash-1", "507-split-1-part-0", "507-split-1-part-1"} {
				if n := e.sim.Charges(ref); n != 1 {
					t.Errorf("%s charged %d times", ref, n)
				}
			}
			ops := e.ops()
			for _, op := range []string{simulator.OpGmuPayment, simulator.OpGmuQuery, simulator.OpGmuVoid, simulator.OpGmuRefund,
				simulator.OpGmuRefundableSaleInfo, simulator.OpGmuPartialStart, simulator.OpGmuPartialAdd, simulator.OpGmuPartialComplete, simulator.OpGmuEOD} {
				if ops[op] == 0 {
					t.Errorf("operation %s not exercised", op)
				}
			}
			e.noFindings(t)
		})
	}
}

// TestSimFaults covers the classification of every injected fault: each must
// end in the class the guarantees need, and never in a second charge.
func TestSimFaults(t *testing.T) {
	ctx := context.Background()
	type step func(t *testing.T, e *simEnv)
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		fault simulator.Fault
		op    func(e *simEnv, ref string) error
		class Class
		check step
	}{
		{
			name:  "delay past the card deadline",
			mod:   func(c *Config) { c.CardTimeout = 150 * time.Millisecond },
			fault: simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultDelay, Delay: time.Minute},
			op:    func(e *simEnv, ref string) error { _, err := e.c.Payment(ctx, simSale(ref, 100)); return err },
			class: Unknown,
		},
		{
			name:  "delay past the query deadline",
			mod:   func(c *Config) { c.QueryTimeout = 150 * time.Millisecond },
			fault: simulator.Fault{Op: simulator.OpGmuQuery, Kind: simulator.FaultDelay, Delay: time.Minute},
			op: func(e *simEnv, ref string) error {
				_, err := e.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{Head: Head{TransactionReferenceID: ref}})
				return err
			},
			class: Unknown,
		},
		{
			name:  "commit then drop",
			fault: simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenDrop},
			op:    func(e *simEnv, ref string) error { _, err := e.c.Payment(ctx, simSale(ref, 100)); return err },
			class: Unknown,
			check: func(t *testing.T, e *simEnv) {
				// Charged once; the query with the same reference settles it.
				if n := e.sim.Charges("ref"); n != 1 {
					t.Fatalf("charges = %d", n)
				}
				_, err := e.c.QueryTransactionStatus(ctx, QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "ref"}})
				wantClass(t, err, Approved)
			},
		},
		{
			name:  "gmu commit then drop",
			fault: simulator.Fault{Op: simulator.OpGmuPayment, Kind: simulator.FaultCommitThenDrop},
			op: func(e *simEnv, ref string) error {
				_, err := e.c.GmuPayment(ctx, gmuSaleOf(ref, PaymentTypeCard, 100))
				return err
			},
			class: Unknown,
			check: func(t *testing.T, e *simEnv) {
				if n := e.sim.Charges("ref"); n != 1 {
					t.Fatalf("charges = %d", n)
				}
			},
		},
		{
			name:  "reset before processing",
			fault: simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultResetBeforeProcessing},
			op:    func(e *simEnv, ref string) error { _, err := e.c.Payment(ctx, simSale(ref, 100)); return err },
			class: Unknown, // the request was written: the client cannot know it was not processed
			check: func(t *testing.T, e *simEnv) {
				_, err := e.c.QueryTransactionStatus(ctx, QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "ref"}})
				wantClass(t, err, NotFound)
			},
		},
		{
			name:  "500 on a card operation",
			fault: simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultHTTPStatus, Status: 500},
			op:    func(e *simEnv, ref string) error { _, err := e.c.Payment(ctx, simSale(ref, 100)); return err },
			class: Unknown,
		},
		{
			name:  "502 on a gmu refund",
			fault: simulator.Fault{Op: simulator.OpGmuPartialAdd, Kind: simulator.FaultHTTPStatus, Status: 502},
			op: func(e *simEnv, ref string) error {
				_, err := e.c.GmuPartialAdd(ctx, GmuPartialAddRequest{Head: Head{TransactionReferenceID: ref}, SaleNumber: "S", Price: try(100)})
				return err
			},
			class: Unknown,
		},
		{
			name:  "device busy",
			fault: simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultDeviceBusy},
			op:    func(e *simEnv, ref string) error { _, err := e.c.Payment(ctx, simSale(ref, 100)); return err },
			class: NotSent,
			check: func(t *testing.T, e *simEnv) {
				if n := e.ops()[simulator.OpPayment]; n != 1 {
					t.Fatalf("busy was retried: %d payment calls", n)
				}
			},
		},
		{
			name:  "token expired on the call",
			fault: simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultExpireTokens},
			op:    func(e *simEnv, ref string) error { _, err := e.c.Payment(ctx, simSale(ref, 100)); return err },
			class: Approved,
			check: func(t *testing.T, e *simEnv) {
				c := e.sim.Counters()
				if c.TokenByRefresh != 1 || c.TokenRejections != 1 || e.ops()[simulator.OpPayment] != 2 || e.sim.Charges("ref") != 1 {
					t.Fatalf("counters %+v, payment calls %d, charges %d", c, e.ops()[simulator.OpPayment], e.sim.Charges("ref"))
				}
			},
		},
		{
			name:  "session revoked on the call",
			fault: simulator.Fault{Op: simulator.OpGmuPayment, Kind: simulator.FaultRevokeSessions},
			op: func(e *simEnv, ref string) error {
				_, err := e.c.GmuPayment(ctx, gmuSaleOf(ref, PaymentTypeCard, 100))
				return err
			},
			class: Approved,
			check: func(t *testing.T, e *simEnv) {
				c := e.sim.Counters()
				if c.Authorize != 2 || c.TokenByCode != 2 || c.TokenByRefresh != 0 || e.sim.Charges("ref") != 1 {
					t.Fatalf("counters %+v, charges %d", c, e.sim.Charges("ref"))
				}
			},
		},
		{
			name:  "login unavailable after revocation",
			fault: simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultRevokeSessions},
			op: func(e *simEnv, ref string) error {
				e.sim.Inject(simulator.Fault{Op: simulator.OpAuthorize, Kind: simulator.FaultHTTPStatus, Status: 503})
				_, err := e.c.Payment(ctx, simSale(ref, 100))
				return err
			},
			class: NotSent,
			check: func(t *testing.T, e *simEnv) {
				if e.ops()[simulator.OpPayment] != 1 || e.sim.Charges("ref") != 0 {
					t.Fatalf("payment calls %d", e.ops()[simulator.OpPayment])
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t, simulator.Config{}, tc.mod)
			// Log in first so that the fault meets the operation, not the login.
			if _, err := e.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "warm-up"}); classOf(err) != NotFound {
				t.Fatalf("warm-up: %v", err)
			}
			e.sim.Inject(tc.fault)
			err := tc.op(e, "ref")
			wantClass(t, err, tc.class)
			if tc.check != nil {
				tc.check(t, e)
			}
			if n := e.sim.Charges("ref"); n > 1 {
				t.Fatalf("double charge: %d", n)
			}
			e.noFindings(t)
		})
	}
}

func TestSimSessionRevokedAndLoginRefused(t *testing.T) {
	e := newSimEnv(t, simulator.Config{}, nil)
	ctx := context.Background()
	if _, err := e.c.Payment(ctx, simSale("ok-1", 100)); err != nil {
		t.Fatal(err)
	}
	e.sim.RevokeSessions()
	e.sim.Inject(simulator.Fault{Op: simulator.OpAuthorize, Kind: simulator.FaultHTTPStatus, Status: 401})
	_, err := e.c.Payment(ctx, simSale("ref", 100))
	wantClass(t, err, AuthFailed)
	if e.sim.Charges("ref") != 0 || e.ops()[simulator.OpPayment] != 2 {
		t.Fatalf("payment calls %d", e.ops()[simulator.OpPayment])
	}
}

func TestSimBadCredentials(t *testing.T) {
	const secret = "sim-password-that-is-right"
	e := newSimEnv(t, simulator.Config{Password: secret}, func(c *Config) { c.Credentials.Password = sec.New("wrong-" + secret) })
	_, err := e.c.Payment(context.Background(), simSale("ref", 100))
	x := wantClass(t, err, AuthFailed)
	if x.Reason != ReasonCredentialsRejected || !strings.Contains(err.Error(), "rejected the credentials") {
		t.Fatalf("unclear error: %v", err)
	}
	for _, s := range []string{secret, "sim-secret"} {
		if strings.Contains(err.Error(), s) || strings.Contains(e.logs.String(), s) {
			t.Fatalf("secret %q leaked:\nerr: %v\nlog: %s", s, err, e.logs.String())
		}
	}
	if st := e.c.TokenStatus(); st.Valid || st.LastErrorClass != AuthFailed {
		t.Fatalf("status: %+v", st)
	}
	if e.ops()[simulator.OpPayment] != 0 {
		t.Fatal("a payment was sent without a login")
	}
}

// TestSimConcurrentExpiry: 100 card operations on 100 devices run while the
// access token expires; the simulator counts exactly one refresh.
func TestSimConcurrentExpiry(t *testing.T) {
	devices := make([]string, 100)
	for i := range devices {
		devices[i] = fmt.Sprintf("DEV%03d", i)
	}
	for _, how := range []string{"server-side expiry (100311)", "clock passes the refresh point"} {
		t.Run(how, func(t *testing.T) {
			clk := newClock()
			e := newSimEnv(t, simulator.Config{Devices: devices, Now: clk.Now, RotateRefreshTokens: true},
				func(c *Config) { c.Now = clk.Now; c.RefreshAhead = time.Second })
			ctx := context.Background()
			if _, err := e.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "warm-up"}); classOf(err) != NotFound {
				t.Fatalf("warm-up: %v", err)
			}
			// A slow token endpoint: every call is waiting for the renewal
			// before it ends.
			e.sim.Inject(simulator.Fault{Op: simulator.OpToken, Kind: simulator.FaultDelay, Delay: 200 * time.Millisecond})
			if how[0] == 's' {
				e.sim.ExpireTokens()
			} else {
				clk.Advance(7199*time.Second - 2*time.Second)
			}
			var wg sync.WaitGroup
			errs := make([]error, len(devices))
			for i, d := range devices {
				wg.Go(func() {
					_, errs[i] = e.c.Payment(ctx, PaymentRequest{Head: Head{DeviceUniqueID: d, TransactionReferenceID: "ref-" + d},
						Amount: payment.NewMoney(1000, payment.TRY), Installment: 1, SalesType: SalesTypeSale})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("%s: %v", devices[i], err)
				}
			}
			c := e.sim.Counters()
			if c.TokenByRefresh != 1 || c.RefreshEndpoint != 0 || c.Authorize != 1 || c.TokenByCode != 1 {
				t.Fatalf("counters = %+v, want exactly one refresh and one login", c)
			}
			t.Logf("token rejections seen: %d", c.TokenRejections)
			if how[0] == 's' && c.TokenRejections < 2 {
				t.Fatalf("only %d calls met the expired token: not a concurrency test", c.TokenRejections)
			}
			if e.sim.TotalCharges() != len(devices) {
				t.Fatalf("charges = %d", e.sim.TotalCharges())
			}
			e.noFindings(t)
		})
	}
}

// TestSimRestartUsesSavedToken: a second client on the same store does not log in.
func TestSimRestartUsesSavedToken(t *testing.T) {
	sim := simulator.New(simulator.Config{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	store := NewMemoryTokenStore(nil)
	cfg := Config{BaseURL: srv.URL, Credentials: Credentials{"sim-client", sec.New("sim-secret"), "sim-user", sec.New("sim-password")}}
	for i := range 2 {
		c, err := New(cfg, store)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		_, err = c.Payment(context.Background(), simSale(fmt.Sprintf("restart-%d", i), 100))
		cancel()
		<-done
		wantClass(t, err, Approved)
	}
	if c := sim.Counters(); c.Authorize != 1 || c.TokenByCode != 1 {
		t.Fatalf("counters = %+v: the restart logged in again", c)
	}
}

// TestSimChargedThenSessionTerminated: the simulator charges, then answers
// 380204. On HTTP 200 the device may have acted: Unknown, not resent, one
// charge, and the query after a fresh login settles it. On a (lying) HTTP 401
// the request is resent once and refused as a reused reference: Unknown,
// never Declined, still one charge.
func TestSimChargedThenSessionTerminated(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status  int
		resent  bool
		reason  Reason
		payment int // payment calls
	}{
		{0, false, ReasonSessionTerminated, 1},
		{422, false, ReasonSessionTerminated, 1},
		{401, true, ReasonRefusedAfterResend, 2},
	} {
		t.Run(fmt.Sprint("HTTP ", tc.status), func(t *testing.T) {
			e := newSimEnv(t, simulator.Config{}, nil)
			if _, err := e.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "warm-up"}); classOf(err) != NotFound {
				t.Fatalf("warm-up: %v", err)
			}
			e.sim.Inject(simulator.Fault{Op: simulator.OpPayment, Kind: simulator.FaultCommitThenSessionTerminated, Status: tc.status})
			_, err := e.c.Payment(ctx, simSale("ref", 1000))
			if x := wantClass(t, err, Unknown); x.Resent != tc.resent || x.Reason != tc.reason {
				t.Fatalf("err %#v", x)
			}
			if n := e.sim.Charges("ref"); n != 1 {
				t.Fatalf("charged %d times", n)
			}
			if n := e.ops()[simulator.OpPayment]; n != tc.payment {
				t.Fatalf("%d payment calls, want %d", n, tc.payment)
			}
			g := NewGateway(e.c, payment.VUK509, SaleApp{})
			out := g.Query(ctx, &payment.Operation{Kind: payment.KindSale, DeviceUniqueID: testDevice, TransactionReferenceID: "ref"})
			if out.Class != payment.Approved || out.PaymentID == "" {
				t.Fatalf("query: %+v", out)
			}
			if c := e.sim.Counters(); c.Authorize != 2 {
				t.Fatalf("counters %+v: a new login must follow the refused session", c)
			}
			e.noFindings(t)
		})
	}
}

// TestSimGatewayRefundsByContent: the refund after a first line was fully
// returned, with the simulator's non-positional line ids, and with fully
// returned lines left out of refundable-sale-info.
func TestSimGatewayRefundsByContent(t *testing.T) {
	for _, omit := range []bool{false, true} {
		t.Run(fmt.Sprint("omit returned lines ", omit), func(t *testing.T) {
			e := newSimEnv(t, simulator.Config{OmitReturnedLines: omit}, nil)
			ctx := context.Background()
			g := NewGateway(e.c, payment.VUK507, SaleApp{Name: "bridged", Version: "1"})
			lines := []payment.SaleLine{
				{ID: "1", Name: "Tea", Quantity: 2, UnitPrice: try(1000), Total: try(2000), UnitCode: "C62", TaxGroupCode: "20"},
				{ID: "2", Name: "Cake", Quantity: 1, UnitPrice: try(3000), Total: try(3000), UnitCode: "C62", TaxGroupCode: "20"},
			}
			sale := &payment.Operation{Kind: payment.KindSale, DeviceUniqueID: testDevice, TransactionReferenceID: "s-1",
				Amount: try(5000), PaymentType: "CARD", DocumentType: "1", Installment: 1, Lines: lines}
			out := g.Execute(ctx, sale)
			if out.Class != payment.Approved {
				t.Fatalf("sale: %+v", out)
			}
			refund := func(ref string, l payment.SaleLine) payment.Outcome {
				rl := l
				rl.RelatedLineID, rl.ID = l.ID, ""
				return g.Execute(ctx, &payment.Operation{Kind: payment.KindRefund, DeviceUniqueID: testDevice, TransactionReferenceID: ref,
					ParentTransactionReferenceID: "s-1", PaymentID: out.PaymentID, PaymentDate: out.PaymentDate, Amount: rl.Total,
					Lines: []payment.SaleLine{rl}})
			}
			if r := refund("r-1", lines[0]); r.Class != payment.Approved {
				t.Fatalf("refund of line 1: %+v", r)
			}
			if r := refund("r-2", lines[1]); r.Class != payment.Approved {
				t.Fatalf("refund of line 2: %+v", r)
			}
			if r := refund("r-3", lines[1]); r.Class != payment.NotSent {
				t.Fatalf("refund of line 2 again: %+v", r) // nothing left of it: not sent
			}
			n, sum := e.sim.RefundsOf("s-1")
			if n != 2 || sum != "50.00" || e.sim.Refunds("r-1") != 1 || e.sim.Refunds("r-2") != 1 || e.sim.Refunds("r-3") != 0 {
				t.Fatalf("refunds %d %s", n, sum)
			}
			e.noFindings(t)
		})
	}
}

// TestSimLateRefund: the device refunds, iyzico answers 380103: unknown, one
// refund, and the query settles it approved.
func TestSimLateRefund(t *testing.T) {
	e := newSimEnv(t, simulator.Config{}, nil)
	ctx := context.Background()
	g := NewGateway(e.c, payment.VUK509, SaleApp{})
	sale := g.Execute(ctx, &payment.Operation{Kind: payment.KindSale, DeviceUniqueID: testDevice, TransactionReferenceID: "s-1", Amount: try(10000), Installment: 1})
	if sale.Class != payment.Approved {
		t.Fatalf("sale %+v", sale)
	}
	op := &payment.Operation{Kind: payment.KindRefund, DeviceUniqueID: testDevice, TransactionReferenceID: "r-1",
		PaymentID: sale.PaymentID, PaymentDate: sale.PaymentDate, Amount: try(2060)}
	if out := g.Execute(ctx, op); out.Class != payment.Unknown || out.Error == nil || out.Error.Code != "380103" {
		t.Fatalf("refund %+v", out)
	}
	out := g.Query(ctx, op)
	if out.Class != payment.Approved || out.HostRef == "" || e.sim.Refunds("r-1") != 1 {
		t.Fatalf("query %+v, refunds %d", out, e.sim.Refunds("r-1"))
	}
	if n, _ := e.sim.RefundsOf("s-1"); n != 1 {
		t.Fatalf("refunds of the sale: %d", n)
	}
}

// TestSimSecretWithReservedCharacters: the token steps send
// base64(client_id:client_secret) with the values as they are; a secret with
// "+", "/", "=" (and ":") logs in.
func TestSimSecretWithReservedCharacters(t *testing.T) {
	const secret = "pl+us/sl=ash==:c%2B"
	e := newSimEnv(t, simulator.Config{ClientID: "id+1/=", ClientSecret: secret},
		func(c *Config) { c.Credentials.ClientID, c.Credentials.ClientSecret = "id+1/=", sec.New(secret) })
	_, err := e.c.Payment(context.Background(), simSale("ref", 100))
	wantClass(t, err, Approved)
	if c := e.sim.Counters(); c.TokenByCode != 1 || c.OAuthFailures != 0 {
		t.Fatalf("counters %+v", c)
	}
	if strings.Contains(e.logs.String(), "pl+us") {
		t.Fatal("the secret reached the log")
	}
	e.noFindings(t)
}
