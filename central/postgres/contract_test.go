package postgres_test

import (
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/contract"
)

// TestContract runs the one suite every backend passes, each sub-test over a
// schema of its own.
func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T) central.Backend { return open(t) })
}
