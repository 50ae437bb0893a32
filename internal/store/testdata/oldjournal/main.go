//go:build ignore

// Command oldjournal fills a journal with the store code of an older bridged,
// for the migration tests: a v1 journal made by d63fd60, a v2 one by
// a06471f. It is not built with this tree (its API may differ): copy it
// into a worktree of the old commit and run it there, as
// .ci/migration.sh does:
//
//	git worktree add /tmp/v1 d63fd60
//	mkdir -p /tmp/v1/cmd/oldjournal && cp internal/store/testdata/oldjournal/main.go /tmp/v1/cmd/oldjournal/
//	(cd /tmp/v1 && go run ./cmd/oldjournal/main.go -dir /tmp/v1-journal -ops 100000)
//
// The history is a shop's: terminals making sales day after day (some
// declined, a few left unknown), refunds and voids of some sales (the
// payment's refunded amount and voided flag updated), an end of day per
// terminal and day with its report, a saved token, old idempotency keys
// pruned. Only the store's API of both versions is used.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
)

func main() {
	dir := flag.String("dir", "", "data dir to fill (created)")
	n := flag.Int("ops", 1000, "operations to journal")
	terminals := flag.Int("terminals", 8, "terminals")
	perDay := flag.Int("per-day", 40, "sales per terminal and day")
	writers := flag.Int("writers", 64, "concurrent writers")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	st, err := store.Open(*dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	g := &gen{st: st, terminals: *terminals, perDay: *perDay}
	days := (*n + g.dayOps() - 1) / g.dayOps()
	y, m, d := time.Now().Date()
	g.first = time.Date(y, m, d-days, 0, 0, 0, 0, time.Local)
	if err := st.SaveToken(ctx, &oauth2.Token{AccessToken: "fixture-access", RefreshToken: "fixture-refresh", TokenType: "Bearer", Expiry: g.first.Add(time.Hour)}); err != nil {
		log.Fatal(err)
	}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var fail atomic.Pointer[error]
	for range *writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n || fail.Load() != nil {
					return
				}
				if err := g.op(ctx, i); err != nil {
					fail.Store(&err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if p := fail.Load(); p != nil {
		log.Fatal(*p)
	}
	// Keys older than the last two days are pruned, as the daemon does.
	if k, err := st.PruneKeys(ctx, g.first.AddDate(0, 0, days-2)); err != nil {
		log.Fatal(err)
	} else {
		fmt.Printf("pruned %d keys\n", k)
	}
	fmt.Printf("journaled %d operations over %d days in %s\n", done.Load(), days, *dir)
}

type gen struct {
	st        *store.Store
	terminals int
	perDay    int
	first     time.Time
	mu        sync.Mutex
	approved  []string // approved sales, for refunds and voids
}

// dayOps is the operations of one day: the sales and an end of day per terminal.
func (g *gen) dayOps() int { return g.terminals * (g.perDay + 1) }

func (g *gen) op(ctx context.Context, i int) error {
	day, j := i/g.dayOps(), i%g.dayOps()
	midnight := g.first.AddDate(0, 0, day)
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	hex := strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
	op := &payment.Operation{
		ID: "op_" + hex, Client: "ecr", TransactionReferenceID: "brg-" + hex, ConversationID: uuid.NewString(),
		State: payment.StateSending, BusinessDay: midnight.Format("20060102"),
	}
	sales := g.terminals * g.perDay
	if j >= sales { // an end of day
		t := j - sales
		op.Kind, op.IdempotencyKey, op.Terminal = payment.KindEndOfDay, "eod-"+op.ID, fmt.Sprintf("lane-%02d", t+1)
		op.DeviceUniqueID = fmt.Sprintf("DEV%04d", t+1)
		op.Amount = payment.NewMoney(0, payment.TRY)
		op.CreatedAt = midnight.Add(21*time.Hour + time.Duration(t)*time.Second)
		if day > 0 {
			op.BatchSince = op.CreatedAt.AddDate(0, 0, -1)
		}
		got, err := g.st.Begin(ctx, op)
		if err != nil {
			return err
		}
		got.State, got.Resolution, got.UpdatedAt = payment.StateApproved, payment.ResolvedDirect, got.CreatedAt.Add(3*time.Second)
		got.BatchNo = fmt.Sprint(day + 1)
		got.Report = &payment.EndOfDayReport{BatchNo: got.BatchNo, ResultMessage: "Gün sonu başarılı", Totals: []payment.AcquirerTotal{{
			AcquirerID: "62", AcquirerName: "Garanti", TerminalID: "T" + got.Terminal, BatchNo: got.BatchNo,
			Amount: payment.NewMoney(int64(rng.IntN(1_000_000)), payment.TRY), Count: g.perDay, ResponseCode: "00"}}}
		if rng.IntN(10) == 0 {
			got.State, got.Resolution, got.SafeToRetry = payment.StateDeclined, payment.ResolvedNotSent, true
			got.Report, got.BatchNo = nil, ""
			got.Error = &payment.UpstreamError{Code: "interrupted", Message: "bridged stopped during end of day"}
		}
		if err := g.st.Record(ctx, got); err != nil {
			return err
		}
		if got.State == payment.StateApproved && day%3 == 0 {
			return g.st.SaveReport(ctx, got.ID, []byte(fmt.Sprintf(`{"batch":%q}`, got.BatchNo)))
		}
		return nil
	}
	t := j % g.terminals
	op.Terminal, op.DeviceUniqueID = fmt.Sprintf("lane-%02d", t+1), fmt.Sprintf("DEV%04d", t+1)
	op.CreatedAt = midnight.Add(8*time.Hour + time.Duration(j)*(13*time.Hour)/time.Duration(sales))
	kind := rng.IntN(20)
	var parent string
	if kind >= 17 {
		g.mu.Lock()
		if len(g.approved) > 0 {
			k := rng.IntN(len(g.approved))
			parent = g.approved[k]
			g.approved = append(g.approved[:k], g.approved[k+1:]...)
		}
		g.mu.Unlock()
	}
	switch {
	case parent != "" && kind == 17:
		op.Kind, op.ParentID, op.Amount = payment.KindVoid, parent, payment.NewMoney(0, payment.TRY)
	case parent != "":
		op.Kind, op.ParentID, op.Amount = payment.KindRefund, parent, payment.NewMoney(int64(100+rng.IntN(900)), payment.TRY)
	default:
		op.Kind, op.Amount, op.Installment = payment.KindSale, payment.NewMoney(int64(100+rng.IntN(50_000)), payment.TRY), 1
		if rng.IntN(4) == 0 {
			op.PaymentType, op.DocumentType = "CARD", "1"
			op.Lines = []payment.SaleLine{{Name: "Çay", Quantity: 2, UnitPrice: payment.NewMoney(500, payment.TRY),
				Total: payment.NewMoney(1000, payment.TRY), UnitCode: "C62", TaxGroupCode: "KDV20"}}
		}
	}
	op.IdempotencyKey = fmt.Sprintf("ECR-%07d", i)
	op.Reference = op.IdempotencyKey
	op.Fingerprint = fmt.Sprintf("fp-%d", rng.Uint64())
	op.UpdatedAt = op.CreatedAt
	got, err := g.st.Begin(ctx, op)
	if err != nil {
		return err
	}
	got.SentAt, got.UpdatedAt = got.CreatedAt, got.CreatedAt.Add(2*time.Second)
	switch outcome := rng.IntN(50); {
	case outcome == 0 && got.Kind == payment.KindSale:
		got.State, got.Queries, got.NextQueryAt = payment.StateUnknown, 3, got.CreatedAt.Add(time.Minute)
	case outcome < 4:
		got.State, got.Resolution, got.SafeToRetry = payment.StateDeclined, payment.ResolvedDirect, true
		got.Error = &payment.UpstreamError{Code: "10051", Group: "NOT_SUFFICIENT_FUNDS", Message: "Yetersiz bakiye"}
	default:
		got.State, got.Resolution = payment.StateApproved, payment.ResolvedDirect
		// paymentIds apart from the simulator's (40,000,000 on).
		got.PaymentID, got.PaymentDate, got.AuthCode = fmt.Sprint(70_000_000+i), got.BusinessDay, fmt.Sprintf("%06d", i%1_000_000)
		got.HostRef, got.BatchNo = fmt.Sprintf("%012d", i), fmt.Sprint(day+1)
		got.Card = &payment.Card{BIN: "552879", Last4: fmt.Sprintf("%04d", i%10_000), Type: "CREDIT_CARD"}
		if got.Kind != payment.KindSale {
			got.PaymentID = "" // voids and refunds name their payment's
		}
	}
	if err := g.st.Record(ctx, got); err != nil {
		return err
	}
	switch {
	case got.Kind == payment.KindSale && got.State == payment.StateApproved:
		g.mu.Lock()
		g.approved = append(g.approved, got.ID)
		g.mu.Unlock()
	case got.State == payment.StateApproved && got.ParentID != "":
		_, err := g.st.Update(ctx, got.ParentID, func(p *payment.Operation) error {
			if got.Kind == payment.KindVoid {
				p.Voided = true
			} else {
				p.RefundedMinor += got.Amount.Minor()
			}
			return nil
		})
		return err
	}
	return nil
}
