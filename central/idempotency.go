//go:build !terrain_broken_idempotency

package central

// skipIdempotency is false in every real build. The build tag
// terrain_broken_idempotency turns it on (broken_idempotency.go) to prove
// that the sync simulation (sync/sim) catches a server that applies a
// retried or late duplicate push a second time.
const skipIdempotency = false
