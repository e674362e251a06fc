package domain_test

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
)

var today = domain.NewDate(2025, 6, 15)

const (
	memberID = "0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7d"
	visitID  = "0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7e"
	coordID  = "0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7f"
	otherID  = "0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c80"
)

// wantFields checks that err is a validation error naming exactly the given
// fields with the given codes (and Max when not zero).
func wantFields(t *testing.T, name string, err error, want ...domain.FieldError) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
		return
	}
	if !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("%s: errors.Is(%v, ErrInvalid) is false", name, err)
		return
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("%s: %v is not a *ValidationError", name, err)
		return
	}
	got := slices.Clone(ve.Fields)
	sort.Slice(got, func(i, j int) bool { return got[i].Field < got[j].Field })
	sort.Slice(want, func(i, j int) bool { return want[i].Field < want[j].Field })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: fields %v, want %v", name, got, want)
	}
	for _, f := range ve.Fields {
		if !slices.Contains(domain.ValidationCodes(), f.Code) {
			t.Errorf("%s: code %q missing from ValidationCodes", name, f.Code)
		}
	}
}

func fe(field, code string) domain.FieldError { return domain.FieldError{Field: field, Code: code} }

func goodMember() domain.Member {
	return domain.Member{
		ID:           memberID,
		Name:         "Coopérative de solidarité La Ruche",
		LegalForm:    domain.SolidarityCoop,
		NEQ:          "1160123456",
		Region:       "09",
		Municipality: "Sept-Îles",
		Address:      "412, avenue Brochu",
		PostalCode:   "G4R 2X1",
		Phone:        "418 555-0142",
		Email:        "info@laruche.example.org",
		Website:      "https://laruche.example.org",
		ContactName:  "Josée Côté",
		ContactRole:  "directrice générale",
		ContactPhone: "418 555-0143 poste 12",
		ContactEmail: "josee.cote@laruche.example.org",
		Services:     []string{"accounting", "hr"},
		MemberSince:  domain.NewDate(2012, 4, 1),
		Status:       domain.MemberActive,
		Notes:        "Assemblée générale annuelle en juin.",
	}
}

