package opscli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/apiview"
	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/safetext"
	"github.com/bridgedpos/bridged/internal/store"
)

// defaultConfigPath is where the packages put the config.
func defaultConfigPath() string {
	if runtime.GOOS == "windows" {
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "bridged", "bridged.yaml")
	}
	return "/etc/bridged/bridged.yaml"
}

// opsConfig loads the config of an operator verb; -c defaults to the
// packaged location.
func (a *CLI) opsConfig(path string) (*config.Config, error) {
	if path == "" {
		path = defaultConfigPath()
	}
	return a.LoadConfig(path)
}

// txSource is where the operator verbs read payments: the running daemon's
// API, or the journal file itself when no daemon holds it.
type txSource interface {
	list(ctx context.Context, q listQuery, max int, fn func(apitype.Payment) error) error
	get(ctx context.Context, id string) (apitype.Payment, error)
	close()
}

type apiSource struct{ *apiClient }

func (s apiSource) get(ctx context.Context, id string) (apitype.Payment, error) {
	var t apitype.Payment
	_, err := s.do(ctx, http.MethodGet, "/v1/payments/"+id, &t)
	return t, err
}
func (apiSource) close() {}

type journalSource struct{ st *store.Store }

func (s journalSource) list(ctx context.Context, q listQuery, max int, fn func(apitype.Payment) error) error {
	f := payment.Filter{Status: payment.Status(q.Status), Terminal: q.Terminal, Reference: q.Reference, From: q.From, To: q.To, Limit: 1000}
	seen := 0
	for {
		ops, next, err := s.st.List(ctx, f)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if max > 0 && seen >= max {
				return nil
			}
			if err := fn(apiview.Payment(op)); err != nil {
				return err
			}
			seen++
		}
		if next == "" {
			return nil
		}
		f.Cursor = next
	}
}

func (s journalSource) get(ctx context.Context, id string) (apitype.Payment, error) {
	op, err := s.st.Get(ctx, id)
	if err != nil {
		return apitype.Payment{}, err
	}
	return apiview.Payment(op), nil
}

func (s journalSource) close() { _ = s.st.Close() }

// openSource asks the daemon first; when none runs, it opens the journal
// (which fails fast if another process holds it).
func (a *CLI) openSource(ctx context.Context, cfg *config.Config) (txSource, error) {
	c := newAPIClient(cfg)
	if _, err := c.do(ctx, http.MethodGet, "/healthz", nil); err == nil {
		return apiSource{c}, nil
	} else if !errors.Is(err, errNotRunning) {
		return nil, err
	}
	st, err := store.Open(cfg.DataDir, store.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("bridged is not running and its journal cannot be opened: %w", err)
	}
	fmt.Fprintf(a.Stderr, "bridged is not running: reading the journal in %s directly\n", cfg.DataDir)
	return journalSource{st}, nil
}

// Tx runs tx list, show, resolve, settle and acknowledge.
func (a *CLI) Tx(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return UsageError{"tx: want list, show ID|REF, resolve ID, settle ID or acknowledge ID"}
	}
	switch args[0] {
	case "list":
		return a.txList(ctx, args[1:])
	case "show", "resolve":
		return a.txOne(ctx, args[0], args[1:])
	case "settle", "acknowledge":
		return a.txSettle(ctx, args[0], args[1:])
	}
	return UsageError{fmt.Sprintf("tx: unknown verb %q; want list, show, resolve, settle or acknowledge", args[0])}
}

