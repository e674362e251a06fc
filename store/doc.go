// Package store is Terrain's local database: members, visits, follow-ups,
// the services catalog, coordinators, settings, the outbox of local changes
// and the sync state, in an encrypted Badger v4 directory.
//
// A profile directory holds two things:
//
//	key.json  the random master key, sealed with AES-256-GCM under a key
//	          derived from the coordinator's passphrase with Argon2id
//	db/       the Badger database, encrypted with the master key
//
// Every local change is written with its outbox mutation, its per-field
// versions and the persisted hybrid logical clock in one synchronous
// transaction: when a Save method returns nil, the change and the fact that
// it must be pushed survive a crash or a power cut together.
//
// Members and follow-ups are kept under "m/<id>" and "f/<id>", visits
// clustered by member under "v/<member>/<date desc>/<id>" (so a history is
// one short range scan), each as an envelope holding the domain value as
// JSON, the version of each field and a tombstone stamp. Keys under "x/"
// locate visits by id, list follow-ups by status or member in due order,
// and hold the small per-member summaries that Open loads into the
// in-memory index that search runs over. Every key layout change is a
// schema migration (schema.go).
//
// The Badger options are a laptop memory profile (see badgerOptions);
// BenchmarkRSS500k measures the resident memory it gives with 20,000
// members and 500,000 visits.
package store
