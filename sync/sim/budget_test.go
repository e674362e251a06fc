//go:build !race

package sim

// defaultSeeds is how many seeds a plain `go test ./sync/sim` runs.
const defaultSeeds = 200
