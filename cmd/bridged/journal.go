package main

import (
	"context"
	"io"

	"github.com/bridgedpos/bridged/internal/opscli"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/server"
	"github.com/bridgedpos/bridged/internal/store"
)

// journalAdmin is the journal's upkeep the daemon offers on its API
// (/v1/admin/backup, /v1/admin/compact): a backup while payments go on, and
// a compaction with every terminal held (payment.Service.Hold).
func journalAdmin(st *store.Store, svc *payment.Service) server.Journal {
	return server.Journal{
		Backup: func(ctx context.Context, w io.Writer) error {
			_, err := st.Backup(ctx, w)
			return err
		},
		Compact: func(ctx context.Context, force bool) (server.CompactResult, error) {
			return opscli.CompactJournal(ctx, st, force, svc.Hold)
		},
	}
}
