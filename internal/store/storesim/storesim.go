// Package storesim runs a shop's journal through time, compressed: days of
// sales, ends of day, keys forgotten and old days archived, all through the
// store's own API, as the daemon would make them. The steady-state test and
// the bench (go run ./bench) use it to show that the journal's file stops
// growing once the retention is reached.
package storesim

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
)

// Shop is what to simulate.
type Shop struct {
	Terminals   int // lanes
	SalesPerDay int // sales per lane and business day
	Days        int // business days simulated
	RetainDays  int // journal.retain_days
	Writers     int // concurrent writers (the lanes' sales of a day are spread over them); default 64
	// First is the first business day; default 800 days ago.
	First time.Time
}

// Day is the journal after one simulated day.
type Day struct {
	Day      string
	Ops      int // operations journaled so far
	Archived int // days archived so far
	Stats    store.FileStats
}

// Result is a whole run.
type Result struct {
	Days []Day
	Took time.Duration
}

// AtRetain is the journal after RetainDays days: the size the file should
// keep from then on.
func (r Result) AtRetain(retain int) Day {
	return r.Days[min(retain, len(r.Days))-1]
}

// Last is the journal at the end.
func (r Result) Last() Day { return r.Days[len(r.Days)-1] }

// Run simulates the shop into st.
func Run(ctx context.Context, st *store.Store, sh Shop) (Result, error) {
	start := time.Now()
	if sh.Writers <= 0 {
		sh.Writers = 64
	}
	if sh.First.IsZero() {
		y, m, d := time.Now().UTC().Date()
		sh.First = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -800)
	}
	var res Result
	ops := 0
	archived := 0
	lastEOD := make([]time.Time, sh.Terminals)
	for d := range sh.Days {
		midnight := sh.First.AddDate(0, 0, d)
		day := midnight.Format("20060102")
		if err := sales(ctx, st, sh, midnight, d); err != nil {
			return res, err
		}
		ops += sh.Terminals * sh.SalesPerDay
		// Every lane closes its day, and the service forgets the keys from
		// before the end of day before this one (payment.Service.pruneKeys);
		// the lanes at once, as they would.
		eods := make([]time.Time, sh.Terminals)
		var wg sync.WaitGroup
		errs := make([]error, sh.Terminals)
		for t := range sh.Terminals {
			wg.Go(func() { eods[t], errs[t] = endOfDay(ctx, st, t, d, midnight, lastEOD[t]) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return res, err
			}
		}
		copy(lastEOD, eods)
		ops += sh.Terminals
		if sh.RetainDays > 0 {
			done, _, err := st.Archive(ctx, midnight.AddDate(0, 0, 1-sh.RetainDays).Format("20060102"))
			if err != nil {
				return res, err
			}
			archived += len(done)
		}
		stats, err := st.Stats(ctx)
		if err != nil {
			return res, err
		}
		res.Days = append(res.Days, Day{Day: day, Ops: ops, Archived: archived, Stats: stats})
	}
	res.Took = time.Since(start)
	return res, nil
}

// endOfDay journals terminal t's end of day d, approved, and forgets the
// keys of before its previous one; it returns the end of day's time.
func endOfDay(ctx context.Context, st *store.Store, t, d int, midnight, last time.Time) (time.Time, error) {
	eod := &payment.Operation{ID: newID(), Kind: payment.KindEndOfDay, Client: "ecr", Terminal: lane(t),
		DeviceUniqueID: fmt.Sprintf("DEV%04d", t+1), Amount: payment.NewMoney(0, payment.TRY),
		State: payment.StateSending, BusinessDay: midnight.Format("20060102"), BatchSince: last,
		CreatedAt: midnight.Add(21*time.Hour + time.Duration(t)*time.Second)}
	eod.IdempotencyKey = "eod-" + eod.ID
	got, err := st.Begin(ctx, eod)
	if err != nil {
		return time.Time{}, err
	}
	got.State, got.Resolution, got.BatchNo = payment.StateApproved, payment.ResolvedDirect, fmt.Sprint(d+1)
	got.Report = &payment.EndOfDayReport{BatchNo: got.BatchNo, ResultMessage: "OK"}
	if err := st.Record(ctx, got); err != nil {
		return time.Time{}, err
	}
	if !last.IsZero() {
		if _, err := st.PruneKeys(ctx, lane(t), last); err != nil {
			return time.Time{}, err
		}
	}
	return got.CreatedAt, nil
}

func lane(t int) string { return fmt.Sprintf("lane-%02d", t+1) }

func newID() string {
	id := uuid.Must(uuid.NewV7())
	b := make([]byte, 0, 35)
	b = append(b, "op_"...)
	for _, c := range id.String() {
		if c != '-' {
			b = append(b, byte(c))
		}
	}
	return string(b)
}

// sales journals one day's sales: Begin, then Record approved, spread over
// the writers.
func sales(ctx context.Context, st *store.Store, sh Shop, midnight time.Time, d int) error {
	n := sh.Terminals * sh.SalesPerDay
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range sh.Writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := sale(ctx, st, sh, midnight, d, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func sale(ctx context.Context, st *store.Store, sh Shop, midnight time.Time, d, i int) error {
	t := i % sh.Terminals
	id := newID()
	key := fmt.Sprintf("%s-%06d-%05d", lane(t), d, i/sh.Terminals)
	op := &payment.Operation{
		ID: id, Kind: payment.KindSale, Client: "ecr", IdempotencyKey: key, Reference: key,
		Fingerprint: fmt.Sprintf("fp-%d-%d", d, i), Terminal: lane(t), DeviceUniqueID: fmt.Sprintf("DEV%04d", t+1),
		Amount: payment.NewMoney(14990, payment.TRY), Installment: 1,
		TransactionReferenceID: "brg-" + id[3:], ConversationID: uuid.NewString(),
		State: payment.StateSending, BusinessDay: midnight.Format("20060102"),
		CreatedAt: midnight.Add(8*time.Hour + time.Duration(i)*(13*time.Hour)/time.Duration(sh.Terminals*sh.SalesPerDay)),
	}
	got, err := st.Begin(ctx, op)
	if err != nil {
		return err
	}
	got.State, got.Resolution = payment.StateApproved, payment.ResolvedDirect
	got.SentAt, got.UpdatedAt = got.CreatedAt, got.CreatedAt.Add(2*time.Second)
	got.PaymentID = fmt.Sprintf("%d%07d", 30+d, i)
	got.PaymentDate, got.AuthCode, got.HostRef, got.BatchNo = got.BusinessDay, fmt.Sprintf("%06d", i), fmt.Sprintf("%012d", i), fmt.Sprint(d+1)
	got.Card = &payment.Card{BIN: "552879", Last4: "0008", Type: "CREDIT_CARD"}
	return st.Record(ctx, got)
}
