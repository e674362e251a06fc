package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Result is one measurement, as written to results.jsonl.
type Result struct {
	System     string  `json:"system"`            // "terrain" or "pouchdb"
	Backend    string  `json:"backend,omitempty"` // terrain: "badger" or "postgres"
	Config     string  `json:"config,omitempty"`  // pouchdb: "default" or "tuned"
	Workload   string  `json:"workload"`
	Link       string  `json:"link"`
	WallS      float64 `json:"wall_s"`
	RoundTrips int     `json:"round_trips"` // requests + connections
	BytesUp    int64   `json:"bytes_up"`
	BytesDown  int64   `json:"bytes_down"`
	Requests   int     `json:"requests"`    // HTTP exchanges
	Conns      int     `json:"connections"` // TCP connections opened
	// LimitS is the link's own limit for these bytes: bytes / bandwidth +
	// one round trip (slow links only).
	LimitS float64 `json:"limit_s,omitempty"`
	// ResentBytes: for a cut sync, the bytes down beyond a whole sync.
	ResentBytes     int64  `json:"resent_bytes,omitempty"`
	FirstAttemptErr string `json:"first_attempt_error,omitempty"`
	// Skipped says why there is no measurement; EstimateS is the time
	// that was predicted, when that is why.
	Skipped   string  `json:"skipped,omitempty"`
	EstimateS float64 `json:"estimate_s,omitempty"`
}

func newResult(sys System, workload string, link Link, c Counts, wall time.Duration) Result {
	r := Result{System: sys.Name(), Workload: workload, Link: link.Name, WallS: wall.Seconds(),
		RoundTrips: c.RoundTrips(), BytesUp: c.BytesUp, BytesDown: c.BytesDown, Requests: c.Exchanges, Conns: c.Conns}
	r.setVariant(sys)
	if link.Delay > 0 || link.Bandwidth > 0 {
		r.LimitS = link.Limit(c.BytesUp, c.BytesDown).Seconds()
	}
	return r
}

func (r *Result) setVariant(sys System) {
	if sys.Name() == "terrain" {
		r.Backend = sys.Variant()
	} else {
		r.Config = sys.Variant()
	}
}

func (r Result) variant() string { return r.Backend + r.Config }

func (r Result) label() string { return r.System + " " + r.variant() }

// writeJSONL writes the measurements, one JSON object a line.
func writeJSONL(path string, results []Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range results {
		if r.Skipped != "" {
			continue
		}
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// kb formats a byte count in decimal units.
func kb(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	}
}

func secs(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.3f s", s)
	case s < 100:
		return fmt.Sprintf("%.2f s", s)
	default:
		return fmt.Sprintf("%.0f s", s)
	}
}

func ratio(peer, terrain float64) string {
	if terrain <= 0 {
		if peer <= 0 {
			return "="
		}
		return "∞"
	}
	x := peer / terrain
	if x >= 10 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// printTable writes one Markdown table: per workload and link, a row per
// system. Peer rows carry the ratios peer / Terrain (on its default
// backend, Badger); Terrain rows on slow links carry the link's limit and
// Terrain's time against it.
func printTable(w io.Writer, results []Result, order []string) {
	header := []string{"workload", "link", "system", "time", "round trips (conns)", "up", "down",
		"time ×", "round trips ×", "up ×", "down ×", "vs link limit / note"}
	rows := [][]string{header}
	type key struct{ workload, link string }
	groups := map[key][]Result{}
	var keys []key
	for _, r := range results {
		k := key{r.Workload, r.Link}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	rank := func(s string, list []string) int {
		for i, x := range list {
			if x == s {
				return i
			}
		}
		return len(list)
	}
	links := []string{loopback.Name, link4G.Name, satellite.Name}
	slices.SortStableFunc(keys, func(a, b key) int {
		if wa, wb := rank(a.workload, order), rank(b.workload, order); wa != wb {
			return wa - wb
		}
		return rank(a.link, links) - rank(b.link, links)
	})
	systems := []string{"terrain badger", "terrain postgres", "pouchdb default", "pouchdb tuned"}
	for _, k := range keys {
		group := groups[k]
		slices.SortStableFunc(group, func(a, b Result) int { return rank(a.label(), systems) - rank(b.label(), systems) })
		var base *Result
		for i := range group {
			if group[i].System == "terrain" && group[i].Backend == "badger" && group[i].Skipped == "" {
				base = &group[i]
			}
		}
		for i, r := range group {
			row := make([]string, len(header))
			if i == 0 {
				row[0], row[1] = r.Workload, r.Link
			}
			row[2] = r.label()
			if r.Skipped != "" {
				row[3] = "—"
				row[11] = r.Skipped
				if base != nil && r.EstimateS > 0 && r.System == "pouchdb" {
					row[7] = "~" + ratio(r.EstimateS, base.WallS)
				}
				rows = append(rows, row)
				continue
			}
			row[3] = secs(r.WallS)
			row[4] = fmt.Sprintf("%d (%d)", r.RoundTrips, r.Conns)
			row[5], row[6] = kb(r.BytesUp), kb(r.BytesDown)
			var notes []string
			if r.System == "pouchdb" && base != nil {
				row[7] = ratio(r.WallS, base.WallS)
				row[8] = ratio(float64(r.RoundTrips), float64(base.RoundTrips))
				row[9] = ratio(float64(r.BytesUp), float64(base.BytesUp))
				row[10] = ratio(float64(r.BytesDown), float64(base.BytesDown))
			}
			if r.System == "terrain" && r.LimitS > 0 {
				notes = append(notes, fmt.Sprintf("limit %s, ×%.2f", secs(r.LimitS), r.WallS/r.LimitS))
			}
			if r.ResentBytes != 0 {
				notes = append(notes, "re-sent "+kb(r.ResentBytes))
			}
			row[11] = strings.Join(notes, "; ")
			rows = append(rows, row)
		}
	}
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for n, row := range rows {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range row {
			pad := widths[i] - len([]rune(c))
			if i >= 3 && i <= 10 {
				b.WriteString(" " + strings.Repeat(" ", pad) + c + " |")
			} else {
				b.WriteString(" " + c + strings.Repeat(" ", pad) + " |")
			}
		}
		fmt.Fprintln(w, b.String())
		if n == 0 {
			b.Reset()
			b.WriteString("|")
			for i := range row {
				if i >= 3 && i <= 10 {
					b.WriteString(strings.Repeat("-", widths[i]+1) + ":|")
				} else {
					b.WriteString(strings.Repeat("-", widths[i]+2) + "|")
				}
			}
			fmt.Fprintln(w, b.String())
		}
	}
}