func TestMemberValidate(t *testing.T) {
	long := strings.Repeat("é", domain.MaxShortText+1)
	tests := []struct {
		name   string
		change func(*domain.Member)
		want   []domain.FieldError
	}{
		{"good", func(*domain.Member) {}, nil},
		{"minimal", func(m *domain.Member) {
			*m = domain.Member{ID: memberID, Name: "Mutuelle", LegalForm: domain.Mutual, Region: "06",
				Municipality: "Montréal", Status: domain.MemberActive}
		}, nil},
		{"no id", func(m *domain.Member) { m.ID = "" }, []domain.FieldError{fe("id", domain.CodeRequired)}},
		{"bad id", func(m *domain.Member) { m.ID = strings.ToUpper(memberID) }, []domain.FieldError{fe("id", domain.CodeBadID)}},
		{"no name", func(m *domain.Member) { m.Name = "  " }, []domain.FieldError{fe("name", domain.CodeRequired)}},
		{"long name", func(m *domain.Member) { m.Name = long }, []domain.FieldError{{Field: "name", Code: domain.CodeTooLong, Max: domain.MaxShortText}}},
		{"control char", func(m *domain.Member) { m.Name = "La\x00Ruche" }, []domain.FieldError{fe("name", domain.CodeBadText)}},
		{"bad utf-8", func(m *domain.Member) { m.Name = "La \xff Ruche" }, []domain.FieldError{fe("name", domain.CodeBadText)}},
		{"C1 control", func(m *domain.Member) { m.Name = "La\u009bRuche" }, []domain.FieldError{fe("name", domain.CodeBadText)}},
		{"bidi override", func(m *domain.Member) { m.Name = "La Ruche\u202efdp.exe" }, []domain.FieldError{fe("name", domain.CodeBadText)}},
		{"zero-width space", func(m *domain.Member) { m.Name = "La\u200bRuche" }, []domain.FieldError{fe("name", domain.CodeBadText)}},
		{"non-character", func(m *domain.Member) { m.Name = "La Ruche\ufdd0" }, []domain.FieldError{fe("name", domain.CodeBadText)}},
		{"line break in a name", func(m *domain.Member) { m.Name = "La Ruche\nFausse ligne" }, []domain.FieldError{fe("name", domain.CodeBadText)}},
		{"tab in a municipality", func(m *domain.Member) { m.Municipality = "Sept\tÎles" }, []domain.FieldError{fe("municipality", domain.CodeBadText)}},
		{"control in an e-mail", func(m *domain.Member) { m.Email = "info\x00@laruche.org" }, []domain.FieldError{fe("email", domain.CodeEmail)}},
		{"notes keep lines and tabs", func(m *domain.Member) { m.Notes = "Ligne 1\n\tLigne 2" }, nil},
		{"bidi override in notes", func(m *domain.Member) { m.Notes = "Note \u202e" }, []domain.FieldError{fe("notes", domain.CodeBadText)}},
		{"no legal form", func(m *domain.Member) { m.LegalForm = "" }, []domain.FieldError{fe("legal_form", domain.CodeRequired)}},
		{"bad legal form", func(m *domain.Member) { m.LegalForm = "llc" }, []domain.FieldError{fe("legal_form", domain.CodeLegalForm)}},
		{"short NEQ", func(m *domain.Member) { m.NEQ = "116012345" }, []domain.FieldError{fe("neq", domain.CodeNEQ)}},
		{"long NEQ", func(m *domain.Member) { m.NEQ = "11601234567" }, []domain.FieldError{fe("neq", domain.CodeNEQ)}},
		{"letters in NEQ", func(m *domain.Member) { m.NEQ = "11601234ab" }, []domain.FieldError{fe("neq", domain.CodeNEQ)}},
		{"no NEQ", func(m *domain.Member) { m.NEQ = "" }, nil},
		{"no region", func(m *domain.Member) { m.Region = "" }, []domain.FieldError{fe("region", domain.CodeRequired)}},
		{"bad region", func(m *domain.Member) { m.Region = "18" }, []domain.FieldError{fe("region", domain.CodeRegion)}},
		{"no municipality", func(m *domain.Member) { m.Municipality = "" }, []domain.FieldError{fe("municipality", domain.CodeRequired)}},
		{"long address", func(m *domain.Member) { m.Address = long }, []domain.FieldError{{Field: "address", Code: domain.CodeTooLong, Max: domain.MaxShortText}}},
		{"postal code unspaced", func(m *domain.Member) { m.PostalCode = "G4R2X1" }, []domain.FieldError{fe("postal_code", domain.CodePostalCode)}},
		{"postal code letter D", func(m *domain.Member) { m.PostalCode = "D4R 2X1" }, []domain.FieldError{fe("postal_code", domain.CodePostalCode)}},
		{"postal code US", func(m *domain.Member) { m.PostalCode = "12345" }, []domain.FieldError{fe("postal_code", domain.CodePostalCode)}},
		{"bad phone", func(m *domain.Member) { m.Phone = "555-0142" }, []domain.FieldError{fe("phone", domain.CodePhone)}},
		{"bad email", func(m *domain.Member) { m.Email = "info at laruche" }, []domain.FieldError{fe("email", domain.CodeEmail)}},
		{"bad website", func(m *domain.Member) { m.Website = "laruche.example.org" }, []domain.FieldError{fe("website", domain.CodeWebsite)}},
		{"bad contact phone", func(m *domain.Member) { m.ContactPhone = "abc" }, []domain.FieldError{fe("contact_phone", domain.CodePhone)}},
		{"bad contact email", func(m *domain.Member) { m.ContactEmail = "Josée <josee@x.org>" }, []domain.FieldError{fe("contact_email", domain.CodeEmail)}},
		{"bad service", func(m *domain.Member) { m.Services = []string{"hr", "Comptabilité"} }, []domain.FieldError{fe("services", domain.CodeService)}},
		{"member since future", func(m *domain.Member) { m.MemberSince = today.AddDays(1) }, []domain.FieldError{fe("member_since", domain.CodeDateFuture)}},
		{"member since 1849", func(m *domain.Member) { m.MemberSince = domain.NewDate(1849, 12, 31) }, []domain.FieldError{fe("member_since", domain.CodeDateRange)}},
		{"no status", func(m *domain.Member) { m.Status = "" }, []domain.FieldError{fe("status", domain.CodeRequired)}},
		{"bad status", func(m *domain.Member) { m.Status = "gone" }, []domain.FieldError{fe("status", domain.CodeStatus)}},
		{"long notes", func(m *domain.Member) { m.Notes = strings.Repeat("a", domain.MaxLongText+1) }, []domain.FieldError{{Field: "notes", Code: domain.CodeTooLong, Max: domain.MaxLongText}}},
		{"all at once", func(m *domain.Member) {
			m.Name, m.Region, m.PostalCode, m.Email, m.MemberSince = "", "99", "H2X", "@", today.AddDays(30)
		}, []domain.FieldError{fe("name", domain.CodeRequired), fe("region", domain.CodeRegion),
			fe("postal_code", domain.CodePostalCode), fe("email", domain.CodeEmail), fe("member_since", domain.CodeDateFuture)}},
	}
	for _, tt := range tests {
		m := goodMember()
		tt.change(&m)
		wantFields(t, tt.name, m.Validate(today), tt.want...)
	}
}

