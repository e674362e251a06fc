//go:build terrain_broken_idempotency

package sim

// replayTags keeps the build's tag in the replay command of a failing seed.
const replayTags = " -tags terrain_broken_idempotency"
