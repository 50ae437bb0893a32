package payment

import "context"

// PruneKeysNow runs the reconciler's hourly key pruning at once, for tests.
func (s *Service) PruneKeysNow(ctx context.Context) { s.pruneKeys(ctx) }
