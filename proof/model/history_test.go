package model

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// A History is what one run of the model does: the ECR's calls and the
// faults, in order, on a fresh daemon and simulator. It is generated from a
// seed (the same seed gives the same history), printed when it fails, and
// replayed from the seed or from its JSON (testdata/*.json).
type History struct {
	Seed      uint64 `json:"seed"`
	Mode      string `json:"mode"`      // vuk509 or vuk507
	Terminals int    `json:"terminals"` // 2-4
	Steps     []Step `json:"steps"`

	// Regression seeds only (testdata/*.json).
	Expect string `json:"expect,omitempty"` // "passes", or "fails-until-fixed" (a known bug)
	Bullet string `json:"bullet,omitempty"` // the issue-14 bullet it reproduces
	Note   string `json:"note,omitempty"`   // what it shows, and what it failed with when found
}

// Step is one ECR call or one fault. Op names an entry of the kinds table.
type Step struct {
	Op string `json:"op"`
	// Lane is the terminal (0-based) of a sale, split start, end of day or
	// lane-bound fault; adjustments go to their payment's terminal.
	Lane int `json:"lane,omitempty"`
	// Name identifies a money step: its key, and the payment or split sale it
	// makes, are named after it.
	Name string `json:"name,omitempty"`
	// Target is the Name of the step whose payment, split sale or request
	// this one acts on.
	Target string `json:"target,omitempty"`
	Amount string `json:"amount,omitempty"` // "" for "all that is left" (refund) or "the rest" (split part)
	Items  []Item `json:"items,omitempty"`  // VUK 507 sale lines
	Lines  []Line `json:"lines,omitempty"`  // VUK 507 refund lines
	Arg    string `json:"arg,omitempty"`    // a fault's parameter; "dup" sends a money call twice at once
	Async  bool   `json:"async,omitempty"`  // not waited for: the next steps run meanwhile
	Again  bool   `json:"again,omitempty"`  // a sale declined safe_to_retry is tried again with a new key
	Cash   bool   `json:"cash,omitempty"`   // a VUK 507 sale paid in cash
}

// Item is a VUK 507 sale line: Qty × Unit.
type Item struct {
	Qty  int    `json:"qty"`
	Unit string `json:"unit"`
}

// Line refunds Qty of the sale's line number Line (0-based) for Amount.
type Line struct {
	Line   int    `json:"line"`
	Qty    int    `json:"qty"`
	Amount string `json:"amount"`
}

func (s Step) String() string {
	var b strings.Builder
	b.WriteString(s.Op)
	add := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	add("name", s.Name)
	add("target", s.Target)
	fmt.Fprintf(&b, " lane=%d", s.Lane)
	add("amount", s.Amount)
	if len(s.Items) > 0 {
		var it []string
		for _, i := range s.Items {
			it = append(it, fmt.Sprintf("%d×%s", i.Qty, i.Unit))
		}
		add("items", strings.Join(it, ","))
	}
	if len(s.Lines) > 0 {
		var ls []string
		for _, l := range s.Lines {
			ls = append(ls, fmt.Sprintf("#%d:%d/%s", l.Line, l.Qty, l.Amount))
		}
		add("lines", strings.Join(ls, ","))
	}
	add("arg", s.Arg)
	if s.Async {
		b.WriteString(" async")
	}
	if s.Again {
		b.WriteString(" again")
	}
	if s.Cash {
		b.WriteString(" cash")
	}
	return b.String()
}

// Text is the history, one step a line, as a failure prints it.
func (h History) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %s, %d terminals, %d steps:\n", h.Seed, h.Mode, h.Terminals, len(h.Steps))
	for i, s := range h.Steps {
		fmt.Fprintf(&b, "  %2d %s\n", i, s)
	}
	return b.String()
}

// JSON is the history as a regression seed file holds it: one step a line.
func (h History) JSON() string {
	var b strings.Builder
	head, _ := json.Marshal(struct {
		Seed      uint64 `json:"seed"`
		Mode      string `json:"mode"`
		Terminals int    `json:"terminals"`
		Expect    string `json:"expect,omitempty"`
		Bullet    string `json:"bullet,omitempty"`
		Note      string `json:"note,omitempty"`
	}{h.Seed, h.Mode, h.Terminals, h.Expect, h.Bullet, h.Note})
	b.Write(head[:len(head)-1])
	b.WriteString(",\n \"steps\": [\n")
	for i, s := range h.Steps {
		line, _ := json.Marshal(s)
		b.WriteString("  ")
		b.Write(line)
		if i < len(h.Steps)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(" ]}\n")
	return b.String()
}

// ---------------------------------------------------------------------------
// Amounts.

// operatorCents are the simulator's scripted outcomes that no status query
// settles (docs/simulator.md §10): .52 a device timeout that charged nothing
// (380103), .57 an empty device answer (380203), .58 an answer that could not
// be built (380205), .59 a code nobody documents, and .61 a device timeout
// after which the device approved while iyzico's record stays the timeout.
// Such an operation stays unknown, its lane blocked, until an operator
// settles it with the slip's evidence (the settle step, and the final phase).
var operatorCents = []int64{52, 57, 58, 59, 61}

// scriptCents are the kuruş a sale (or a split sale, or a pre-auth) may end
// in: mostly approvals, and the scripted outcomes that settle: .51 bank
// decline, .53 device application not started (unknown, then declined by a
// query), .54 payment service refusal, .55 approved after a card wait past
// the card timeout, .56 debit card, .60 a device timeout after which the
// device approved; and, rarely, one that only an operator settles
// (operatorCents). Partial refunds and non-final split parts are whole lira,
// or a declining script (.51, .53, .54), so that any remainder ends in the
// sale's own kuruş.
var scriptCents = []int64{0, 0, 0, 0, 0, 0, 0, 0, 10, 25, 50, 75, 90, 51, 51, 53, 54, 55, 56, 60, 60,
	operatorCents[0], operatorCents[1], operatorCents[2], operatorCents[3], operatorCents[4]}

var decliningCents = []int64{51, 53, 54}

func money(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) }

