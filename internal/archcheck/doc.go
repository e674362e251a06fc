// Package archcheck holds no code: its test reads every Go file of the
// module and fails when an import crosses the architecture's arrows
// (docs/architecture.md), in the manner of Go's own go/build/deps_test.go.
package archcheck
