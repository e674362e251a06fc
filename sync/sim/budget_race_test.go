//go:build race

package sim

// defaultSeeds is fewer under the race detector, which `make test` uses:
// the package must stay within about a minute on two busy cores.
const defaultSeeds = 20