func TestMemberValidateErrorText(t *testing.T) {
	m := goodMember()
	m.NEQ = "12"
	err := m.Validate(today)
	if err == nil || err.Error() != "member: invalid input: neq: neq" {
		t.Errorf("Error() = %v", err)
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatal("not a *ValidationError")
	}
	if f, ok := ve.For("neq"); !ok || f.Code != domain.CodeNEQ {
		t.Errorf("For(neq) = %v, %v", f, ok)
	}
	if _, ok := ve.For("name"); ok {
		t.Error("For(name) found an error on a valid field")
	}
}

// TestMemberNormalizeStripsInvisible: what a paste or a hostile device
// slips into a name leaves it on the way in, so that a table, a CSV export
// or a log shows what the record holds.
func TestMemberNormalizeStripsInvisible(t *testing.T) {
	m := goodMember()
	m.Name = "\u202eLa\u200b Ruche\x1b[2J\u0085\nFausse\tligne\ufffe"
	m.Email = "INFO@LaRuche.org\u200b"
	m.Notes = "Ligne 1\r\n\tLigne 2\x00\u2028Ligne 3\u2066"
	m.Normalize()
	if want := "La Ruche[2J  Fausse ligne"; m.Name != want {
		t.Errorf("name = %q, want %q", m.Name, want)
	}
	if want := "info@laruche.org"; m.Email != want {
		t.Errorf("email = %q, want %q", m.Email, want)
	}
	if want := "Ligne 1\r\n\tLigne 2\nLigne 3"; m.Notes != want {
		t.Errorf("notes = %q, want %q", m.Notes, want)
	}
	if err := m.Validate(domain.NewDate(2025, 6, 16)); err != nil {
		t.Errorf("normalised member invalid: %v", err)
	}
}

func TestMemberNormalize(t *testing.T) {
	m := domain.Member{
		Name:         "  Coope\u0301rative de travail L'E\u0301clat ",
		NEQ:          " 1160-123 456 ",
		PostalCode:   " g4r2x1 ",
		Email:        "Info@LaRuche.Example.org",
		ContactEmail: " Josee.Cote@Example.org",
		Services:     []string{"legal", " hr", "legal", ""},
	}
	m.Normalize()
	want := domain.Member{
		Name:         "Coopérative de travail L'Éclat",
		NEQ:          "1160123456",
		PostalCode:   "G4R 2X1",
		Email:        "info@laruche.example.org",
		ContactEmail: "josee.cote@example.org",
		Services:     []string{"hr", "legal"},
		Status:       domain.MemberActive,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Normalize:\n got %+v\nwant %+v", m, want)
	}
	good := goodMember()
	again := good
	again.Normalize()
	if !reflect.DeepEqual(good, again) {
		t.Errorf("Normalize changed a normalised member:\n got %+v\nwant %+v", again, good)
	}
}

