package locales

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, French},
		{map[string]string{"LANG": "C"}, French},
		{map[string]string{"LANG": "POSIX"}, French},
		{map[string]string{"LANG": "C.UTF-8"}, French},
		{map[string]string{"LANG": ""}, French},
		{map[string]string{"LANG": "en_CA.UTF-8"}, English},
		{map[string]string{"LANG": "en_US"}, English},
		{map[string]string{"LANG": "fr_CA.UTF-8"}, French},
		{map[string]string{"LANG": "de_DE.UTF-8"}, French},
		{map[string]string{"LANG": "fr_CA.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, English},
		{map[string]string{"LANG": "en_CA.UTF-8", "LC_MESSAGES": "fr_CA.UTF-8", "LC_ALL": "C"}, French},
		{map[string]string{"LANG": "fr_CA.UTF-8", "LC_ALL": "en_CA.UTF-8"}, English},
		{map[string]string{"LANG": "en_CA.UTF-8", "LC_ALL": ""}, English},
	}
	for _, c := range cases {
		getenv := func(k string) string { return c.env[k] }
		if got := Detect(getenv); got != c.want {
			t.Errorf("Detect(%v) = %q, want %q", c.env, got, c.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := map[string]string{
		"fr": French, "en": English, "EN": English, " en ": English, "en-CA": English,
		"en_GB.UTF-8": English, "en_CA.UTF-8@euro": English, "fr-CA": French,
		"fr_FR.ISO8859-1@euro": French, "de": French, "zz": French, "": French,
		"C": French, "posix": French, "!!": French, "français": French,
	}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	if got := New("en_CA.UTF-8").Lang(); got != English {
		t.Errorf("New(en_CA.UTF-8).Lang() = %q", got)
	}
}

func TestZeroLocalizerIsFrench(t *testing.T) {
	var zero Localizer
	var nilL *Localizer
	for _, l := range []*Localizer{&zero, nilL} {
		if l.Lang() != French || l.N("visits.count", 0) != "0 visite" {
			t.Errorf("zero/nil Localizer: %q %q", l.Lang(), l.N("visits.count", 0))
		}
	}
}

func TestT(t *testing.T) {
	fr, en := New(French), New(English)
	if got := fr.T("unlock.passphrase_too_short", map[string]any{"Min": 8}); got != "La phrase de passe doit compter au moins 8 caractères." {
		t.Errorf("fr too short = %q", got)
	}
	if got := en.T("members.no_match", map[string]any{"Query": "x"}, map[string]any{"Query": "coop"}); got != "No member matches “coop”." {
		t.Errorf("en no match (later map wins) = %q", got)
	}
	if got := en.T("app.title"); got != "Terrain" {
		t.Errorf("app.title = %q", got)
	}
}

func TestUnknownIDGivesIDAndIsRecorded(t *testing.T) {
	l := New(English)
	if got := l.T("no.such.message"); got != "no.such.message" {
		t.Errorf("T(unknown) = %q", got)
	}
	if got := l.N("no.such.plural", 3); got != "no.such.plural" {
		t.Errorf("N(unknown) = %q", got)
	}
	m := Missed()
	for _, want := range []string{"en:no.such.message", "en:no.such.plural"} {
		if !slices.Contains(m, want) {
			t.Errorf("Missed() = %v, lacks %q", m, want)
		}
	}
	for _, k := range m {
		if !strings.Contains(k, "no.such.") {
			t.Errorf("unexpected miss %q: a real message failed to render", k)
		}
	}
}

func TestDate(t *testing.T) {
	fr, en := New(French), New(English)
	cases := []struct {
		l    *Localizer
		d    domain.Date
		want string
	}{
		{fr, domain.NewDate(2024, 3, 13), "13 mars 2024"},
		{fr, domain.NewDate(2024, 3, 1), "1er mars 2024"},
		{fr, domain.NewDate(2025, 8, 2), "2 août 2025"},
		{fr, domain.NewDate(2023, 12, 31), "31 décembre 2023"},
		{en, domain.NewDate(2024, 3, 13), "March 13, 2024"},
		{en, domain.NewDate(2024, 3, 1), "March 1, 2024"},
		{en, domain.NewDate(2025, 1, 2), "January 2, 2025"},
		{fr, domain.Date{}, ""},
		{en, domain.Date{}, ""},
	}
	for _, c := range cases {
		if got := c.l.Date(c.d); got != c.want {
			t.Errorf("%s Date(%v) = %q, want %q", c.l.Lang(), c.d, got, c.want)
		}
	}
	for _, l := range []*Localizer{fr, en} {
		if got := l.DateShort(domain.NewDate(2024, 3, 13)); got != "2024-03-13" {
			t.Errorf("%s DateShort = %q", l.Lang(), got)
		}
		if got := l.DateShort(domain.Date{}); got != "" {
			t.Errorf("%s DateShort(zero) = %q", l.Lang(), got)
		}
	}
}

func TestNumber(t *testing.T) {
	fr, en := New(French), New(English)
	cases := []struct {
		l        *Localizer
		v        float64
		decimals int
		want     string
	}{
		{fr, 1234.5, 1, "1\u202f234,5"},
		{en, 1234.5, 1, "1,234.5"},
		{fr, 999, 0, "999"},
		{fr, 1000, 0, "1\u202f000"},
		{en, 1234567.891, 2, "1,234,567.89"},
		{fr, -1234567.891, 2, "-1\u202f234\u202f567,89"},
		{en, -12, 0, "-12"},
		{fr, -0.001, 2, "0,00"},
		{en, 0.25, -1, "0.25"},
		{fr, 2.5, 0, "2"}, // strconv rounds half to even
		{en, 0, 0, "0"},
		{en, math.Inf(1), 2, "+Inf"},
	}
	for _, c := range cases {
		if got := c.l.Number(c.v, c.decimals); got != c.want {
			t.Errorf("%s Number(%v, %d) = %q, want %q", c.l.Lang(), c.v, c.decimals, got, c.want)
		}
	}
}

func TestAgo(t *testing.T) {
	fr, en := New(French), New(English)
	cases := []struct {
		d      time.Duration
		fr, en string
	}{
		{-time.Hour, "à l’instant", "just now"},
		{0, "à l’instant", "just now"},
		{59 * time.Second, "à l’instant", "just now"},
		{time.Minute, "il y a 1 minute", "1 minute ago"},
		{5*time.Minute + 59*time.Second, "il y a 5 minutes", "5 minutes ago"},
		{time.Hour, "il y a 1 heure", "1 hour ago"},
		{23 * time.Hour, "il y a 23 heures", "23 hours ago"},
		{24 * time.Hour, "il y a 1 jour", "1 day ago"},
		{40 * 24 * time.Hour, "il y a 40 jours", "40 days ago"},
		{1500 * 24 * time.Hour, "il y a 1\u202f500 jours", "1,500 days ago"},
	}
	for _, c := range cases {
		if got := fr.Ago(c.d); got != c.fr {
			t.Errorf("fr Ago(%v) = %q, want %q", c.d, got, c.fr)
		}
		if got := en.Ago(c.d); got != c.en {
			t.Errorf("en Ago(%v) = %q, want %q", c.d, got, c.en)
		}
	}
}

// passphraseError stands for a store sentinel that names its message.
type passphraseError struct{}

func (passphraseError) Error() string     { return "wrong passphrase" }
func (passphraseError) MessageID() string { return "error.wrong_passphrase" }

type unknownIDError struct{}

func (unknownIDError) Error() string     { return "mystery" }
func (unknownIDError) MessageID() string { return "error.no_such_message" }

func TestError(t *testing.T) {
	fr, en := New(French), New(English)
	today := domain.NewDate(2024, 3, 13)
	m := domain.Member{ID: domain.NewID(), Name: "Coopérative de solidarité du Fjord",
		LegalForm: domain.SolidarityCoop, Region: "02", Municipality: "Saguenay",
		NEQ: "12345", Notes: strings.Repeat("é", domain.MaxLongText+1)}
	m.Normalize()
	err := m.Validate(today)
	if err == nil {
		t.Fatal("invalid member accepted")
	}
	wantFR := "NEQ\u00a0: Le NEQ compte 10 chiffres, p. ex. 1140000000.\n" +
		"Notes\u00a0: Ce texte est trop long\u00a0: 10\u202f000 caractères au maximum."
	if got := fr.Error(err); got != wantFR {
		t.Errorf("fr Error =\n%q\nwant\n%q", got, wantFR)
	}
	wantEN := "Québec enterprise number (NEQ): The NEQ has 10 digits, e.g. 1140000000.\n" +
		"Notes: This text is too long: 10,000 characters at most."
	if got := en.Error(fmt.Errorf("save member: %w", err)); got != wantEN {
		t.Errorf("en Error (wrapped) =\n%q\nwant\n%q", got, wantEN)
	}

	v := domain.Visit{ID: domain.NewID(), MemberID: domain.NewID(), CoordinatorID: domain.NewID(),
		Date: today, DurationMinutes: 0, Mode: domain.OnSite, Notes: "Appel"}
	if got, want := en.Error(v.Validate(today)), "Duration (minutes): The duration must be at least 1 minute and at most 1,440 minutes."; got != want {
		t.Errorf("en duration = %q, want %q", got, want)
	}

	if got, want := fr.Error(fmt.Errorf("open store: %w", passphraseError{})), fr.T("error.wrong_passphrase"); got != want || strings.Contains(got, "error.") {
		t.Errorf("fr sentinel = %q, want %q", got, want)
	}
	got := fr.Error(errors.New("open store: disk full"))
	if !strings.HasPrefix(got, "Une erreur inattendue") || !strings.HasSuffix(got, "open store: disk full") {
		t.Errorf("fr unexpected = %q", got)
	}
	got = en.Error(unknownIDError{})
	if !strings.HasPrefix(got, "An unexpected error") || !strings.HasSuffix(got, "mystery") {
		t.Errorf("en unknown message ID = %q", got)
	}
	if got := en.Error(nil); got != "" {
		t.Errorf("Error(nil) = %q", got)
	}
}

func TestLabels(t *testing.T) {
	fr, en := New(French), New(English)
	checks := []struct{ got, want string }{
		{fr.Region("06"), "Montréal"},
		{en.Region("05"), "Eastern Townships"},
		{fr.Region("05"), "Estrie"},
		{en.Region("99"), "99"},
		{fr.LegalForm(domain.SolidarityCoop), "Coopérative de solidarité"},
		{en.LegalForm(domain.WorkerShareholderCoop), "Worker-shareholder co-operative"},
		{en.LegalForm("cartel"), "cartel"},
		{fr.LegalForm(""), ""},
		{fr.VisitMode(domain.Video), "Visioconférence"},
		{en.VisitMode(domain.OnSite), "On site"},
		{fr.FollowUpStatus(domain.FollowUpInProgress), "En cours"},
		{en.FollowUpStatus(domain.FollowUpDone), "Done"},
		{fr.MemberStatus(domain.MemberFormer), "Ancien membre"},
		{en.MemberStatus(domain.MemberSuspended), "Suspended"},
		{fr.Service(domain.DefaultServices()[0]), "Ressources humaines"},
		{en.Service(domain.DefaultServices()[0]), "Human resources"},
		{en.Service(domain.Service{ID: "new", NameFR: "Nouveau"}), "Nouveau"},
		{en.Service(domain.Service{ID: "bare"}), "bare"},
		{fr.FieldError(domain.FieldError{Field: "email", Code: domain.CodeEmail}),
			"Courriel\u00a0: Entrez une adresse de courriel complète, p. ex. prenom.nom@exemple.org."},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
}

// TestConcurrentUse is meant for -race: screens localize from several
// goroutines at once.
func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		l := New(Supported()[i%2])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				if l.N("members.count", n) == "members.count" || l.Date(domain.NewDate(2024, 1, 1+n%28)) == "" {
					t.Error("localization failed under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Benchmarks size the cost of localizing a 20,000-row member list.
func BenchmarkT(b *testing.B) {
	l := New(French)
	for b.Loop() {
		l.T("members.column.last_visit")
	}
}

func BenchmarkN(b *testing.B) {
	l := New(French)
	for b.Loop() {
		l.N("members.count", 20000)
	}
}

func BenchmarkDate(b *testing.B) {
	l := New(French)
	d := domain.NewDate(2024, 3, 13)
	for b.Loop() {
		l.Date(d)
	}
}
