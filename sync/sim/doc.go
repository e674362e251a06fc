// Package sim is a deterministic, seeded simulation of the whole sync, in
// the spirit of FoundationDB's simulator and TigerBeetle's VOPR. It holds
// tests only: nothing imports it.
//
// One seed drives everything: a few devices (real stores and engines, each
// with its own clock, some wrong by up to a year), the real central handler
// over the embedded Badger backend, and a network in between that drops,
// delays, duplicates and reorders requests and replies, cuts bodies short,
// answers 503 and restarts the server. Devices go offline for long periods,
// record visits, edit the same members and follow-ups, sign out and in.
// At the end the network heals and every device syncs; then every replica
// must equal the server, every visit a device's store acknowledged must be
// on the server exactly once, and every value a concurrent edit overwrote
// must be kept in a conflict record.
//
// The whole seed runs on one goroutine: engines are driven with SyncOnce,
// the network is an http.RoundTripper that calls the server's handler
// directly, and time is a simulated clock that only the simulation moves.
// A seed therefore replays identically:
//
//	go test ./sync/sim -run TestSimulation -seed=N -v
//
// `make soak SOAK_SECONDS=N` runs new seeds for N seconds.
package sim
