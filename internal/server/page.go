package server

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/apiview"
	"github.com/bridgedpos/bridged/internal/loopback"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/publicerr"
	"github.com/bridgedpos/bridged/internal/safetext"
)

// The status page (GET /) is for the store's IT person who opens it when
// something is wrong: one server-rendered HTML page, no script, no external
// asset, refreshed by the browser every pageRefresh seconds. It is read-only,
// answers loopback clients only (see loopback.Remote), and needs a key with
// the read or operate scope: sent by the client, or once through the login
// form for a session (session.go). It shows what /readyz says plus the open
// and recent operations, with cards masked to the first six and last four
// digits and every outside text escaped (internal/safetext).

//go:embed page.html
var pageHTML string

// pageTemplate is parsed once; html/template escapes every value by context.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"rows": func(r []pageTx, showID bool) txRows { return txRows{Rows: r, ShowID: showID} },
}).Parse(pageHTML))

const (
	pageRefresh = 10 // seconds between the browser's reloads
	pageRecent  = 20 // operations in "Recent transactions"
)

type pageView struct {
	User      string // the key's name
	Session   bool   // logged in by the form: the page offers to log out
	Overall   verdictView
	Headline  string
	Checked   timeView
	Zone      string
	Mode      string
	Version   string
	Refresh   int
	Parts     []partView
	Terminals []pageTerminal
	Open      []pageTx
	OpenErr   string
	Recent    []pageTx
	RecentErr string
	EndOfDays []pageEOD
	EODErr    string
	// Conflicts: operator settlements iyzico later contradicted, each until
	// someone acknowledges it.
	Conflicts []pageConflict
}

// pageConflict is one open conflict, in the words the banner needs.
type pageConflict struct {
	ID, Terminal, Amount, Reference string
	Settled, Upstream               payment.Status
	By, Evidence                    string
	At                              timeView
}

// verdictView is a status with the words that carry it without colour.
type verdictView struct {
	Class string // ok, degraded, fail: the CSS class
	Label string // OK, DEGRADED, FAIL
	Icon  string
}

type fact struct {
	Label, Value, Title string
}

type partView struct {
	Name    string
	Verdict verdictView
	Summary string
	Detail  string
	Facts   []fact
}

type timeView struct {
	Text  string // local time and how long ago
	Title string // RFC 3339 UTC, on hover
}

type pageTerminal struct {
	ID, Device string
	Verdict    verdictView
	State      string
	Detail     string
	Unknown    int
	LastAnswer timeView
	EOD        string
	EODClass   string
	EODTitle   string
}

type pageTx struct {
	ID          string
	At          timeView
	Terminal    string
	Type        string
	Amount      string
	Currency    string
	Status      payment.Status
	StatusClass string
	Reference   string
	Card        string
	CardType    string
	Note        string
}

// txRows is one transaction table; open operations show bridged's id, which
// the operator verbs take.
type txRows struct {
	Rows   []pageTx
	ShowID bool
}

type pageEOD struct {
	Terminal   string
	At         timeView
	Status     payment.Status
	Class      string
	Batch      string
	Upstream   string
	Journal    string
	Match      string
	MatchClass string
	Note       string
}

// The status page's and the login's refusals (errors.go answers them).
var (
	errPageRemote     = errors.New("status page is local only")
	errLoginRemote    = errors.New("status page login is local only")
	errLoginMediaType = errors.New("not the login form")
	errPageScope      = errors.New("status page needs scope read or operate")
	errPageRender     = errors.New("status page not rendered")
)

