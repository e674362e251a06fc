package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"leconsortium.coop/terrain/cli"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

var regionCell = regexp.MustCompile(`^(0[1-9]|1[0-7]) - \pL`)

// TestExportSameAsCLI: the visits and follow-ups CSV that Settings exports
// and the ones `terrain export` writes from the same profile are the same
// bytes, in French and in English: one export, one format.
func TestExportSameAsCLI(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(t.TempDir(), "profile")
	st, err := store.Create(dir, []byte(testPassphrase), store.Options{Logger: quiet, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := seedDemo(st, domain.DateOf(fixedNow())); err != nil {
		t.Fatal(err)
	}
	type export struct {
		kind string
		app  func(io.Writer, *store.Store, *locales.Localizer) (int, error)
	}
	exports := []export{{"visits", exportVisits}, {"followups", exportFollowUps}}
	fromApp := map[string][]byte{}
	for _, lang := range locales.Supported() {
		for _, e := range exports {
			var buf bytes.Buffer
			if _, err := e.app(&buf, st, locales.New(lang)); err != nil {
				t.Fatalf("%s %s: %v", lang, e.kind, err)
			}
			fromApp[lang+e.kind] = buf.Bytes()
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// A region stays text in a spreadsheet: "03 - Capitale-Nationale", never
	// a bare "03" that would be read as the number 3.
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(fromApp["frvisits"], []byte("\ufeff"))))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err == nil && len(rows) < 2 {
		err = errors.New("no visit")
	}
	if err != nil {
		t.Fatal(err)
	}
	region := slices.Index(rows[0], tr("fr", "field.region"))
	for _, row := range rows[1:] {
		if !regionCell.MatchString(row[region]) {
			t.Fatalf("region cell %q is not « NN - Nom »", row[region])
		}
	}
	for _, lang := range locales.Supported() {
		for _, e := range exports {
			out := filepath.Join(t.TempDir(), e.kind+".csv")
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), []string{"--profile", dir, "export", e.kind, "--out", out}, cli.Env{
				Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
				Getenv: func(k string) string {
					return map[string]string{"TERRAIN_PASSPHRASE": testPassphrase, "TERRAIN_LANG": lang}[k]
				},
				Store: store.Options{Logger: quiet, GCInterval: -1},
			})
			if code != 0 {
				t.Fatalf("terrain export %s (%s): %d\n%s", e.kind, lang, code, stderr.String())
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want := fromApp[lang+e.kind]
			if !bytes.Equal(got, want) {
				gl, wl := strings.SplitN(string(got), "\n", 3), strings.SplitN(string(want), "\n", 3)
				t.Errorf("%s %s: terrain export differs from the app's export (%d and %d bytes)\nCLI: %q\napp: %q",
					lang, e.kind, len(got), len(want), gl[:min(2, len(gl))], wl[:min(2, len(wl))])
			}
		}
	}
}