// txSettle runs tx settle (an operator's outcome for an unknown iyzico
// will never settle) and tx acknowledge (what was done about a conflict).
// Both go through the running daemon, with the config's operate key: a
// settlement asks iyzico once more first, and the daemon then watches it
// until the end of the business day. With no daemon running, they work on
// the journal itself with the same rules (SettleOffline).
func (a *CLI) txSettle(ctx context.Context, verb string, args []string) error {
	sa := settleArgs{verb: verb}
	if err := sa.parse(args, a.Stderr); err != nil {
		return err
	}
	endpoint, raw, err := sa.request()
	if err != nil {
		return err
	}
	cfg, err := a.opsConfig(sa.path)
	if err != nil {
		return err
	}
	var t apitype.Payment
	_, err = newAPIClient(cfg).send(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(sa.id)+endpoint, raw, &t)
	if errors.Is(err, errNotRunning) {
		var op *payment.Operation
		if op, err = a.SettleOffline(ctx, cfg, func(svc *payment.Service) (*payment.Operation, error) { return sa.apply(ctx, svc) }); err != nil {
			return offlineSettleError(verb, err)
		}
		t = apiview.Payment(op)
	}
	if err != nil {
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
			return fmt.Errorf("%w\nPut a key with scope operate in the config (api.keys, scopes: [read, operate]), or set BRIDGED_API_KEY to one with BRIDGED_API_KEY_SCOPES=read,operate", err)
		}
		return err
	}
	if err := printRecord(a.Stdout, t); err != nil {
		return err
	}
	if verb == "settle" {
		fmt.Fprintf(a.Stdout, "Settled %s by %s. bridged asks iyzico about it until the end of the business day; "+
			"if iyzico says otherwise, that is a conflict (status page, /readyz, the log), never a silent change.\n", safetext.Escape(t.Status), safetext.Escape(sa.by))
	} else {
		fmt.Fprintln(a.Stdout, "Conflict acknowledged.")
	}
	return nil
}

// settleArgs are the flags and the operation id of tx settle or acknowledge.
type settleArgs struct {
	verb                                                          string
	id, path, outcome, evidence, by, paymentID, paymentDate, note string
}

func (sa *settleArgs) parse(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tx "+sa.verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ConfigFlag(&sa.path)(fs)
	fs.StringVar(&sa.by, "by", "", "who you are (required; goes into the journal)")
	if sa.verb == "settle" {
		fs.StringVar(&sa.outcome, "outcome", "", "approved or declined: what the terminal's slip or transaction list shows (required)")
		fs.StringVar(&sa.evidence, "evidence", "", "what you checked: the slip, the terminal's list, an iyzico ticket (required)")
		fs.StringVar(&sa.paymentID, "payment-id", "", "the slip's payment id (approved only)")
		fs.StringVar(&sa.paymentDate, "payment-date", "", "the slip's date, YYYYMMDD (approved only; default: the operation's business day)")
	} else {
		fs.StringVar(&sa.note, "note", "", "what was done about it (a refund at the counter, the books corrected)")
	}
	id, err := parseWithID(fs, args, fmt.Sprintf("tx %s: want exactly one operation id", sa.verb))
	sa.id = id
	return err
}

// parseWithID parses a verb's flags around its one operand, an id, which
// may come before or after them.
func parseWithID(fs *flag.FlagSet, args []string, usage string) (string, error) {
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", UsageError{err.Error()}
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 || id == "" {
		return "", UsageError{usage}
	}
	return id, nil
}

// request is the API's endpoint (below the operation) and body; every
// required flag that is missing is named at once.
func (sa *settleArgs) request() (endpoint string, body []byte, err error) {
	var missing []string
	if sa.by == "" {
		missing = append(missing, "--by")
	}
	var req any = apitype.AcknowledgeRequest{By: sa.by, Note: sa.note}
	endpoint = "/acknowledge-conflict"
	if sa.verb == "settle" {
		endpoint = "/settle"
		if sa.outcome == "" {
			missing = append(missing, "--outcome")
		}
		if sa.evidence == "" {
			missing = append(missing, "--evidence")
		}
		req = apitype.SettleRequest{By: sa.by, Outcome: sa.outcome, Evidence: sa.evidence, PaymentID: sa.paymentID, PaymentDate: sa.paymentDate}
	} else if sa.note == "" {
		missing = append(missing, "--note")
	}
	if len(missing) > 0 {
		return "", nil, UsageError{fmt.Sprintf("tx %s: %s required", sa.verb, strings.Join(missing, ", "))}
	}
	body, err = json.Marshal(req)
	return endpoint, body, err
}

// apply is the settlement or acknowledgement on the payment service itself.
func (sa *settleArgs) apply(ctx context.Context, svc *payment.Service) (*payment.Operation, error) {
	if sa.verb == "settle" {
		return svc.Settle(ctx, payment.SettleRequest{ID: sa.id, Outcome: sa.outcome, Evidence: sa.evidence, By: sa.by,
			PaymentID: sa.paymentID, PaymentDate: sa.paymentDate})
	}
	return svc.AcknowledgeConflict(ctx, payment.AcknowledgeRequest{ID: sa.id, By: sa.by, Note: sa.note})
}