func goodVisit() domain.Visit {
	return domain.Visit{
		ID:                visitID,
		MemberID:          memberID,
		CoordinatorID:     coordID,
		Date:              today.AddDays(-3),
		DurationMinutes:   90,
		Mode:              domain.OnSite,
		PeopleMet:         "Josée Côté (directrice générale)",
		ServicesDiscussed: []string{"accounting", "hr"},
		Notes:             "Revue du plan d'action.",
		Needs:             "Politique de télétravail.",
		NextVisit:         today.AddDays(60),
	}
}

func TestVisitValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*domain.Visit)
		want   []domain.FieldError
	}{
		{"good", func(*domain.Visit) {}, nil},
		{"tomorrow (laptop zone)", func(v *domain.Visit) { v.Date, v.NextVisit = today.AddDays(1), domain.Date{} }, nil},
		{"no member", func(v *domain.Visit) { v.MemberID = "" }, []domain.FieldError{fe("member_id", domain.CodeRequired)}},
		{"bad coordinator", func(v *domain.Visit) { v.CoordinatorID = "moi" }, []domain.FieldError{fe("coordinator_id", domain.CodeBadID)}},
		{"no date", func(v *domain.Visit) { v.Date = domain.Date{} }, []domain.FieldError{fe("date", domain.CodeRequired)}},
		{"date 1999", func(v *domain.Visit) { v.Date = domain.NewDate(1999, 12, 31) }, []domain.FieldError{fe("date", domain.CodeDateRange)}},
		{"date in two days", func(v *domain.Visit) { v.Date = today.AddDays(2) }, []domain.FieldError{fe("date", domain.CodeDateFuture)}},
		{"zero duration", func(v *domain.Visit) { v.DurationMinutes = 0 }, []domain.FieldError{{Field: "duration_minutes", Code: domain.CodeDuration, Max: domain.MaxVisitMinutes}}},
		{"negative duration", func(v *domain.Visit) { v.DurationMinutes = -30 }, []domain.FieldError{{Field: "duration_minutes", Code: domain.CodeDuration, Max: domain.MaxVisitMinutes}}},
		{"duration over a day", func(v *domain.Visit) { v.DurationMinutes = domain.MaxVisitMinutes + 1 }, []domain.FieldError{{Field: "duration_minutes", Code: domain.CodeDuration, Max: domain.MaxVisitMinutes}}},
		{"no mode", func(v *domain.Visit) { v.Mode = "" }, []domain.FieldError{fe("mode", domain.CodeRequired)}},
		{"bad mode", func(v *domain.Visit) { v.Mode = "fax" }, []domain.FieldError{fe("mode", domain.CodeMode)}},
		{"long people met", func(v *domain.Visit) { v.PeopleMet = strings.Repeat("x", 5*domain.MaxShortText+1) }, []domain.FieldError{{Field: "people_met", Code: domain.CodeTooLong, Max: 5 * domain.MaxShortText}}},
		{"bad service", func(v *domain.Visit) { v.ServicesDiscussed = []string{"RH"} }, []domain.FieldError{fe("services_discussed", domain.CodeService)}},
		{"bad needs", func(v *domain.Visit) { v.Needs = "bell\a" }, []domain.FieldError{fe("needs", domain.CodeBadText)}},
		{"next visit same day", func(v *domain.Visit) { v.NextVisit = v.Date }, []domain.FieldError{fe("next_visit", domain.CodeNextVisit)}},
		{"next visit too far", func(v *domain.Visit) { v.NextVisit = today.AddDays(5*366 + 1) }, []domain.FieldError{fe("next_visit", domain.CodeDateFuture)}},
		// Ctrl+N then Ctrl+S: date, duration and mode come pre-filled, so a
		// visit that says nothing would pass every other rule.
		{"empty", func(v *domain.Visit) {
			v.PeopleMet, v.ServicesDiscussed, v.Notes, v.Needs, v.NextVisit = "", nil, "", "", domain.Date{}
		}, []domain.FieldError{fe("notes", domain.CodeVisitEmpty)}},
		{"blank text only", func(v *domain.Visit) { v.PeopleMet, v.ServicesDiscussed, v.Notes, v.Needs = " ", nil, "\n", "" }, []domain.FieldError{fe("notes", domain.CodeVisitEmpty)}},
		{"notes alone", func(v *domain.Visit) { v.PeopleMet, v.ServicesDiscussed, v.Needs = "", nil, "" }, nil},
		{"one service alone", func(v *domain.Visit) { v.PeopleMet, v.Notes, v.Needs = "", "", "" }, nil},
		{"all at once", func(v *domain.Visit) { v.ID, v.Mode, v.DurationMinutes = "", "", 0 }, []domain.FieldError{
			fe("id", domain.CodeRequired), fe("mode", domain.CodeRequired),
			{Field: "duration_minutes", Code: domain.CodeDuration, Max: domain.MaxVisitMinutes}}},
	}
	for _, tt := range tests {
		v := goodVisit()
		tt.change(&v)
		wantFields(t, tt.name, v.Validate(today), tt.want...)
	}
}

