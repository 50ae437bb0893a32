//go:build contract

package main

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/bridgedpos/bridged/internal/store"
)

// journalUpkeep exercises /v1/admin/backup and /v1/admin/compact on the
// contract's daemon: the backup restores into a journal that verifies, and
// holds the payments the daemon acknowledged; compaction runs when forced
// and declines when the file has little free.
func (c *apiContract) journalUpkeep() {
	c.t.Helper()
	r := c.call(docAccepts, "GET", "/v1/admin/backup", "", c.operator())
	expect(c.t, r, 200)
	if r.header.Get("Content-Type") != "application/x-tar" {
		c.t.Fatalf("backup content type %q", r.header.Get("Content-Type"))
	}
	dir := filepath.Join(c.t.TempDir(), "restored")
	if err := store.Restore(strings.NewReader(r.raw), dir); err != nil {
		c.t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.VerifyArchives(context.Background())
	if err != nil || rep.Head == 0 {
		c.t.Fatalf("the backup's journal: %+v, %v", rep, err)
	}
	// The ECR's key may neither take the journal nor hold the lanes.
	expect(c.t, c.call(docAccepts, "GET", "/v1/admin/backup", ""), 403, "code", "forbidden_scope")
	expect(c.t, c.call(docAccepts, "POST", "/v1/admin/compact", ""), 403, "code", "forbidden_scope")
	expect(c.t, c.call(docAccepts, "POST", "/v1/admin/compact?force=true", "", c.operator()), 200, "compacted", "true")
	expect(c.t, c.call(docAccepts, "POST", "/v1/admin/compact", "", c.operator()), 200, "compacted", "false")
	expect(c.t, c.call(docRefuses, "POST", "/v1/admin/compact?force=maybe", "", c.operator()), 400, "code", "invalid_request")
}

// operator is the Authorization header of the operator's key (scopes read
// and operate).
func (c *apiContract) operator() string { return "Authorization: Bearer " + c.e.ops }