func (a *CLI) txList(ctx context.Context, args []string) error {
	var path, status, since, terminal string
	var limit int
	if _, err := a.Flags("tx list", args, func(fs *flag.FlagSet) {
		ConfigFlag(&path)(fs)
		fs.StringVar(&status, "status", "", "pending, approved, declined or unknown")
		fs.StringVar(&since, "since", "", "a duration (24h) or an RFC 3339 time")
		fs.StringVar(&terminal, "terminal", "", "only this terminal")
		fs.IntVar(&limit, "limit", 50, "at most this many (0: all)")
	}); err != nil {
		return err
	}
	q := listQuery{Status: status, Terminal: terminal}
	if since != "" {
		t, err := parseSince(since, time.Now())
		if err != nil {
			return UsageError{err.Error()}
		}
		q.From = t
	}
	cfg, err := a.opsConfig(path)
	if err != nil {
		return err
	}
	return a.withSource(ctx, cfg, func(src txSource) error {
		tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CREATED\tID\tTERMINAL\tTYPE\tAMOUNT\tSTATUS\tREFERENCE\tCARD")
		n := 0
		err := src.list(ctx, q, limit, func(t apitype.Payment) error {
			n++
			_, err := io.WriteString(tw, listRow(t))
			return err
		})
		if err != nil {
			return err
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "%d transaction(s)\n", n)
		return nil
	})
}

// withSource runs fn with the payments' source (the daemon, or the journal
// when none runs), and closes it after.
func (a *CLI) withSource(ctx context.Context, cfg *config.Config, fn func(src txSource) error) error {
	src, err := a.openSource(ctx, cfg)
	if err != nil {
		return err
	}
	defer src.close()
	return fn(src)
}

func (a *CLI) txOne(ctx context.Context, verb string, args []string) error {
	var path string
	fs := flag.NewFlagSet("tx "+verb, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	ConfigFlag(&path)(fs)
	id, err := parseWithID(fs, args, fmt.Sprintf("tx %s: want exactly one id (or, for show, an ECR reference)", verb))
	if err != nil {
		return err
	}
	cfg, err := a.opsConfig(path)
	if err != nil {
		return err
	}
	if verb == "resolve" {
		// Resolving asks iyzico: only the running daemon may do that.
		var t apitype.Payment
		if _, err := newAPIClient(cfg).do(ctx, http.MethodPost, "/v1/payments/"+id+"/resolve", &t); err != nil {
			if errors.Is(err, errNotRunning) {
				return errors.New("tx resolve asks iyzico through the running daemon: start bridged first (it also resolves every unknown on start)")
			}
			return err
		}
		if err := printRecord(a.Stdout, t); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout, resolveVerdict(t))
		return nil
	}
	return a.withSource(ctx, cfg, func(src txSource) error {
		t, err := src.get(ctx, id)
		var ae *apiError
		if (errors.As(err, &ae) && ae.Status == http.StatusNotFound) || errors.Is(err, payment.ErrNotFound) {
			// Not an id: look it up as the ECR's reference.
			found := 0
			err = src.list(ctx, listQuery{Reference: id}, 0, func(r apitype.Payment) error {
				found++
				return printRecord(a.Stdout, r)
			})
			if err == nil && found == 0 {
				return fmt.Errorf("no transaction with id or reference %q", id)
			}
			return err
		}
		if err != nil {
			return err
		}
		return printRecord(a.Stdout, t)
	})
}

// resolveVerdict says what a status query learned and, for an operation
// still unknown, why and what the operator can do.
func resolveVerdict(t apitype.Payment) string {
	id, status, reason := t.ID, t.Status, t.Reason
	switch {
	case status != "unknown":
		return fmt.Sprintf("iyzico settled it: %s (%s).", status, t.Resolution)
	case reason == "queried_timeout" || reason == "queried_device_error":
		return fmt.Sprintf("Still unknown (%s): iyzico's own record of it is the device's failure, and asking again will not change it.\n"+
			"Check the terminal's slip or its transaction list, then settle it with that evidence:\n"+
			"  bridged tx settle %s --outcome approved|declined --evidence \"what the slip says\" --by \"your name\" [--payment-id ID]", reason, id)
	case reason == "records_unreachable":
		return "Still unknown (records_unreachable): iyzico does not find a transaction it approved before either; bridged keeps asking."
	case reason != "":
		return fmt.Sprintf("Still unknown (%s): bridged keeps asking iyzico. If it stays so, check the terminal and settle it: bridged tx settle %s ...", reason, id)
	}
	return "Still unknown: bridged keeps asking iyzico."
}