func TestVisitNormalize(t *testing.T) {
	v := domain.Visit{PeopleMet: " Jose\u0301e ", Notes: "\tNotes\n", ServicesDiscussed: []string{"web", "hr", "web"}}
	v.Normalize()
	if v.PeopleMet != "Josée" || v.Notes != "Notes" || !reflect.DeepEqual(v.ServicesDiscussed, []string{"hr", "web"}) {
		t.Errorf("Normalize = %+v", v)
	}
}

func goodFollowUp() domain.FollowUp {
	return domain.FollowUp{
		ID:          otherID,
		MemberID:    memberID,
		VisitID:     visitID,
		ServiceID:   "legal",
		Description: "Réviser les règlements généraux.",
		Due:         today.AddDays(14),
		Status:      domain.FollowUpOpen,
		AssignedTo:  "Luc Gagnon",
	}
}

func TestFollowUpValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*domain.FollowUp)
		want   []domain.FieldError
	}{
		{"good", func(*domain.FollowUp) {}, nil},
		{"overdue is allowed", func(f *domain.FollowUp) { f.Due = today.AddDays(-90) }, nil},
		{"without visit", func(f *domain.FollowUp) { f.VisitID = "" }, nil},
		{"bad visit", func(f *domain.FollowUp) { f.VisitID = "42" }, []domain.FieldError{fe("visit_id", domain.CodeBadID)}},
		{"no member", func(f *domain.FollowUp) { f.MemberID = "" }, []domain.FieldError{fe("member_id", domain.CodeRequired)}},
		{"no service", func(f *domain.FollowUp) { f.ServiceID = "" }, []domain.FieldError{fe("service_id", domain.CodeRequired)}},
		{"bad service", func(f *domain.FollowUp) { f.ServiceID = "Juridique!" }, []domain.FieldError{fe("service_id", domain.CodeService)}},
		{"no description", func(f *domain.FollowUp) { f.Description = "" }, []domain.FieldError{fe("description", domain.CodeRequired)}},
		{"no due", func(f *domain.FollowUp) { f.Due = domain.Date{} }, []domain.FieldError{fe("due", domain.CodeRequired)}},
		{"due 1999", func(f *domain.FollowUp) { f.Due = domain.NewDate(1999, 1, 1) }, []domain.FieldError{fe("due", domain.CodeDateRange)}},
		{"due too far", func(f *domain.FollowUp) { f.Due = today.AddDays(5*366 + 1) }, []domain.FieldError{fe("due", domain.CodeDateFuture)}},
		{"bad status", func(f *domain.FollowUp) { f.Status = "closed" }, []domain.FieldError{fe("status", domain.CodeStatus)}},
		{"long assignee", func(f *domain.FollowUp) { f.AssignedTo = strings.Repeat("x", domain.MaxShortText+1) }, []domain.FieldError{{Field: "assigned_to", Code: domain.CodeTooLong, Max: domain.MaxShortText}}},
		{"all at once", func(f *domain.FollowUp) { f.ID, f.Description, f.Status = "x", "", "" }, []domain.FieldError{
			fe("id", domain.CodeBadID), fe("description", domain.CodeRequired), fe("status", domain.CodeRequired)}},
	}
	for _, tt := range tests {
		f := goodFollowUp()
		tt.change(&f)
		wantFields(t, tt.name, f.Validate(today), tt.want...)
	}
}

