package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/bridgedpos/bridged/internal/idempotency"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/store"
)

// The big journal is filled through the store's own API (Begin, then Record
// of the outcome: what the payment service journals; and, each new day, the
// idempotency keys of two ends of day ago forgotten, as the service's
// reconciler does), so every record, index and chained journal entry is the
// real thing. Filled one operation at a
// time that would be two fsyncs per operation; filled by many writers at
// once, the store's group commit puts hundreds of them in each commit. No
// bulk path in the store is needed, or trusted.
//
// Its shape is a shop's history: every terminal makes salesPerTerminalDay
// sales a day and closes the day with an end of day; the last day is still
// open (sales after the last end of day). The worst shape has no end of day
// at all, which makes bridged's start read the whole creation index once per
// terminal (payment.Service.Recover looks for each terminal's last one).

// salesPerTerminalDay is the sales of one terminal in one business day.
const salesPerTerminalDay = 250

// journalSpec is a journal to fill.
type journalSpec struct {
	Records  int  // operations: sales and ends of day
	EndOfDay bool // close every business day with an end of day per terminal
}

func (j journalSpec) name() string {
	if j.EndOfDay {
		return "days"
	}
	return "no-eod"
}

// fillWriters is how many writers fill the journal at once.
const fillWriters = 512

// journalCache describes a filled journal kept between runs (fill.json next
// to its data dir). A directory without it is an interrupted fill.
type journalCache struct {
	Records  int           `json:"records"`
	Schema   uint64        `json:"schema_version"`
	Fill     int           `json:"fill_version"`
	FillTime time.Duration `json:"fill_ns"`
	FilledAt time.Time     `json:"filled_at"`
	Writers  int           `json:"writers"`
}

const cacheMarker = "fill.json"

// fillVersion changes when the fill journals something else: a cached
// journal of another fill version is filled again.
const fillVersion = 2

// bigJournal returns the directory holding the journal spec describes
// (config and data dir, as WriteConfig lays them out), filling it first
// unless the cache has it. The cache is keyed by the store's schema version,
// the shape and the record count.
func (b *bench) bigJournal(ctx context.Context, spec journalSpec) (dir string, jc journalCache, filled bool, err error) {
	schema, err := schemaVersion(filepath.Join(b.work, "schema-probe"))
	if err != nil {
		return "", jc, false, fmt.Errorf("read the store's schema version: %w", err)
	}
	dir = filepath.Join(b.opt.cache, fmt.Sprintf("bridged-bench-journal-schema%d-%s-%d", schema, spec.name(), spec.Records))
	if raw, err := os.ReadFile(filepath.Join(dir, cacheMarker)); err == nil {
		if json.Unmarshal(raw, &jc) == nil && jc.Records == spec.Records && jc.Schema == schema && jc.Fill == fillVersion {
			if _, err := os.Stat(filepath.Join(dir, "data", store.FileName)); err == nil {
				b.logf("journal of %d operations cached in %s (filled %s in %s)", jc.Records, dir,
					jc.FilledAt.Format(time.DateTime), jc.FillTime.Round(time.Second))
				return dir, jc, false, nil
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", jc, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", jc, false, err
	}
	b.logf("filling a journal of %d operations (%s) into %s", spec.Records, spec.name(), dir)
	start := time.Now()
	n := b.terminals()
	if err := fillJournal(ctx, filepath.Join(dir, "data"), spec, terminalIDs(n), deviceIDs(n), b.logf); err != nil {
		return "", jc, false, fmt.Errorf("fill: %w", err)
	}
	jc = journalCache{Records: spec.Records, Schema: schema, Fill: fillVersion, FillTime: time.Since(start), FilledAt: time.Now().UTC(), Writers: fillWriters}
	raw, err := json.MarshalIndent(jc, "", "  ")
	if err != nil {
		return "", jc, false, err
	}
	if err := os.WriteFile(filepath.Join(dir, cacheMarker), raw, 0o600); err != nil {
		return "", jc, false, err
	}
	b.logf("filled in %s", jc.FillTime.Round(time.Millisecond))
	return dir, jc, true, nil
}

// schemaVersion is the version a new journal gets from this build of the
// store: it creates one in dir and reads it back (meta/schema_version, a
// big-endian uint64, docs/store.md).
func schemaVersion(dir string) (uint64, error) {
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return 0, err
	}
	path := st.Path()
	if err := st.Close(); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var v uint64
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if meta == nil {
			return errors.New("no meta bucket")
		}
		raw := meta.Get([]byte("schema_version"))
		if len(raw) != 8 {
			return errors.New("no schema_version")
		}
		v = binary.BigEndian.Uint64(raw)
		return nil
	})
	return v, err
}

// fillJournal journals spec's operations into dataDir, fillWriters at a time.
func fillJournal(ctx context.Context, dataDir string, spec journalSpec, terminals, devices []string, logf func(string, ...any)) error {
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		return err
	}
	p := newPlan(spec, terminals, devices, time.Now())
	var next, done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range fillWriters {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= spec.Records {
					return nil
				}
				if day, sale, _ := p.at(i); spec.EndOfDay && sale == 0 && !day.Before(p.firstDay.AddDate(0, 0, 2)) {
					// A new day: the day before yesterday's ends of day are
					// two ends of day old; the service forgets the keys of
					// what came before them (payment.Service.pruneKeys).
					for t, term := range terminals {
						if _, err := st.PruneKeys(gctx, term, p.eodTime(day.AddDate(0, 0, -2), t)); err != nil {
							return err
						}
					}
				}
				op, err := st.Begin(gctx, p.intent(i))
				if err != nil {
					return err
				}
				p.settle(op, i)
				if err := st.Record(gctx, op); err != nil {
					return err
				}
				done.Add(1)
			}
		})
	}
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				d := done.Load()
				logf("  %d/%d operations (%.0f/s)", d, spec.Records, float64(d)/time.Since(start).Seconds())
			}
		}
	}()
	err = g.Wait()
	close(stopProgress)
	return errors.Join(err, st.Close())
}