// handleStatusPage renders the status page to clients on this machine. The
// page carries no secret, but it lists references and amounts, so a listener
// opened to the network (api.allowed_hosts) does not show it without a key.
func (s *server) handleStatusPage(w http.ResponseWriter, r *http.Request) error {
	if !loopback.Remote(r.RemoteAddr) {
		return errPageRemote
	}
	p, viaSession := s.pagePrincipal(r)
	if p == nil {
		s.writeLogin(w, r, http.StatusUnauthorized, "")
		return nil
	}
	if !p.has(ScopeRead, ScopeOperate) {
		// The key's name and scopes are the operator's own config: safe to show.
		return publicerr.Wrap(errPageScope, "the status page needs a key with the scope read or operate; key "+p.name+" has "+scopeList(p.scopes)+" (api.keys[].scopes)")
	}
	view := s.statusPage(r.Context(), time.Now())
	view.User, view.Session = p.name, viaSession
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, view); err != nil {
		return fmt.Errorf("%w: %w", errPageRender, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	setPageSecurityHeaders(h)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// statusPage gathers the page's content. A part that cannot be read says so
// in its section; the rest of the page still renders.
func (s *server) statusPage(ctx context.Context, now time.Time) pageView {
	rd := s.readiness(ctx)
	zone, _ := now.Zone()
	v := pageView{Overall: verdictOf(rd.Status), Headline: headline(rd.Status), Checked: timeOf(rd.CheckedAt, now), Zone: zone,
		Mode: modeLabel(s.svc.Mode()), Version: s.buildVersion(), Refresh: pageRefresh}
	v.Conflicts = s.pageConflicts(now)
	if len(v.Conflicts) > 0 {
		v.Headline = "Degraded: iyzico contradicts an operator's settlement; the money state is left as settled until someone acts (see the conflict below)."
	}
	v.Open, v.OpenErr = s.pageOpen(ctx, now)
	v.Parts = []partView{storePart(rd), s.loginPart(rd, now), s.connectionPart(rd, now), summaryPart(v, rd)}
	for _, t := range rd.Terminals {
		v.Terminals = append(v.Terminals, terminalOf(t, now))
	}
	v.Recent, v.RecentErr = s.pageRecent(ctx, now)
	v.EndOfDays, v.EODErr = s.pageEndOfDays(ctx, now)
	return v
}

// headline is the page's first sentence for the readiness status.
func headline(status string) string {
	switch status {
	case "ok":
		return "Ready: card payments can be taken."
	case "degraded":
		return "Degraded: bridged works, but a terminal needs attention (see below)."
	}
	return "Not ready: no card payment can be taken now (see the part marked FAIL)."
}

// storePart is the journal's part.
func storePart(rd readiness) partView {
	store := partView{Name: "Journal (disk)", Verdict: verdictOf(rd.Store.Status), Detail: rd.Store.Detail, Summary: "writable"}
	store.Facts = []fact{{Label: "New payments", Value: "accepted"}}
	if rd.Store.Status != "ok" {
		store.Summary = "write failed"
		store.Facts[0].Value = "refused (fail closed)"
	}
	return store
}

// loginPart is the iyzico token's part.
func (s *server) loginPart(rd readiness, now time.Time) partView {
	token := partView{Name: "iyzico login", Verdict: verdictOf(rd.Token.Status), Detail: safetext.Escape(rd.Token.Detail)}
	switch {
	case s.token == nil:
		token.Summary = "not reported"
	case rd.Token.Valid:
		token.Summary = "logged in"
	default:
		token.Summary = "not logged in"
	}
	if s.token != nil {
		token.Facts = append(token.Facts, fact{Label: "Token", Value: yesNo(rd.Token.Valid, "valid", "not valid")})
		if rd.Token.Expiry != nil {
			token.Facts = append(token.Facts, fact{Label: "Expires", Value: untilText(rd.Token.Expiry.Sub(now)) + " (" + clockText(*rd.Token.Expiry, now) + ")",
				Title: rd.Token.Expiry.UTC().Format(time.RFC3339)})
		}
	}
	return token
}

// connectionPart is iyzico's reachability part.
func (s *server) connectionPart(rd readiness, now time.Time) partView {
	up := partView{Name: "iyzico connection", Verdict: verdictOf(rd.Upstream.Status), Detail: safetext.Escape(rd.Upstream.Detail)}
	switch {
	case s.upstream == nil:
		up.Summary = "not reported"
	case rd.Upstream.Reachable:
		up.Summary = "reachable"
	default:
		up.Summary = "unreachable"
	}
	if s.upstream != nil {
		up.Facts = append(up.Facts, fact{Label: "Last answer", Value: timeOrNever(rd.Upstream.LastAnswer, now).Text, Title: timeOrNever(rd.Upstream.LastAnswer, now).Title})
		if rd.Upstream.LastFailure != nil {
			f := timeOf(*rd.Upstream.LastFailure, now)
			val := f.Text
			if rd.Upstream.LastFailureReason != "" {
				val += ": " + safetext.Escape(rd.Upstream.LastFailureReason)
			}
			up.Facts = append(up.Facts, fact{Label: "Last failure", Value: val, Title: f.Title})
		}
	}
	return up
}

// pageConflicts are the open conflicts between an operator's settlement and iyzico.
func (s *server) pageConflicts(now time.Time) []pageConflict {
	var out []pageConflict
	for _, op := range s.svc.Conflicts() {
		c := pageConflict{ID: op.ID, Terminal: op.Terminal, Amount: op.Amount.Decimal() + " " + string(op.Amount.Currency()),
			Reference: safetext.Escape(op.Reference), Settled: op.Conflict.Settled.Status(), Upstream: op.Conflict.Upstream.Status(),
			At: timeOf(op.Conflict.At, now)}
		if st := op.Settlement; st != nil {
			c.By, c.Evidence = safetext.Escape(st.By), safetext.Escape(st.Evidence)
		}
		out = append(out, c)
	}
	return out
}

// terminalOf is one terminal's row.
func terminalOf(t terminalPart, now time.Time) pageTerminal {
	pt := pageTerminal{ID: t.ID, Device: t.DeviceUniqueID, Verdict: verdictOf(t.Status), State: t.State,
		Detail: t.Detail, Unknown: len(t.Unknown), LastAnswer: timeOrNever(t.LastAnswer, now)}
	if pt.Detail == "" && t.State == "idle" {
		pt.Detail = "idle: ready for a sale"
	}
	switch e := t.LastEndOfDay; {
	case e == nil:
		pt.EOD, pt.EODClass = "none yet", "muted"
	default:
		at := timeOf(e.At, now)
		pt.EODTitle = at.Title
		switch {
		case e.Status != string(payment.StatusApproved):
			pt.EOD, pt.EODClass = at.Text+": "+string(e.Status), "fail"
		case e.Match:
			pt.EOD, pt.EODClass = at.Text+": totals match", "ok"
		default:
			pt.EOD, pt.EODClass = at.Text+": totals DIFFER", "fail"
		}
	}
	return pt
}

// pageRecent is the latest transactions; end of day has its own table.
func (s *server) pageRecent(ctx context.Context, now time.Time) ([]pageTx, string) {
	ops, _, err := s.svc.List(ctx, payment.Filter{Kinds: payment.TransactionKinds(), Limit: pageRecent})
	if err != nil {
		s.log.Error().Err(err).Msg("status page: list operations")
		return nil, "the journal could not be read; see the log"
	}
	var out []pageTx
	for _, op := range ops {
		out = append(out, txOf(op, now))
	}
	return out, ""
}

// summaryPart is the installation at a glance; it has no verdict of its own.
func summaryPart(v pageView, rd readiness) partView {
	version := v.Version
	if version == "" {
		version = "development build"
	}
	states := map[string]int{}
	for _, t := range rd.Terminals {
		states[t.State]++
	}
	var counts []string
	for _, st := range []string{"idle", "busy", "blocked"} {
		if states[st] > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", states[st], st))
		}
	}
	terminals := fmt.Sprintf("%d", len(rd.Terminals))
	if len(counts) > 0 {
		terminals += ": " + strings.Join(counts, ", ")
	}
	open := "none"
	if n := len(v.Open); n > 0 {
		open = fmt.Sprintf("%d waiting for an outcome", n)
	}
	return partView{Name: "bridged", Summary: "payment bridge to iyzico", Facts: []fact{
		{Label: "Mode", Value: v.Mode}, {Label: "Version", Value: version},
		{Label: "Terminals", Value: terminals}, {Label: "Open", Value: open}}}
}

// pageOpen lists the operations not yet final: each terminal's unknown ones
// and the one it is busy with. Reading them by id keeps the page's cost
// bounded by the number of terminals, not by the size of the journal.
func (s *server) pageOpen(ctx context.Context, now time.Time) ([]pageTx, string) {
	var ids []string
	for _, t := range s.svc.Terminals() {
		ids = append(ids, t.Unknown...)
		if t.BusyWith != "" {
			ids = append(ids, t.BusyWith)
		}
	}
	var ops []*payment.Operation
	seen := map[string]bool{}
	failed := false
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		op, err := s.svc.Get(ctx, id)
		switch {
		case errors.Is(err, payment.ErrNotFound):
			continue
		case err != nil:
			s.log.Error().Err(err).Str("op_id", id).Msg("status page: read open operation")
			failed = true
			continue
		}
		if !op.State.Final() {
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].CreatedAt.After(ops[j].CreatedAt) })
	out := make([]pageTx, 0, len(ops))
	for _, op := range ops {
		out = append(out, txOf(op, now))
	}
	if failed {
		return out, "some open operations could not be read from the journal; see the log"
	}
	return out, ""
}

