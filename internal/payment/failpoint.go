package payment

// The named crash points at the boundaries of the state machine. Builds with
// the failpoint tag can make any of them abort the operation there, as a
// process killed at that instant would; other builds compile them to nothing.
const (
	FailBeforeIntentCommit     = "before_intent_commit"
	FailAfterIntentCommit      = "after_intent_commit" // before the upstream call
	FailAfterUpstreamAnswer    = "after_upstream_answer"
	FailAfterOutcomeCommit     = "after_outcome_commit" // before the reply
	FailReconcilerBeforeQuery  = "reconciler_before_query"
	FailReconcilerBeforeCommit = "reconciler_before_commit"
)

// FailPoints lists every crash point, in the order an operation meets them.
var FailPoints = []string{
	FailBeforeIntentCommit, FailAfterIntentCommit, FailAfterUpstreamAnswer,
	FailAfterOutcomeCommit, FailReconcilerBeforeQuery, FailReconcilerBeforeCommit,
}
