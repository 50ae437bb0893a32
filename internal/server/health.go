package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/apiview"
	"github.com/bridgedpos/bridged/internal/health"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/safetext"
)

// TokenReporter gives the iyzico token's state (upstream.Client does).
type TokenReporter interface {
	TokenHealth() health.Token
}

// UpstreamReporter gives what the calls made so far say about iyzico
// (upstream.Client does).
type UpstreamReporter interface {
	UpstreamHealth() health.Upstream
}

func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apitype.Health{Status: "ok"})
}

// readiness is the /readyz document and terminalPart a terminal's part of
// it (apitype owns their shapes); the status page reads them too.
type (
	readiness    = apitype.Readiness
	terminalPart = apitype.TerminalReadiness
)

// handleReadyz reports each part bridged depends on, with a verdict a store's
// IT person can act on. 503 means no money operation can succeed now (store
// failed closed, no valid token, iyzico unreachable); a degraded terminal
// keeps 200 with status "degraded".
//
// Without a key it says only the verdict of each part and terminal, which is
// what a monitor needs and nothing about payments (no operation ids, device
// ids, token expiry or reasons); a request with any valid key gets the whole
// report.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	rd := s.readiness(r.Context())
	code := http.StatusOK
	if rd.Status == "fail" {
		code = http.StatusServiceUnavailable
	}
	if principalOf(r) == nil {
		writeJSON(w, code, summaryOf(rd))
		return
	}
	writeJSON(w, code, rd)
}

func summaryOf(rd readiness) apitype.ReadinessSummary {
	sum := apitype.ReadinessSummary{Status: rd.Status, CheckedAt: rd.CheckedAt, Store: apitype.StatusOnly{Status: rd.Store.Status},
		Token: apitype.StatusOnly{Status: rd.Token.Status}, Upstream: apitype.StatusOnly{Status: rd.Upstream.Status},
		Conflicts: apitype.StatusOnly{Status: rd.Conflicts.Status}, Terminals: []apitype.TerminalSummary{}}
	for _, t := range rd.Terminals {
		sum.Terminals = append(sum.Terminals, apitype.TerminalSummary{ID: t.ID, Status: t.Status})
	}
	return sum
}

func (s *server) readiness(ctx context.Context) readiness {
	now := time.Now().UTC()
	rd := readiness{Status: "ok", CheckedAt: now, Store: apitype.Part{Status: "ok"}}
	if err := s.svc.Health(); err != nil {
		rd.Store = apitype.Part{Status: "fail", Detail: "a journal write failed; bridged refuses new money operations until the disk is fixed and the service restarted (see the log)"}
	}

	rd.Token = apitype.TokenPart{Part: apitype.Part{Status: "ok"}}
	if s.token != nil {
		th := s.token.TokenHealth()
		rd.Token.Valid = th.Valid
		if !th.Expiry.IsZero() {
			exp := th.Expiry.UTC()
			rd.Token.Expiry = &exp
			rd.Token.ExpiresIn = int64(th.Expiry.Sub(now).Seconds())
		}
		switch {
		case th.Valid:
		case th.Failure != "":
			rd.Token.Part = apitype.Part{Status: "fail", Detail: "cannot log in to iyzico (" + safetext.Escape(th.Failure) + "): check upstream credentials and the network; `bridged doctor` shows iyzico's answer"}
		default:
			rd.Token.Part = apitype.Part{Status: "fail", Detail: "no iyzico token yet: bridged is logging in"}
		}
	}

	rd.Upstream = apitype.UpstreamPart{Part: apitype.Part{Status: "ok"}, Reachable: true}
	if s.upstream != nil {
		uh := s.upstream.UpstreamHealth()
		rd.Upstream.Reachable = uh.Reachable
		rd.Upstream.LastAnswer, rd.Upstream.LastSuccess, rd.Upstream.LastFailure = apiview.UTCOrNil(uh.LastAnswer), apiview.UTCOrNil(uh.LastSuccess), apiview.UTCOrNil(uh.LastFailure)
		rd.Upstream.LastFailureReason = uh.LastFailureReason
		switch {
		case !uh.Reachable:
			rd.Upstream.Part = apitype.Part{Status: "fail", Detail: "iyzico did not answer the last call (" + uh.LastFailureReason + "): check the network, proxy and DNS"}
		case uh.ServerErrors:
			rd.Upstream.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("iyzico answers, but its last answer was an error (HTTP %d): a problem on iyzico's side; bridged keeps retrying what is safe", uh.ServerErrorStatus)}
		}
	}

	rd.Conflicts = apitype.ConflictsPart{Part: apitype.Part{Status: "ok"}, Operations: []string{}}
	if cs := s.svc.Conflicts(); len(cs) > 0 {
		for _, op := range cs {
			rd.Conflicts.Operations = append(rd.Conflicts.Operations, op.ID)
		}
		rd.Conflicts.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("%d operator settlement(s) contradicted by iyzico's later answer: "+
			"the money state is left as settled; check each (bridged tx show ID), act, then acknowledge it (bridged tx acknowledge ID)", len(cs))}
	}
	for _, t := range s.svc.Terminals() {
		rd.Terminals = append(rd.Terminals, s.terminalReadiness(ctx, t, now))
	}
	for _, p := range []string{rd.Store.Status, rd.Token.Status, rd.Upstream.Status} {
		if p == "fail" {
			rd.Status = "fail"
		}
	}
	if rd.Status == "ok" && rd.Conflicts.Status != "ok" {
		rd.Status = "degraded"
	}
	if rd.Status == "ok" {
		for _, t := range rd.Terminals {
			if t.Status != "ok" {
				rd.Status = "degraded"
			}
		}
	}
	return rd
}