// plan lays operations out on business days: operation i is a sale or an
// end of day, on a terminal, at a time. Days end before the day of now.
type plan struct {
	spec                journalSpec
	terminals, devices  []string
	sales, perDay, days int
	firstDay            time.Time // local midnight of day 0
}

func newPlan(spec journalSpec, terminals, devices []string, now time.Time) *plan {
	p := &plan{spec: spec, terminals: terminals, devices: devices}
	p.sales = salesPerTerminalDay * len(terminals)
	p.perDay = p.sales
	if spec.EndOfDay {
		p.perDay += len(terminals)
	}
	p.days = (spec.Records + p.perDay - 1) / p.perDay
	y, m, d := now.Date()
	p.firstDay = time.Date(y, m, d-p.days, 0, 0, 0, 0, now.Location())
	return p
}

// at is what operation i is: its day's midnight, and the sale number in the
// day (eod < 0) or the terminal of the end of day (eod >= 0).
func (p *plan) at(i int) (day time.Time, sale, eod int) {
	d, j := i/p.perDay, i%p.perDay
	day = p.firstDay.AddDate(0, 0, d)
	if j < p.sales {
		return day, j, -1
	}
	return day, -1, j - p.sales
}

// eodTime is when terminal t runs its end of day on day (midnight).
func (p *plan) eodTime(day time.Time, t int) time.Time {
	return day.Add(21*time.Hour + time.Duration(t)*time.Second)
}

// intent is operation i as the payment service journals it before the call.
func (p *plan) intent(i int) *payment.Operation {
	id := uuid.Must(uuid.NewV7())
	hex := strings.ReplaceAll(id.String(), "-", "")
	day, sale, eod := p.at(i)
	op := &payment.Operation{
		ID: "op_" + hex, Client: "ecr",
		TransactionReferenceID: "brg-" + hex, ConversationID: uuid.NewString(),
		State: payment.StateSending, BusinessDay: day.Format("20060102"),
	}
	var t int
	if eod < 0 {
		t = sale % len(p.terminals)
		op.Kind, op.IdempotencyKey, op.Reference = payment.KindSale, fmt.Sprintf("fill-%07d", i), fmt.Sprintf("fill-%07d", i)
		op.Amount, op.Installment = payment.NewMoney(saleMinor, payment.TRY), 1
		// The day's sales from 08:00 to 21:00.
		op.CreatedAt = day.Add(8*time.Hour + time.Duration(sale)*(13*time.Hour)/time.Duration(p.sales))
	} else {
		t = eod
		op.Kind, op.IdempotencyKey = payment.KindEndOfDay, "eod-"+op.ID
		op.Amount = payment.NewMoney(0, payment.TRY)
		op.CreatedAt = p.eodTime(day, eod)
		if !day.Equal(p.firstDay) {
			op.BatchSince = p.eodTime(day.AddDate(0, 0, -1), eod)
		}
	}
	op.Terminal, op.DeviceUniqueID = p.terminals[t], p.devices[t]
	op.UpdatedAt = op.CreatedAt
	op.Fingerprint = idempotency.NewFingerprint().Add("kind", string(op.Kind)).Add("terminal", op.Terminal).
		AddInt("amount", op.Amount.Minor()).Add("currency", string(op.Amount.Currency())).
		AddInt("installment", int64(op.Installment)).Add("reference", op.Reference).Sum()
	return op
}

// settle makes op, operation i, what iyzico approved.
func (p *plan) settle(op *payment.Operation, i int) {
	op.State, op.Resolution = payment.StateApproved, payment.ResolvedDirect
	op.SentAt, op.UpdatedAt = op.CreatedAt, op.CreatedAt.Add(2*time.Second)
	batch := fmt.Sprint(1 + i/p.perDay)
	if op.Kind == payment.KindEndOfDay {
		op.BatchNo = batch
		total := payment.NewMoney(saleMinor*salesPerTerminalDay, payment.TRY)
		op.Report = &payment.EndOfDayReport{BatchNo: batch, ResultMessage: "OK", Totals: []payment.AcquirerTotal{{
			AcquirerID: "12", AcquirerName: "Sim Bank A", TerminalID: "00120001", BatchNo: batch,
			Amount: total, Count: salesPerTerminalDay, ResponseCode: "00"}}}
		return
	}
	op.PaymentID = fmt.Sprint(30_000_000 + i)
	op.PaymentDate, op.AuthCode = op.BusinessDay, fmt.Sprintf("%06d", i%1_000_000)
	op.HostRef, op.BatchNo = fmt.Sprintf("%012d", i), batch
	op.Card = &payment.Card{BIN: "552879", Last4: "0008", Type: "CREDIT_CARD"}
}
