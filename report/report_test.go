package report

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

var made = time.Date(2026, 3, 13, 15, 4, 0, 0, time.UTC)

func sampleMember() domain.Member {
	return domain.Member{ID: domain.NewID(), Name: "Coopérative « L’Œuvre » de Saint-Édouard", LegalForm: domain.SolidarityCoop,
		NEQ: "1234567890", Region: "12", Municipality: "Saint-Édouard-de-Lotbinière", Address: "12, rue de l’Église",
		PostalCode: "G0S 1Y0", Phone: "418 555-0100", Email: "info@oeuvre.example", ContactName: "Hélène Côté",
		ContactRole: "directrice générale", Services: []string{"accounting", "hr"}, MemberSince: domain.NewDate(2011, 5, 2),
		Status: domain.MemberActive, Notes: "Ouverte le samedi ; « café » à l’étage."}
}

func sampleVisit(m domain.Member) domain.Visit {
	return domain.Visit{ID: domain.NewID(), MemberID: m.ID, CoordinatorID: "k1", Date: domain.NewDate(2026, 3, 12),
		DurationMinutes: 90, Mode: domain.OnSite, PeopleMet: "Hélène Côté (directrice), François Bélanger",
		ServicesDiscussed: []string{"legal", "hr"}, Notes: "Révision des règlements généraux : l’assemblée approuve « en principe ».",
		Needs: "Gabarit de politique salariale.", NextVisit: domain.NewDate(2026, 6, 1)}
}

// text renders pdf to text with pdftotext (poppler-utils), with runs of
// white space, no-break spaces included, made one space: the words and
// their accents are what is checked, not where lines wrap.
func text(t *testing.T, pdf []byte) string {
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
		return r == ' ' || r == '\n' || r == '\t' || r == '\f' || r == '\u00a0' || r == '\u202f'
	}), " ")
}

// embedsFonts checks with pdffonts that every font of the PDF is embedded.
func embedsFonts(t *testing.T, pdf []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdffonts", path).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("pdffonts lists no font:\n%s", out)
	}
	for _, l := range lines[2:] {
		// name type encoding emb sub uni object: Noto Sans, embedded.
		f := strings.Fields(l)
		if len(f) < 7 || !strings.Contains(strings.ToLower(f[0]), "notosans") || f[len(f)-5] != "yes" {
			t.Errorf("font not embedded: %s", l)
		}
	}
}

func TestVisitReport(t *testing.T) {
	m := sampleMember()
	v := sampleVisit(m)
	fus := []domain.FollowUp{{ID: domain.NewID(), MemberID: m.ID, VisitID: v.ID, ServiceID: "legal",
		Description: "Envoyer le modèle de règlement « type »", Due: domain.NewDate(2026, 4, 1), Status: domain.FollowUpOpen, AssignedTo: "Ana Tremblay"}}
	want := map[string][]string{
		"fr": {"Consortium québécois de services partagés pour les entreprises collectives", "Compte rendu de visite",
			"Coopérative « L’Œuvre » de Saint-Édouard", "Coopérative de solidarité · Saint-Édouard-de-Lotbinière · Chaudière-Appalaches",
			"La visite", "Date de la visite 12 mars 2026", "Mode de visite Sur place", "Durée 90 minutes",
			"Personne coordonnatrice Ana Tremblay", "Hélène Côté (directrice), François Bélanger",
			"Services abordés Services juridiques, Ressources humaines", "Prochaine visite 1er juin 2026",
			"Révision des règlements généraux : l’assemblée approuve « en principe ».", "Besoins relevés Gabarit de politique salariale.",
			"Suivis convenus", "Envoyer le modèle de règlement « type »", "Services juridiques · échéance le 1er avril 2026 · À faire · responsable : Ana Tremblay",
			"Le membre", "12, rue de l’Église, Saint-Édouard-de-Lotbinière, G0S 1Y0", "Préparé avec Terrain le 13 mars 2026 · page 1 de 1"},
		"en": {"Québec shared-services consortium for collective enterprises", "Visit report",
			"Coopérative « L’Œuvre » de Saint-Édouard", "Solidarity co-operative · Saint-Édouard-de-Lotbinière · Chaudière-Appalaches",
			"The visit", "Visit date March 12, 2026", "Visit mode On site", "Duration 90 minutes", "Coordinator Ana Tremblay",
			"Services discussed Legal services, Human resources", "Agreed follow-ups", "due April 1, 2026 · To do · assigned to Ana Tremblay",
			"Révision des règlements généraux : l’assemblée approuve « en principe ».", "The member",
			"Prepared with Terrain on March 13, 2026 · page 1 of 1"},
	}
	for lang, phrases := range want {
		t.Run(lang, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteVisit(&buf, locales.New(lang), Visit{Member: m, Visit: v, FollowUps: fus, Coordinator: "Ana Tremblay", Made: made})
			if err != nil {
				t.Fatal(err)
			}
			got := text(t, buf.Bytes())
			for _, p := range phrases {
				if !strings.Contains(got, p) {
					t.Errorf("the %s report lacks %q; its text:\n%s", lang, p, got)
				}
			}
			embedsFonts(t, buf.Bytes())
		})
	}
}