func (s *server) pageEndOfDays(ctx context.Context, now time.Time) ([]pageEOD, string) {
	var out []pageEOD
	problem := ""
	for _, t := range s.svc.Terminals() {
		res, err := s.svc.LastEndOfDay(ctx, t.ID)
		switch {
		case errors.Is(err, payment.ErrNotFound):
			continue
		case err != nil:
			s.log.Error().Err(err).Str("terminal", t.ID).Msg("status page: last end of day")
			problem = "an end-of-day report could not be read from the journal; see the log"
			continue
		}
		out = append(out, eodOf(res, now))
	}
	return out, problem
}

func eodOf(r *payment.EndOfDayResult, now time.Time) pageEOD {
	op := r.Op
	e := pageEOD{Terminal: op.Terminal, At: timeOf(op.CreatedAt, now), Status: op.State.Status(), Class: txClass(op.State.Status())}
	if r.Report != nil {
		e.Batch = safetext.Escape(r.Report.BatchNo)
		e.Note = safetext.Escape(r.Report.ResultMessage)
	}
	if op.Error != nil {
		e.Note = errorText(op.Error)
	}
	if op.State != payment.StateApproved {
		e.Match, e.MatchClass = "not compared", "muted"
		return e
	}
	e.Upstream = fmt.Sprintf("%s (%d)", r.Upstream.Amount, r.Upstream.Count)
	e.Journal = fmt.Sprintf("%s (%d)", r.Journal.Amount, r.Journal.Count)
	if r.Match {
		e.Match, e.MatchClass = "✓ match", "ok"
	} else {
		e.Match, e.MatchClass = "✕ DIFFER", "fail"
	}
	return e
}

