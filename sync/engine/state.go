// Package engine runs the app side of sync: one background loop that pushes
// the store's outbox, pulls the server's changes page by page, and tells the
// user interface where it stands.
package engine

import "time"

// State is what the engine publishes to its subscribers after every step.
// It is a value: subscribers may keep it.
type State struct {
	// SignedIn is false until the coordinator signs in on this device.
	SignedIn bool
	// Online is the result of the last probe or request.
	Online bool
	// Syncing is true from the start of a sync to its end.
	Syncing bool
	// PagesDone and RecordsDone count this sync's pulled pages and records;
	// RecordsTotal is RecordsDone plus what the server said remains, so a
	// progress bar can show RecordsDone/RecordsTotal.
	PagesDone    int
	RecordsDone  int
	RecordsTotal int
	// LastSuccess is when the last sync completed; zero if never.
	LastSuccess time.Time
	// LastError is why the last sync failed, nil after a success. Use
	// MessageID to show it.
	LastError error
	// Pending counts outbox mutations not yet acknowledged by the server.
	Pending int
	// Conflicts counts unresolved conflicts; Quarantined counts rejected
	// mutations waiting for the coordinator.
	Conflicts   int
	Quarantined int
}
