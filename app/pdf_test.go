package app

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// pdfText is the text of a PDF as pdftotext (poppler-utils) reads it, with
// runs of white space made one space.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed; make deps installs it")
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.FieldsFunc(string(out), func(r rune) bool {
		return r == ' ' || r == '\n' || r == '\f' || r == '\u00a0' || r == '\u202f'
	}), " ")
}

// TestPDFFromMemberScreen: the member screen offers the member sheet and,
// beside each visit, its report; each asks where to save, and the file
// written there is the document, in the coordinator's language.
func TestPDFFromMemberScreen(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			id := u.showcaseMember()
			u.main.showMember(id)
			m, err := u.st.Member(id)
			if err != nil {
				t.Fatal(err)
			}
			visits, err := u.st.VisitsOfMember(id, 0)
			if err != nil || len(visits) == 0 {
				t.Fatalf("showcase member without visits: %v", err)
			}
			reports := 0
			for _, o := range visible(w) {
				if b, ok := o.(*widget.Button); ok && b.Text == tr(lang, "visit.pdf_report") {
					reports++
				}
			}
			if reports != min(len(visits), maxHistory) {
				t.Errorf("%d report buttons for %d visits", reports, len(visits))
			}
			test.Tap(button(t, w, tr(lang, "member.pdf_sheet")))
			if w.Canvas().Overlays().Top() == nil {
				t.Fatal("the PDF sheet button opened no save dialog")
			}
			w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())

			// What the dialog hands over once a file is chosen.
			path := filepath.Join(t.TempDir(), tr(lang, "pdf.file.member", map[string]any{"Name": fileSafe(m.Name)}))
			wc, err := storage.Writer(storage.NewFileURI(path))
			if err != nil {
				t.Fatal(err)
			}
			u.writePDFTo(wc, func(out io.Writer) error { return u.writeMemberSheet(out, id) })
			saved := tr(lang, "pdf.saved", map[string]any{"Path": path})
			waitFor(t, func() bool { return hasText(w, saved) })
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			text := pdfText(t, data)
			for _, want := range []string{tr(lang, "pdf.member.title"), m.Name, tr(lang, "pdf.consortium"), m.Municipality} {
				if !strings.Contains(text, want) {
					t.Errorf("the sheet lacks %q:\n%s", want, text)
				}
			}

			var buf bytes.Buffer
			if err := u.writeVisitReport(&buf, id, visits[0].ID); err != nil {
				t.Fatal(err)
			}
			text = pdfText(t, buf.Bytes())
			for _, want := range []string{tr(lang, "pdf.visit.title"), m.Name, u.loc.Date(visits[0].Date), u.loc.VisitMode(visits[0].Mode)} {
				if !strings.Contains(text, want) {
					t.Errorf("the visit report lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

func TestFileSafe(t *testing.T) {
	for in, want := range map[string]string{
		"Coop « L’Œuvre »":       "Coop « L’Œuvre »",
		"A/B\\C: D*E?\"F\"<G>|H": "A-B-C- D-E--F--G--H",
		" .Coop. ":               "Coop",
		"Ligne\nsuivante":        "Ligne-suivante",
		strings.Repeat("é", 70):  strings.Repeat("é", 60),
	} {
		if got := fileSafe(in); got != want {
			t.Errorf("fileSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
