package store

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
)

// listFixture journals ten operations one minute apart (o0 oldest) and
// returns the store.
func listFixture(t *testing.T) *Store {
	t.Helper()
	s := newTest(t)
	rows := []struct {
		id, terminal string
		kind         payment.Kind
		state        payment.State
		ref, parent  string
	}{
		{"o0", "lane-1", payment.KindSale, payment.StateApproved, "R1", ""},
		{"o1", "lane-2", payment.KindSale, payment.StateDeclined, "R2", ""},
		{"o2", "lane-1", payment.KindSale, payment.StateUnknown, "R3", ""},
		{"o3", "lane-1", payment.KindVoid, payment.StateApproved, "R1", "o0"},
		{"o4", "lane-2", payment.KindSale, payment.StateSending, "R4", ""},
		{"o5", "lane-1", payment.KindRefund, payment.StateDeclined, "R5", "o0"},
		{"o6", "lane-1", payment.KindSale, payment.StateAccepted, "R1", ""},
		{"o7", "lane-2", payment.KindEndOfDay, payment.StateApproved, "", ""},
		{"o8", "lane-1", payment.KindRefund, payment.StateApproved, "R8", "o0"},
		{"o9", "lane-1", payment.KindSale, payment.StateApproved, "R9", ""},
	}
	for i, r := range rows {
		op := sale(r.id)
		op.Terminal, op.Kind, op.State, op.Reference, op.ParentID = r.terminal, r.kind, r.state, r.ref, r.parent
		op.CreatedAt = epoch.Add(time.Duration(i) * time.Minute)
		mustBegin(t, s, op)
	}
	return s
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	s := listFixture(t)
	at := func(i int) time.Time { return epoch.Add(time.Duration(i) * time.Minute) }
	tests := []struct {
		name string
		f    payment.Filter
		want []string
	}{
		{"all, newest first", payment.Filter{}, []string{"o9", "o8", "o7", "o6", "o5", "o4", "o3", "o2", "o1", "o0"}},
		{"terminal", payment.Filter{Terminal: "lane-2"}, []string{"o7", "o4", "o1"}},
		{"kinds", payment.Filter{Kinds: []payment.Kind{payment.KindVoid, payment.KindRefund}}, []string{"o8", "o5", "o3"}},
		{"status pending", payment.Filter{Status: "pending"}, []string{"o6", "o4"}},
		{"status approved", payment.Filter{Status: "approved"}, []string{"o9", "o8", "o7", "o3", "o0"}},
		{"status declined", payment.Filter{Status: "declined"}, []string{"o5", "o1"}},
		{"status unknown", payment.Filter{Status: "unknown"}, []string{"o2"}},
		{"reference", payment.Filter{Reference: "R1"}, []string{"o6", "o3", "o0"}},
		{"reference, none", payment.Filter{Reference: "R"}, nil},
		{"parent", payment.Filter{ParentID: "o0"}, []string{"o8", "o5", "o3"}},
		{"from (inclusive)", payment.Filter{From: at(7)}, []string{"o9", "o8", "o7"}},
		{"to (exclusive)", payment.Filter{To: at(2)}, []string{"o1", "o0"}},
		{"from and to", payment.Filter{From: at(3), To: at(6)}, []string{"o5", "o4", "o3"}},
		{"to in another zone", payment.Filter{To: at(2).In(time.FixedZone("TRT", 3*3600))}, []string{"o1", "o0"}},
		{"combined", payment.Filter{Terminal: "lane-1", Status: "approved", Kinds: []payment.Kind{payment.KindSale}}, []string{"o9", "o0"}},
		{"reference and status", payment.Filter{Reference: "R1", Status: "approved"}, []string{"o3", "o0"}},
		{"parent and time", payment.Filter{ParentID: "o0", From: at(4), To: at(8)}, []string{"o5"}},
		{"limit", payment.Filter{Limit: 2}, []string{"o9", "o8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("List = %v, want %v", ids(got), tt.want)
			}
		})
	}
}

func TestListPagination(t *testing.T) {
	ctx := context.Background()
	s := listFixture(t)
	tests := []struct {
		name string
		f    payment.Filter
	}{
		{"all", payment.Filter{}},
		{"terminal", payment.Filter{Terminal: "lane-1"}},
		{"reference", payment.Filter{Reference: "R1"}},
		{"parent", payment.Filter{ParentID: "o0"}},
		{"to", payment.Filter{To: epoch.Add(5 * time.Minute)}},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 3, 100} {
			full, cur, err := s.List(ctx, tt.f)
			if err != nil || cur != "" {
				t.Fatalf("%s: full list: %v, cursor %q", tt.name, err, cur)
			}
			var paged []*payment.Operation
			f := tt.f
			f.Limit = limit
			for pages := 0; ; pages++ {
				if pages > len(full)+1 {
					t.Fatalf("%s/%d: pagination does not end", tt.name, limit)
				}
				page, next, err := s.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("%s/%d: page of %d", tt.name, limit, len(page))
				}
				paged = append(paged, page...)
				if next == "" {
					break
				}
				f.Cursor = next
			}
			if !reflect.DeepEqual(ids(paged), ids(full)) {
				t.Errorf("%s/%d: pages %v, want %v", tt.name, limit, ids(paged), ids(full))
			}
		}
	}
}

func TestListCursorIsStableUnderInserts(t *testing.T) {
	ctx := context.Background()
	s := listFixture(t)
	page, next, err := s.List(ctx, payment.Filter{Limit: 3})
	if err != nil || next == "" || !slices.Equal(ids(page), []string{"o9", "o8", "o7"}) {
		t.Fatalf("first page %v, %q, %v", ids(page), next, err)
	}
	late := sale("late")
	late.CreatedAt = epoch.Add(time.Hour)
	mustBegin(t, s, late)
	page, _, err = s.List(ctx, payment.Filter{Limit: 3, Cursor: next})
	if err != nil || !slices.Equal(ids(page), []string{"o6", "o5", "o4"}) {
		t.Errorf("second page %v, %v", ids(page), err)
	}
}

func TestListRejects(t *testing.T) {
	ctx := context.Background()
	s := listFixture(t)
	for _, f := range []payment.Filter{
		{Cursor: "not-a-cursor!"},
		{Cursor: "AQ"},
		{Status: "sending"},
	} {
		var ve *payment.ValidationError
		if _, _, err := s.List(ctx, f); !errors.As(err, &ve) {
			t.Errorf("List(%+v) = %v, want a ValidationError", f, err)
		}
	}
}

func TestClampLimit(t *testing.T) {
	for in, want := range map[int]int{-1: 100, 0: 100, 1: 1, 100: 100, 1000: 1000, 1001: 1000, 1 << 40: 1000} {
		if got := clampLimit(in); got != want {
			t.Errorf("clampLimit(%d) = %d, want %d", in, got, want)
		}
	}
}
