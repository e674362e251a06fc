//go:build !terrain_broken_idempotency

package sim

// replayTags is the build tags a replay needs: none for a normal build.
const replayTags = ""