func txOf(op *payment.Operation, now time.Time) pageTx {
	tx := pageTx{ID: op.ID, At: timeOf(op.CreatedAt, now), Terminal: op.Terminal, Type: kindLabel(op.Kind),
		Amount: op.Amount.Decimal(), Currency: string(op.Amount.Currency()), Status: op.State.Status(),
		Reference: safetext.Escape(op.Reference), Card: op.Card.Masked()}
	tx.StatusClass = txClass(tx.Status)
	if op.Card != nil {
		tx.CardType = safetext.Escape(cardTypeLabel(apiview.CardType(op.Card.Type)))
	}
	var notes []string
	switch op.State {
	case payment.StateUnknown:
		if op.Reason == "queried_timeout" || op.Reason == "queried_device_error" {
			// iyzico's record of it is the device's failure: asking again
			// will not settle it; the operator can, with the slip.
			notes = append(notes, "iyzico will not settle it ("+safetext.Escape(op.Reason)+"): check the terminal's slip or transaction list, then: "+
				"bridged tx settle "+op.ID+" --outcome approved|declined --evidence TEXT --by NAME; "+op.Terminal+" takes no new sale until then")
			break
		}
		n := "outcome not known yet: bridged keeps asking iyzico"
		if op.Queries > 0 {
			n += fmt.Sprintf(" (%d queries so far)", op.Queries)
		}
		notes = append(notes, n+"; "+op.Terminal+" takes no new sale until it is settled")
	case payment.StateAccepted, payment.StateSending:
		notes = append(notes, "in progress for "+durationText(now.Sub(op.CreatedAt)))
	}
	if op.Error != nil {
		notes = append(notes, errorText(op.Error))
	}
	if op.Voided {
		notes = append(notes, "voided")
	}
	if op.RefundedMinor != 0 {
		notes = append(notes, "refunded "+op.RefundedAmount().String())
	}
	if op.Resolution == payment.ResolvedByQuery || op.Resolution == payment.ResolvedNotFound {
		notes = append(notes, "settled by a status query")
	}
	if st := op.Settlement; st != nil {
		n := "settled by " + safetext.Escape(st.By) + " (" + safetext.Escape(st.Evidence) + ")"
		if st.Confirmed {
			n += "; iyzico later confirmed it"
		}
		notes = append(notes, n)
	}
	if c := op.Conflict; c != nil {
		if c.Open() {
			notes = append(notes, "CONFLICT: iyzico says "+string(c.Upstream.Status())+"; not acknowledged yet")
		} else {
			notes = append(notes, "conflict (iyzico said "+string(c.Upstream.Status())+") acknowledged by "+safetext.Escape(c.AcknowledgedBy))
		}
	}
	tx.Note = strings.Join(notes, "; ")
	return tx
}

// buildVersion is Options.Version, or what the Go build recorded.
func (s *server) buildVersion() string {
	if s.version != "" {
		return s.version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := info.Main.Version
	if v == "(devel)" {
		v = ""
	}
	for _, st := range info.Settings {
		if st.Key == "vcs.revision" && v == "" && len(st.Value) >= 12 {
			v = "commit " + st.Value[:12]
		}
	}
	return v
}