func TestFollowUpOverdue(t *testing.T) {
	tests := []struct {
		due    domain.Date
		status domain.FollowUpStatus
		want   bool
	}{
		{today.AddDays(-1), domain.FollowUpOpen, true},
		{today.AddDays(-1), domain.FollowUpInProgress, true},
		{today.AddDays(-1), domain.FollowUpDone, false},
		{today, domain.FollowUpOpen, false},
		{domain.Date{}, domain.FollowUpOpen, false},
	}
	for _, tt := range tests {
		f := domain.FollowUp{Due: tt.due, Status: tt.status}
		if got := f.Overdue(today); got != tt.want {
			t.Errorf("Overdue(due %v, %s) = %v, want %v", tt.due, tt.status, got, tt.want)
		}
	}
	f := domain.FollowUp{Description: " x "}
	f.Normalize()
	if f.Status != domain.FollowUpOpen || f.Description != "x" {
		t.Errorf("Normalize = %+v, want an open follow-up", f)
	}
}

func TestCoordinatorValidate(t *testing.T) {
	good := func() domain.Coordinator {
		return domain.Coordinator{ID: coordID, Name: "Luc Gagnon", Email: "luc.gagnon@example.org", Regions: []string{"09", "11"}}
	}
	tests := []struct {
		name   string
		change func(*domain.Coordinator)
		want   []domain.FieldError
	}{
		{"good", func(*domain.Coordinator) {}, nil},
		{"no id", func(k *domain.Coordinator) { k.ID = "" }, []domain.FieldError{fe("id", domain.CodeRequired)}},
		{"no name", func(k *domain.Coordinator) { k.Name = "" }, []domain.FieldError{fe("name", domain.CodeRequired)}},
		{"no email", func(k *domain.Coordinator) { k.Email = "" }, []domain.FieldError{fe("email", domain.CodeRequired)}},
		{"bad email", func(k *domain.Coordinator) { k.Email = "luc@localhost" }, []domain.FieldError{fe("email", domain.CodeEmail)}},
		{"no regions", func(k *domain.Coordinator) { k.Regions = nil }, []domain.FieldError{fe("regions", domain.CodeRegionsNeeded)}},
		{"bad region", func(k *domain.Coordinator) { k.Regions = []string{"09", "00"} }, []domain.FieldError{fe("regions", domain.CodeRegion)}},
		{"all at once", func(k *domain.Coordinator) { k.Name, k.Email, k.Regions = "", "x", nil }, []domain.FieldError{
			fe("name", domain.CodeRequired), fe("email", domain.CodeEmail), fe("regions", domain.CodeRegionsNeeded)}},
	}
	for _, tt := range tests {
		k := good()
		tt.change(&k)
		wantFields(t, tt.name, k.Validate(), tt.want...)
	}
	k := domain.Coordinator{Name: " Luc ", Email: " Luc.Gagnon@Example.org", Regions: []string{"11", "09", "11"}}
	k.Normalize()
	if k.Name != "Luc" || k.Email != "luc.gagnon@example.org" || !reflect.DeepEqual(k.Regions, []string{"09", "11"}) {
		t.Errorf("Normalize = %+v", k)
	}
	if !k.InScope("11") || k.InScope("06") {
		t.Errorf("InScope wrong for %v", k.Regions)
	}
}

func TestNormalizePostalCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"h2x1y4", "H2X 1Y4"},
		{"H2X 1Y4", "H2X 1Y4"},
		{" g4r  2x1 ", "G4R 2X1"},
		{"j8x-1c4", "J8X-1C4"}, // left for Validate to reject
		{"H2X", "H2X"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := domain.NormalizePostalCode(tt.in); got != tt.want {
			t.Errorf("NormalizePostalCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNEQ(t *testing.T) {
	tests := []struct {
		in, norm string
		ok       bool
	}{
		{"1160123456", "1160123456", true},
		{"1160 123 456", "1160123456", true},
		{" 1160-123-456 ", "1160123456", true},
		{"116012345", "116012345", false},
		{"1160.123.456", "1160.123.456", false},
		{"", "", true}, // optional
	}
	for _, tt := range tests {
		got := domain.NormalizeNEQ(tt.in)
		if got != tt.norm {
			t.Errorf("NormalizeNEQ(%q) = %q, want %q", tt.in, got, tt.norm)
		}
		m := goodMember()
		m.NEQ = tt.in
		m.Normalize()
		_, bad := fieldError(m.Validate(today), "neq")
		if bad == tt.ok {
			t.Errorf("NEQ %q: valid = %v, want %v", tt.in, !bad, tt.ok)
		}
	}
}

func fieldError(err error, field string) (domain.FieldError, bool) {
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		return domain.FieldError{}, false
	}
	return ve.For(field)
}

func TestValidPhone(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"418 555-0123", true},
		{"(418) 555-0123 poste 12", true},
		{"1-418-555-0123", true},
		{"+1 514 555 0199", true},
		{"819.555.0100", true},
		{"4185550123", true},
		{"418 555-0123 ext. 4", true},
		{"418 555-0123 x4", true},
		{"555-0123", false},
		{"abc", false},
		{"2-418-555-0123", false},
		{"418 555-01234", false},
		{"418 555-0123 poste", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := domain.ValidPhone(tt.in); got != tt.ok {
			t.Errorf("ValidPhone(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

func TestValidEmail(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"info@laruche.example.org", true},
		{"marie-eve.cote+terrain@example.com", true},
		{"Josée <josee@example.org>", false},
		{"josee@localhost", false},
		{"josee@", false},
		{"@example.org", false},
		{"josee example.org", false},
		{" josee@example.org", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := domain.ValidEmail(tt.in); got != tt.ok {
			t.Errorf("ValidEmail(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

func TestValidWebsite(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"https://laruche.example.org", true},
		{"http://www.example.org/a-propos?lang=fr", true},
		{"laruche.example.org", false},
		{"ftp://example.org", false},
		{"https://localhost", false},
		{"https://exa mple.org", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := domain.ValidWebsite(tt.in); got != tt.ok {
			t.Errorf("ValidWebsite(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

func TestCatalog(t *testing.T) {
	regions := domain.Regions()
	if len(regions) != 17 {
		t.Fatalf("%d regions, want 17", len(regions))
	}
	for i, r := range regions {
		if want := []byte{byte('0' + (i+1)/10), byte('0' + (i+1)%10)}; r.Code != string(want) {
			t.Errorf("region %d has code %q, want %q", i, r.Code, want)
		}
		if got, ok := domain.RegionByCode(r.Code); !ok || got != r || r.Name("fr") == "" || r.Name("en") == "" {
			t.Errorf("region %q: lookup %v %v", r.Code, got, ok)
		}
	}
	if domain.ValidRegion("18") || domain.ValidRegion("6") {
		t.Error("ValidRegion accepts a code that is not official")
	}
	for _, s := range domain.DefaultServices() {
		if !domain.ValidServiceID(s.ID) || s.Name("fr") != s.NameFR || s.Name("en") != s.NameEN || s.NameFR == "" || s.NameEN == "" {
			t.Errorf("service %+v", s)
		}
	}
	if got := domain.SortedRegionCodes([]string{"16", "03", "16", "10"}); !reflect.DeepEqual(got, []string{"03", "10", "16"}) {
		t.Errorf("SortedRegionCodes = %v", got)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"90", 90, true},
		{" 45 ", 45, true},
		{"1h30", 90, true},
		{"1 h 30", 90, true},
		{"1H30", 90, true},
		{"2h", 120, true},
		{"2 h", 120, true},
		{"0h45", 45, true},
		{"1:30", 90, true},
		{"90 min", 90, true},
		{"90min", 90, true},
		{"1,5 h", 90, true},
		{"1.5h", 90, true},
		{"1h75", 0, false},
		{"trois heures", 0, false},
		{"", 0, false},
		{"h", 0, false},
		{"-30", 0, false},
		{"1h30h", 0, false},
	}
	for _, tt := range tests {
		got, ok := domain.ParseDuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"4185550123", "418 555-0123"},
		{"(418) 555-0123", "418 555-0123"},
		{"418.555.0123", "418 555-0123"},
		{"1-418-555-0123", "418 555-0123"},
		{"+1 514 555 0199", "514 555-0199"},
		{"(418) 555-0123 poste 12", "418 555-0123 poste 12"},
		{"418-555-0123 EXT.4", "418 555-0123 ext. 4"},
		{"418 555 0123 x4", "418 555-0123 x 4"},
		// Not a valid number: left as typed, for the error to point at.
		{"555-0123", "555-0123"},
		{"abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := domain.NormalizePhone(tt.in); got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if domain.ValidPhone(tt.in) && !domain.ValidPhone(domain.NormalizePhone(tt.in)) {
			t.Errorf("NormalizePhone(%q) is no longer valid", tt.in)
		}
	}
	m := goodMember()
	m.Phone, m.ContactPhone = "4185550142", "1 (418) 555-0143 poste 12"
	m.Normalize()
	if m.Phone != "418 555-0142" || m.ContactPhone != "418 555-0143 poste 12" {
		t.Errorf("Member.Normalize: phone %q, contact phone %q", m.Phone, m.ContactPhone)
	}
}

func TestFollowUpCompletion(t *testing.T) {
	f := goodFollowUp()
	f.Status, f.DoneOn, f.DoneBy = domain.FollowUpDone, today, " Luc Gagnon "
	f.Normalize()
	if f.DoneBy != "Luc Gagnon" {
		t.Errorf("DoneBy normalised to %q", f.DoneBy)
	}
	wantFields(t, "done today", f.Validate(today))
	f.DoneOn = today.AddDays(2)
	wantFields(t, "done in two days", f.Validate(today), fe("done_on", domain.CodeDateFuture))
	f.DoneOn = domain.NewDate(1999, 1, 1)
	wantFields(t, "done in 1999", f.Validate(today), fe("done_on", domain.CodeDateRange))
	f.DoneOn, f.DoneBy = today, strings.Repeat("x", domain.MaxShortText+1)
	wantFields(t, "long author", f.Validate(today), domain.FieldError{Field: "done_by", Code: domain.CodeTooLong, Max: domain.MaxShortText})
	// A follow-up recorded before completion was tracked has neither.
	old := goodFollowUp()
	old.Status = domain.FollowUpDone
	wantFields(t, "done without date", old.Validate(today))
}

func TestFollowUpOfVisit(t *testing.T) {
	v := goodVisit()
	f := goodFollowUp()
	wantFields(t, "due after the visit", f.ValidateForVisit(v, today))
	f.Due = v.Date
	wantFields(t, "due the day of the visit", f.ValidateForVisit(v, today))
	f.Due = v.Date.AddDays(-6 * 365)
	wantFields(t, "due six years before", f.ValidateForVisit(v, today), fe("due", domain.CodeDueBefore))
	f.Due = domain.NewDate(1999, 1, 1)
	wantFields(t, "due 1999", f.ValidateForVisit(v, today), fe("due", domain.CodeDateRange))
	v.Date = domain.Date{}
	f.Due = today
	wantFields(t, "visit without date", f.ValidateForVisit(v, today))
}
