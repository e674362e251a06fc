//go:build terrain_broken_idempotency

package central

// skipIdempotency makes the server apply mutations it has already applied,
// as if it did not remember each device's last one. Only the build tag
// terrain_broken_idempotency selects this file: it exists to prove that the
// sync simulation (sync/sim) fails on such a server. Never ship it.
const skipIdempotency = true
