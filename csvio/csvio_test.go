package csvio

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

var today = domain.NewDate(2025, 6, 16)

func TestReadFrenchWithBOMAndSemicolons(t *testing.T) {
	in := "\ufeffNom;Forme juridique;Région;Municipalité;Code postal;Téléphone;Services;Membre depuis;Statut;Notes\r\n" +
		"Coopérative de solidarité de l'Île;coopérative de solidarité;11;Îles-de-la-Madeleine;g4t 1a1;418 555-0123;Ressources humaines|legal;2019-04-01;actif;\"Rencontre en mai;\r\nsuivi en juin\"\r\n" +
		"\r\n" +
		"Mutuelle de Montréal;Mutuelle;Montréal;Montréal;H2X 1Y4;;;;ancienne;=1+1\r\n"
	ms, err := ReadMembers(strings.NewReader(in), today)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("%d members, want 2", len(ms))
	}
	m := ms[0]
	if m.Name != "Coopérative de solidarité de l'Île" || m.LegalForm != domain.SolidarityCoop || m.Region != "11" ||
		m.Municipality != "Îles-de-la-Madeleine" || m.PostalCode != "G4T 1A1" || m.Phone != "418 555-0123" ||
		!reflect.DeepEqual(m.Services, []string{"hr", "legal"}) || m.MemberSince != domain.NewDate(2019, 4, 1) ||
		m.Status != domain.MemberActive || m.Notes != "Rencontre en mai;\nsuivi en juin" || domain.CheckID(m.ID) != nil {
		t.Errorf("first member = %+v", m)
	}
	if m := ms[1]; m.Region != "06" || m.LegalForm != domain.Mutual || m.Status != domain.MemberFormer || m.Notes != "=1+1" {
		t.Errorf("second member = %+v", m)
	}
}

func TestReadEnglishCommas(t *testing.T) {
	in := "name,legal_form,region,municipality,email,contact_name\n" +
		"Eastern Townships Worker Co-op,worker co-operative,Eastern Townships,Sherbrooke,INFO@Example.org,Jean Tremblay\n" +
		"Gaspé Federation,federation,11 - Gaspésie–Îles-de-la-Madeleine,Gaspé,,\n"
	ms, err := ReadMembers(strings.NewReader(in), today)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Region != "05" || ms[0].LegalForm != domain.WorkerCoop || ms[0].Email != "info@example.org" || ms[1].Region != "11" {
		t.Errorf("members = %+v", ms)
	}
}

func TestReadReportsEveryLine(t *testing.T) {
	in := "nom;forme_juridique;région;municipalité;code_postal;services\n" +
		"Bonne;mutual;09;Sept-Îles;G4R 1A1;hr\n" +
		"Mauvais code postal;mutual;09;Sept-Îles;123;\n" +
		"Région inconnue;mutual;42;Nulle part;;\n" +
		"\"Note\nsur deux lignes\";mutual;09;Sept-Îles;;cuisine\n" +
		";mutual;09;Sept-Îles;;\n" +
		"Trop;de;cellules;ici;;;;\n"
	ms, err := ReadMembers(strings.NewReader(in), today)
	var ce *Error
	if !errors.As(err, &ce) || ms != nil {
		t.Fatalf("ReadMembers = %v, %v; want an *Error and no member", ms, err)
	}
	want := []LineError{
		{Line: 3, Column: "code_postal", Message: "not a Canadian postal code (A1A 1A1)"},
		{Line: 4, Column: "région", Message: `unknown region "42" (a code from 01 to 17, or its name)`},
		{Line: 5, Column: "services", Message: `unknown service "cuisine"`},
		{Line: 7, Column: "nom", Message: "required"},
		{Line: 8, Message: "8 cells but the header names 6 columns"},
	}
	if !reflect.DeepEqual(ce.Lines, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", ce, (&Error{Lines: want}))
	}
	if !strings.Contains(err.Error(), "line 3, column \"code_postal\"") {
		t.Errorf("message %q does not say where", err)
	}
}