func minorOf(s string) int64 {
	whole, frac, _ := strings.Cut(s, ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f
}

// ---------------------------------------------------------------------------
// The generator.

// gen builds a history step by step, keeping what it has generated (not
// what happened: outcomes are known only when the history runs).
type gen struct {
	rng    *rand.Rand
	h      History
	pays   []*genPay
	splits []*genSplit
	money  []string // names of money steps, for retries
	n      int
}

type genPay struct {
	name   string
	lane   int
	kind   string // sale, pre_auth, post_auth, split_complete
	amount int64
	items  []Item
	// refunded lines (VUK 507), by line: quantity the generator sent back
	lines    map[int]int
	refunds  int
	captures int
	pre      *genPay // a post-auth's pre-auth
}

type genSplit struct {
	name      string
	lane      int
	amount    int64
	items     []Item
	parts     int
	completed bool
}

func (g *gen) name(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%d", prefix, g.n)
}

func (g *gen) pick(n int) int { return g.rng.IntN(n) }

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

// saleAmount draws an amount of 1.00-300.99 ending in a scripted kuruş.
func (g *gen) saleAmount() int64 {
	return int64(1+g.pick(300))*100 + scriptCents[g.pick(len(scriptCents))]
}

// items draws VUK 507 lines adding up to a sale amount: whole-lira lines,
// and a last line carrying the scripted kuruş.
func (g *gen) items() ([]Item, int64) {
	var items []Item
	var sum int64
	for range g.pick(3) {
		unit := int64(1+g.pick(40)) * 100
		q := 1 + g.pick(3)
		items = append(items, Item{Qty: q, Unit: money(unit)})
		sum += unit * int64(q)
	}
	last := int64(1+g.pick(60))*100 + scriptCents[g.pick(len(scriptCents))]
	items = append(items, Item{Qty: 1, Unit: money(last)})
	return items, sum + last
}

func itemsTotal(items []Item) int64 {
	var t int64
	for _, it := range items {
		t += int64(it.Qty) * minorOf(it.Unit)
	}
	return t
}

func (g *gen) payOf(kinds ...string) *genPay {
	var c []*genPay
	for _, p := range g.pays {
		if len(kinds) == 0 || slices.Contains(kinds, p.kind) {
			c = append(c, p)
		}
	}
	if len(c) == 0 {
		return nil
	}
	// Recent payments more often: adjustments follow sales.
	if g.chance(0.6) {
		return c[len(c)-1-g.pick(min(len(c), 3))]
	}
	return c[g.pick(len(c))]
}

// Generate returns the history of a seed.
func Generate(seed uint64) History {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x6d6f64656c))}
	g.h = History{Seed: seed, Mode: []string{"vuk509", "vuk507"}[g.pick(2)], Terminals: 2 + g.pick(3)}
	steps := 14 + g.pick(20)
	for len(g.h.Steps) < steps {
		if g.chance(faultShare) {
			g.add(pickKind(g, faultKinds))
			continue
		}
		g.add(pickKind(g, opKinds))
	}
	return g.h
}

// faultShare is the share of steps that are faults.
const faultShare = 0.3

func (g *gen) add(k *kind) {
	for range 20 {
		if st, ok := k.gen(g); ok {
			st.Op = k.name
			g.h.Steps = append(g.h.Steps, st)
			return
		}
		k = pickKind(g, opKinds) // no target yet: make something else
	}
}

func pickKind(g *gen, table []*kind) *kind {
	total := 0
	for _, k := range table {
		if k.usable(g.h.Mode) {
			total += k.weight
		}
	}
	n := g.pick(total)
	for _, k := range table {
		if !k.usable(g.h.Mode) {
			continue
		}
		if n < k.weight {
			return k
		}
		n -= k.weight
	}
	panic("unreachable")
}