func TestMemberSheet(t *testing.T) {
	m := sampleMember()
	var visits []domain.Visit
	for i := range 7 {
		v := sampleVisit(m)
		v.Date = domain.NewDate(2026, 3, 12-i)
		visits = append(visits, v)
	}
	open := []domain.FollowUp{{ID: domain.NewID(), MemberID: m.ID, Description: "Rappeler « Hélène »", Status: domain.FollowUpInProgress,
		Due: domain.NewDate(2026, 3, 1)}}
	want := map[string][]string{
		"fr": {"Fiche du membre", "Coopérative « L’Œuvre » de Saint-Édouard", "Profil", "NEQ 1234567890",
			"Personne-ressource Hélène Côté, directrice générale", "Services utilisés Comptabilité, Ressources humaines",
			"Membre depuis 2 mai 2011", "Ouverte le samedi ; « café » à l’étage.", "Suivis ouverts (1)", "Rappeler « Hélène » En retard depuis le 1er mars 2026 · En cours",
			"Dernières visites", "12 mars 2026 · Sur place · 90 minutes · Ana Tremblay", "8 mars 2026",
			"… et 2 visites plus anciennes", "page 1 de"},
		"en": {"Member sheet", "Profile", "Contact person Hélène Côté, directrice générale", "Services in use Accounting, Human resources",
			"Open follow-ups (1)", "Overdue since March 1, 2026 · In progress", "Recent visits", "March 12, 2026 · On site · 90 minutes · Ana Tremblay", "… and 2 older visits", "page 1 of"},
	}
	for lang, phrases := range want {
		t.Run(lang, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteMember(&buf, locales.New(lang), Member{Member: m, Visits: visits, FollowUps: open,
				Coordinators: map[string]string{"k1": "Ana Tremblay"}, Made: made})
			if err != nil {
				t.Fatal(err)
			}
			got := text(t, buf.Bytes())
			for _, p := range phrases {
				if !strings.Contains(got, p) {
					t.Errorf("the %s sheet lacks %q; its text:\n%s", lang, p, got)
				}
			}
			if strings.Contains(got, "7 mars 2026") || strings.Contains(got, "March 7, 2026") {
				t.Errorf("the %s sheet shows more than %d visits", lang, RecentVisits)
			}
		})
	}
}

// TestSameInputSameBytes: a report made twice from the same data is the
// same file, which keeps the documents reproducible.
func TestSameInputSameBytes(t *testing.T) {
	m := sampleMember()
	r := Visit{Member: m, Visit: sampleVisit(m), Coordinator: "Ana", Made: made}
	var a, b bytes.Buffer
	if err := WriteVisit(&a, locales.New("fr"), r); err != nil {
		t.Fatal(err)
	}
	if err := WriteVisit(&b, locales.New("fr"), r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same report differ")
	}
}

// TestLongVisitBreaksPages: notes longer than a page flow onto the next
// pages, every page numbered, nothing lost.
func TestLongVisitBreaksPages(t *testing.T) {
	m := sampleMember()
	v := sampleVisit(m)
	var b strings.Builder
	for i := range 120 {
		fmt.Fprintf(&b, "Ligne %d de la note, avec « guillemets » et l’apostrophe.\n", i+1)
	}
	v.Notes = b.String()
	var buf bytes.Buffer
	if err := WriteVisit(&buf, locales.New("fr"), Visit{Member: m, Visit: v, Coordinator: "Ana", Made: made}); err != nil {
		t.Fatal(err)
	}
	got := text(t, buf.Bytes())
	for _, want := range []string{"Ligne 1 de la note", "Ligne 120 de la note, avec « guillemets » et l’apostrophe.", "Le membre"} {
		if !strings.Contains(got, want) {
			t.Errorf("the long report lacks %q:\n%s", want, got)
		}
	}
	// 120 lines of notes at 5.2 mm: more than two pages of Letter.
	pages := regexp.MustCompile(`page (\d+) de (\d+)`).FindAllStringSubmatch(got, -1)
	if len(pages) < 3 {
		t.Fatalf("%d numbered pages, want at least 3", len(pages))
	}
	for i, p := range pages {
		if p[1] != strconv.Itoa(i+1) || p[2] != strconv.Itoa(len(pages)) {
			t.Errorf("footer %q on page %d of %d", p[0], i+1, len(pages))
		}
	}
}