// listRow is an operation's row in tx list.
func listRow(t apitype.Payment) string {
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", t.CreatedAt.Local().Format("2006-01-02 15:04:05"),
		safetext.Escape(t.ID), safetext.Escape(t.Terminal), safetext.Escape(t.Type), safetext.Escape(t.Amount),
		safetext.Escape(t.Currency), safetext.Escape(t.Status), safetext.Escape(t.Reference), safetext.Escape(maskedCard(t.Card)))
}

// Export writes the journal for accounting, as CSV or JSON lines.
func (a *CLI) Export(ctx context.Context, args []string) error {
	var path, from, to, format, out string
	if _, err := a.Flags("export", args, func(fs *flag.FlagSet) {
		ConfigFlag(&path)(fs)
		fs.StringVar(&from, "from", "", "first day (YYYY-MM-DD, local time) or RFC 3339 time; default: 30 days ago")
		fs.StringVar(&to, "to", "", "last day included (YYYY-MM-DD) or RFC 3339 time; default: now")
		fs.StringVar(&format, "format", "csv", "csv or jsonl")
		fs.StringVar(&out, "o", "", "output file (default: standard output)")
	}); err != nil {
		return err
	}
	if format != "csv" && format != "jsonl" {
		return UsageError{"export: --format is csv or jsonl"}
	}
	q, err := exportRange(from, to, time.Now())
	if err != nil {
		return err
	}
	cfg, err := a.opsConfig(path)
	if err != nil {
		return err
	}
	return a.withSource(ctx, cfg, func(src txSource) error {
		w := a.Stdout
		if out != "" {
			f, err := createExport(out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		var n int
		var err error
		if format == "jsonl" {
			err = src.list(ctx, q, 0, func(t apitype.Payment) error { n++; return writeJSONLine(w, t) })
		} else {
			n, err = exportCSV(ctx, src, q, w)
		}
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(a.Stderr, "exported %d transaction(s) from %s to %s\n", n, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
		return nil
	})
}

// exportRange is the export's --from and --to (default: the last 30 days).
func exportRange(from, to string, now time.Time) (listQuery, error) {
	q := listQuery{From: now.AddDate(0, 0, -30), To: now.Add(time.Second)}
	var err error
	if from != "" {
		if q.From, err = parseDay(from, false); err != nil {
			return q, UsageError{"export --from: " + err.Error()}
		}
	}
	if to != "" {
		if q.To, err = parseDay(to, true); err != nil {
			return q, UsageError{"export --to: " + err.Error()}
		}
	}
	if !q.From.Before(q.To) {
		return q, UsageError{fmt.Sprintf("export: --from (%s) is not before --to (%s): nothing can be in between",
			q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))}
	}
	return q, nil
}

// createExport creates the export's file: a new file, readable by its owner
// only, never one that exists, which another user may have planted (with
// its own mode and owner) to read the export, and never through a symbolic
// link.
func createExport(out string) (*os.File, error) {
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("export: %s exists: bridged writes an export only to a new file; choose another name or remove it", out)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return f, nil
}

// exportColumns are the export's CSV columns, in order, and each one's
// cell: the API's field as the JSON shows it (times in RFC 3339).
var exportColumns = []struct {
	name string
	cell func(t *apitype.Payment) string
}{
	{"created_at", func(t *apitype.Payment) string { return t.CreatedAt.Format(time.RFC3339Nano) }},
	{"id", func(t *apitype.Payment) string { return t.ID }},
	{"type", func(t *apitype.Payment) string { return t.Type }},
	{"status", func(t *apitype.Payment) string { return t.Status }},
	{"terminal", func(t *apitype.Payment) string { return t.Terminal }},
	{"reference", func(t *apitype.Payment) string { return t.Reference }},
	{"amount", func(t *apitype.Payment) string { return t.Amount }},
	{"currency", func(t *apitype.Payment) string { return t.Currency }},
	{"installment", func(t *apitype.Payment) string { return strconv.Itoa(t.Installment) }},
	{"payment_id", func(t *apitype.Payment) string { return t.PaymentID }},
	{"payment_date", func(t *apitype.Payment) string { return t.PaymentDate }},
	{"auth_code", func(t *apitype.Payment) string { return t.AuthCode }},
	{"card", func(t *apitype.Payment) string { return maskedCard(t.Card) }},
	{"voided", func(t *apitype.Payment) string { return strconv.FormatBool(t.Voided) }},
	{"refunded_amount", func(t *apitype.Payment) string { return t.Refunded }},
	{"parent_id", func(t *apitype.Payment) string { return t.ParentID }},
	{"transaction_reference_id", func(t *apitype.Payment) string { return t.TxRef }},
	{"error", errorCell},
	{"resolution", func(t *apitype.Payment) string { return t.Resolution }},
	{"settled_by", settlementCell(func(s *apitype.Settlement) string { return s.By })},
	{"settled_at", settlementCell(func(s *apitype.Settlement) string { return s.At.Format(time.RFC3339Nano) })},
	{"evidence", settlementCell(func(s *apitype.Settlement) string { return s.Evidence })},
	{"conflict", func(t *apitype.Payment) string { return conflictText(*t) }},
	{"updated_at", func(t *apitype.Payment) string { return t.UpdatedAt.Format(time.RFC3339Nano) }},
}

// errorCell is iyzico's code and message; a missing message shows as
// <nil>, as the export always wrote it.
func errorCell(t *apitype.Payment) string {
	if t.Error == nil {
		return ""
	}
	msg := t.Error.Message
	if msg == "" {
		msg = "<nil>"
	}
	return t.Error.Code + " " + msg
}

// settlementCell is one field of an operator's settlement, or nothing.
func settlementCell(f func(*apitype.Settlement) string) func(*apitype.Payment) string {
	return func(t *apitype.Payment) string {
		if t.Settlement == nil {
			return ""
		}
		return f(t.Settlement)
	}
}

// exportCSV writes q's transactions as CSV and returns how many.
func exportCSV(ctx context.Context, src txSource, q listQuery, w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	header := make([]string, len(exportColumns))
	for i, c := range exportColumns {
		header[i] = c.name
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	err := src.list(ctx, q, 0, func(t apitype.Payment) error {
		n++
		return cw.Write(csvRow(t))
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return n, err
}

// csvRow is one transaction's row. Every cell is safe to open in a
// spreadsheet: no formula, no control or direction character
// (internal/safetext).
func csvRow(t apitype.Payment) []string {
	row := make([]string, len(exportColumns))
	for i, c := range exportColumns {
		row[i] = safetext.CSVCell(c.cell(&t))
	}
	return row
}

// conflictText is an operator settlement iyzico contradicted, in words:
// "settled declined, iyzico approved (payment 123); acknowledged by X: note",
// or "...; open" until someone acknowledges it.
func conflictText(t apitype.Payment) string {
	c := t.Conflict
	if c == nil {
		return ""
	}
	s := "settled " + c.Settled + ", iyzico " + c.Upstream
	if p := c.UpstreamPaymentID; p != "" {
		s += " (payment " + p + ")"
	}
	if by := c.AcknowledgedBy; by != "" {
		s += "; acknowledged by " + by
		if n := c.AcknowledgedNote; n != "" {
			s += ": " + n
		}
		return s
	}
	return s + "; open"
}

// maskedCard shows BIN and last four only (all bridged ever has), masked as
// everywhere else: payment.Card.Masked.
func maskedCard(c *apitype.Card) string {
	if c == nil {
		return ""
	}
	return (&payment.Card{BIN: c.BIN, Last4: c.Last4}).Masked()
}

// parseSince reads a duration back from now (24h) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q is neither a duration like 24h nor a time like 2026-11-23 or 2026-11-23T08:00:00Z", s)
}

// parseDay reads a day (local midnight; the end of the day when end is set)
// or an RFC 3339 time.
func parseDay(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a day like 2026-11-23 or a time like 2026-11-23T08:00:00Z", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}