func TestReadHeaderProblems(t *testing.T) {
	tests := map[string]string{
		"":                          "empty file",
		"nom;région;municipalité\n": `missing column "Forme juridique" (Legal form)`,
		"nom;forme_juridique;région;municipalité;couleur\n": `column "couleur": unknown column`,
		"nom;forme_juridique;région;municipalité;name\n":    "column given twice",
		"nom;forme_juridique;région;;municipalité\n":        "column 4 has no name",
		"nom;forme\xe9;r\xe9gion\n":                         "line 1: not UTF-8 text",
		"nom,forme_juridique,region,municipality\n\"open":   "line 2: unreadable line",
	}
	for in, want := range tests {
		_, err := ReadMembers(strings.NewReader(in), today)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadMembers(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestReadDuplicateIDs(t *testing.T) {
	id := domain.NewID()
	in := "id,name,legal_form,region,municipality\n" + id + ",A,mutual,09,Baie-Comeau\n" + id + ",B,mutual,09,Baie-Comeau\n"
	_, err := ReadMembers(strings.NewReader(in), today)
	if err == nil || !strings.Contains(err.Error(), "line 3, column \"id\": same id as line 2") {
		t.Errorf("duplicate ids: %v", err)
	}
}

func TestMembersRoundTrip(t *testing.T) {
	ms := []domain.Member{
		{ID: domain.NewID(), Name: "Coopérative « L'Œuvre » de Chibougamau", LegalForm: domain.ProducerCoop, NEQ: "1234567890",
			Region: "10", Municipality: "Chibougamau", Address: "12, 3e Rue", PostalCode: "G8P 1N1", Phone: "418 555-0100 poste 12",
			Email: "info@example.org", Website: "https://coop.example.org", ContactName: "Marie-Ève Côté", ContactRole: "directrice générale",
			ContactPhone: "418 555-0101", ContactEmail: "me@example.org", Services: []string{"accounting", "web"},
			MemberSince: domain.NewDate(2001, 2, 3), Status: domain.MemberSuspended, Notes: "Ligne 1\nLigne 2; \"citée\", =SOMME(A1)"},
		{ID: domain.NewID(), Name: "Mutuelle", LegalForm: domain.Mutual, Region: "06", Municipality: "Montréal", Status: domain.MemberActive},
	}
	for _, lang := range []string{"fr", "en"} {
		var buf bytes.Buffer
		w, err := NewMemberWriter(&buf, NewNames(locales.New(lang)))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if err := w.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.HasPrefix(out, "\ufeff") || !strings.Contains(out, "Marie-Ève Côté") || !strings.Contains(out, "'=SOMME") && !strings.Contains(out, "Ligne 1") {
			t.Errorf("%s export:\n%s", lang, out)
		}
		if strings.Contains(out, `"=SOMME`) || strings.Contains(out, ",=") || strings.Contains(out, ";=") {
			t.Errorf("%s export leaves a formula live:\n%s", lang, out)
		}
		back, err := ReadMembers(strings.NewReader(out), today)
		if err != nil {
			t.Fatalf("%s: reading the export back: %v", lang, err)
		}
		if !reflect.DeepEqual(back, ms) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v", lang, back, ms)
		}
	}
}

// memory is a Source of a few records, as a store or the server gives them.
type memory struct {
	members   []domain.Member
	visits    []domain.Visit
	followUps []domain.FollowUp
	coords    []domain.Coordinator
	services  []domain.Service
}

func each[T any](vs []T, fn func(T) error) error {
	for _, v := range vs {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

func (m memory) EachMember(fn func(domain.Member) error) error     { return each(m.members, fn) }
func (m memory) EachVisit(fn func(domain.Visit) error) error       { return each(m.visits, fn) }
func (m memory) EachFollowUp(fn func(domain.FollowUp) error) error { return each(m.followUps, fn) }
func (m memory) Coordinators() ([]domain.Coordinator, error)       { return m.coords, nil }
func (m memory) Services() ([]domain.Service, error)               { return m.services, nil }

func sample() memory {
	return memory{
		members: []domain.Member{{ID: "m1", Name: "Coop Île", Municipality: "Cap-aux-Meules", Region: "11",
			LegalForm: domain.SolidarityCoop, Status: domain.MemberActive, Services: []string{"hr"}}},
		visits: []domain.Visit{{ID: "v1", Date: today, MemberID: "m1", CoordinatorID: "k1", DurationMinutes: 90, Mode: domain.OnSite,
			ServicesDiscussed: []string{"hr", "legal"}, Notes: "Été; « chaud »", NextVisit: domain.NewDate(2025, 9, 1)}},
		followUps: []domain.FollowUp{{ID: "f1", MemberID: "m1", VisitID: "v1", ServiceID: "legal", Description: "-5 % de frais",
			Due: today, Status: domain.FollowUpOpen, AssignedTo: "Ana"}},
		coords: []domain.Coordinator{{ID: "k1", Name: "Ana Tremblay"}},
	}
}

func TestExports(t *testing.T) {
	tests := []struct {
		kind Kind
		lang string
		want string
	}{
		{Visits, "fr", "\ufeffDate de la visite;Membre;Municipalité;Région;Personne coordonnatrice;Mode de visite;Durée (minutes);" +
			"Personnes rencontrées;Services abordés;Notes;Besoins relevés;Prochaine visite;Identifiant du membre;" +
			"Identifiant de la personne coordonnatrice;Identifiant\r\n" +
			"2025-06-16;Coop Île;Cap-aux-Meules;11 - Gaspésie–Îles-de-la-Madeleine;Ana Tremblay;Sur place;90;;" +
			"Ressources humaines, Services juridiques;\"Été; « chaud »\";;2025-09-01;m1;k1;v1\r\n"},
		{Visits, "en", "\ufeffVisit date,Member,Municipality,Region,Coordinator,Visit mode,Duration (minutes)," +
			"People met,Services discussed,Notes,Needs identified,Next visit,Member identifier,Coordinator identifier,Identifier\r\n" +
			"2025-06-16,Coop Île,Cap-aux-Meules,11 - Gaspésie–Îles-de-la-Madeleine,Ana Tremblay,On site,90,," +
			"\"Human resources, Legal services\",Été; « chaud »,,2025-09-01,m1,k1,v1\r\n"},
		{FollowUps, "en", "\ufeffDue date,Member,Municipality,Region,Service,Description,Status,Assigned to," +
			"Done on,Done by,Member identifier,Visit identifier,Identifier\r\n" +
			"2025-06-16,Coop Île,Cap-aux-Meules,11 - Gaspésie–Îles-de-la-Madeleine,Legal services,'-5 % de frais,To do,Ana,,,m1,v1,f1\r\n"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"-"+tt.lang, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := Export(&buf, tt.kind, locales.New(tt.lang), sample())
			if err != nil || n != 1 {
				t.Fatalf("Export = %d, %v", n, err)
			}
			if buf.String() != tt.want {
				t.Errorf("CSV:\n%q\nwant\n%q", buf.String(), tt.want)
			}
		})
	}
}

// TestMembersExportReadsBack: the members export, with its localised
// labels and "11 - Gaspésie…" regions, is a valid import.
func TestMembersExportReadsBack(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		var buf bytes.Buffer
		src := sample()
		src.members[0].ID = domain.NewID()
		if _, err := Export(&buf, Members, locales.New(lang), src); err != nil {
			t.Fatal(err)
		}
		back, err := ReadMembers(&buf, today)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if !reflect.DeepEqual(back, src.members) {
			t.Errorf("%s: read back %+v, want %+v", lang, back, src.members)
		}
	}
}

// TestHeadersAreUnambiguous: no header a file may use names two columns.
func TestHeadersAreUnambiguous(t *testing.T) {
	seen := map[string]string{}
	for _, c := range memberColumns() {
		for _, h := range c.headers() {
			if other, ok := seen[headerKey(h)]; ok && other != c.key {
				t.Errorf("header %q names both %s and %s", h, other, c.key)
			}
			seen[headerKey(h)] = c.key
		}
	}
}

// TestExportDropsInvisible: a value stored before text was cleaned on the
// way in reaches a CSV export without controls or bidi overrides.
func TestExportDropsInvisible(t *testing.T) {
	m := domain.Member{ID: domain.NewID(), Name: "\u202eLa Ruche\u200b\x1b[2J\u0085", LegalForm: domain.Mutual, Region: "06",
		Municipality: "Montréal", Status: domain.MemberActive, Notes: "Ligne 1\n\tLigne 2\ufffe"}
	var buf bytes.Buffer
	if _, err := Export(&buf, Members, locales.New("fr"), memory{members: []domain.Member{m}}); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimPrefix(buf.String(), "\ufeff")
	if strings.ContainsFunc(out, func(r rune) bool {
		return domain.Invisible(r) || domain.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
	}) {
		t.Errorf("export holds a control or invisible character: %q", out)
	}
	if !strings.Contains(out, "La Ruche[2J") || !strings.Contains(out, "\tLigne 2\"") {
		t.Errorf("export lost the visible text: %q", out)
	}
}
