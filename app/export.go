package app

import (
	"io"

	"leconsortium.coop/terrain/csvio"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

// The Settings exports are csvio's, the same bytes `terrain export` writes
// for the same profile and language (docs/csv.md).

// exportVisits writes every visit on this device.
func exportVisits(w io.Writer, st *store.Store, loc *locales.Localizer) (int, error) {
	return csvio.Export(w, csvio.Visits, loc, st)
}

// exportFollowUps writes every follow-up on this device.
func exportFollowUps(w io.Writer, st *store.Store, loc *locales.Localizer) (int, error) {
	return csvio.Export(w, csvio.FollowUps, loc, st)
}