// terminalReadiness tells "terminal unreachable" (its last operations timed
// out, 380103) from "customer slow" (busy within the card timeout, with no
// timeouts before).
func (s *server) terminalReadiness(ctx context.Context, t payment.TerminalState, now time.Time) terminalPart {
	tp := apitype.TerminalReadiness{Part: apitype.Part{Status: "ok"}, ID: t.ID, DeviceUniqueID: t.DeviceUniqueID, State: t.State,
		Unknown: t.Unknown, RecentErrors: t.RecentErrors, ConsecutiveTimeouts: t.ConsecutiveTimeouts,
		LastAnswer: apiview.UTCOrNil(t.LastAnswer)}
	if tp.Unknown == nil {
		tp.Unknown = []string{}
	}
	if tp.RecentErrors == nil {
		tp.RecentErrors = map[string]int{}
	}
	sort.Strings(tp.Unknown)
	if !t.LastAnswer.IsZero() {
		secs := int64(now.Sub(t.LastAnswer).Seconds())
		tp.SecondsSinceAnswer = &secs
	}
	if !t.BusySince.IsZero() {
		tp.BusyForSeconds = int64(now.Sub(t.BusySince).Seconds())
	}
	stuck := s.stuckUnknowns(ctx, t.Unknown)
	switch {
	case t.State == "blocked" && len(stuck) > 0:
		tp.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("blocked by %d operation(s) with an unknown outcome; iyzico's own record of %s is the device's failure "+
			"and asking again will not settle it: check the terminal's slip or transaction list and settle it with that evidence "+
			"(bridged tx settle ID --outcome approved|declined --evidence TEXT --by NAME); end of day can run meanwhile with allow_unknown",
			len(t.Unknown), strings.Join(stuck, ", "))}
	case t.State == "blocked" && t.ConsecutiveTimeouts > 0:
		tp.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("blocked by %d operation(s) with an unknown outcome, and its last %d operation(s) timed out (380103): the terminal may be off, asleep or offline; bridged keeps asking iyzico", len(t.Unknown), t.ConsecutiveTimeouts)}
	case t.State == "blocked":
		tp.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("%d operation(s) with an unknown outcome; bridged is asking iyzico and the terminal takes new sales once they are settled", len(t.Unknown))}
	case t.ConsecutiveTimeouts > 0 && t.State == "busy":
		tp.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("busy for %ds, and its last %d operation(s) timed out (380103): the terminal may be off, asleep or offline", tp.BusyForSeconds, t.ConsecutiveTimeouts)}
	case t.ConsecutiveTimeouts > 0:
		tp.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("unreachable: its last %d operation(s) timed out (380103); check that the terminal is on and connected", t.ConsecutiveTimeouts)}
	case t.State == "busy" && s.cardTimeout > 0 && now.Sub(t.BusySince) > s.cardTimeout:
		tp.Part = apitype.Part{Status: "degraded", Detail: fmt.Sprintf("busy for %ds, longer than the card timeout: the terminal is not answering", tp.BusyForSeconds)}
	case t.State == "busy":
		tp.Detail = fmt.Sprintf("busy for %ds: waiting for the customer at the terminal", tp.BusyForSeconds)
	case t.RecentErrors["380202"] > 0:
		tp.Part = apitype.Part{Status: "degraded", Detail: "the terminal's payment application could not be started (380202) recently; restart the terminal"}
	case t.RecentErrors["380201"] > 0:
		tp.Detail = "recently reported busy by iyzico (380201): another system may be using this terminal"
	}
	if eod, err := s.svc.LastEndOfDay(ctx, t.ID); err == nil {
		tp.LastEndOfDay = &apitype.EndOfDayPart{ID: eod.Op.ID, At: eod.Op.CreatedAt.UTC(), Status: string(eod.Op.State.Status()), Match: eod.Match}
	}
	return tp
}

// stuckUnknowns lists the unknown operations that iyzico will not settle by
// itself (its record of them is the device's failure): an operator must.
func (s *server) stuckUnknowns(ctx context.Context, ids []string) []string {
	var out []string
	for _, id := range ids {
		op, err := s.svc.Get(ctx, id)
		if err != nil {
			continue
		}
		if op.Reason == "queried_timeout" || op.Reason == "queried_device_error" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
