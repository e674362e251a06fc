package locales

import (
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"leconsortium.coop/terrain/domain"
)

// forms returns a message's texts by plural category, leaving out the empty
// ones.
func forms(m *i18n.Message) map[string]string {
	all := map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two,
		"few": m.Few, "many": m.Many, "other": m.Other}
	for k, v := range all {
		if v == "" {
			delete(all, k)
		}
	}
	return all
}

// isPlural is how the files mark a message meant for N: it has forms
// besides "other".
func isPlural(m *i18n.Message) bool { return len(forms(m)) > 1 || m.Other == "" }

// requiredForms asks go-i18n which plural categories its CLDR rules use for
// lang, by rendering a probe message that names each category over a range
// of integer counts wide enough to reach every category of French and
// English (including French "many" for exact millions).
func requiredForms(t *testing.T, lang string) []string {
	t.Helper()
	b := i18n.NewBundle(language.French)
	probe := &i18n.Message{ID: "probe", Zero: "zero", One: "one", Two: "two",
		Few: "few", Many: "many", Other: "other"}
	if err := b.AddMessages(language.Make(lang), probe); err != nil {
		t.Fatal(err)
	}
	loc := i18n.NewLocalizer(b, lang)
	seen := map[string]bool{}
	counts := []int{1_000_000, 2_000_000, 10_000_000, 1_000_000_000}
	for n := 0; n <= 1200; n++ {
		counts = append(counts, n)
	}
	for _, n := range counts {
		s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: "probe", PluralCount: n})
		if err != nil {
			t.Fatalf("probe %s %d: %v", lang, n, err)
		}
		seen[s] = true
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func TestRequiredFormsProbe(t *testing.T) {
	// Guards the probe itself: if it saw only "other" it would excuse
	// every missing form.
	if got := requiredForms(t, English); !slices.Equal(got, []string{"one", "other"}) {
		t.Errorf("English plural forms = %v, want [one other]", got)
	}
	if got := requiredForms(t, French); !slices.Contains(got, "one") || !slices.Contains(got, "other") {
		t.Errorf("French plural forms = %v, want at least one and other", got)
	}
}

func TestFilesDefineSameIDs(t *testing.T) {
	for _, a := range Supported() {
		for _, b := range Supported() {
			for id := range cat.messages[a] {
				if !cat.has(b, id) {
					t.Errorf("%q is in active.%s.toml but not in active.%s.toml", id, a, b)
				}
			}
		}
	}
	if n := len(MessageIDs()); n < 100 {
		t.Errorf("only %d messages loaded", n)
	}
}

func TestEveryMessageHasText(t *testing.T) {
	for _, lang := range Supported() {
		for id, m := range cat.messages[lang] {
			if strings.TrimSpace(m.Other) == "" {
				t.Errorf("%s %q: no text (other)", lang, id)
			}
			for form, text := range forms(m) {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s %q: blank %s form", lang, id, form)
				}
			}
		}
	}
}

func TestPluralMessagesHaveEveryForm(t *testing.T) {
	for _, lang := range Supported() {
		need := requiredForms(t, lang)
		for id, m := range cat.messages[lang] {
			if !isPlural(m) {
				if strings.Contains(m.Other, ".Count") {
					t.Errorf("%s %q uses .Count but is not a plural message", lang, id)
				}
				continue
			}
			f := forms(m)
			for _, form := range need {
				if f[form] == "" {
					t.Errorf("%s %q lacks the %q plural form", lang, id, form)
				}
			}
			for _, other := range Supported() {
				if om := cat.messages[other][id]; om != nil && !isPlural(om) {
					t.Errorf("%q is plural in %s but not in %s", id, lang, other)
				}
			}
		}
	}
}

// sample holds every template key the messages use; a key missing here
// shows as "<no value>" and fails TestLocalizeEveryMessage.
var sample = map[string]any{
	"Count": "3", "Date": "13 mars 2024", "Day": "13", "Detail": "open store: disk full", "Field": "Nom",
	"Max": "200", "Message": "Ce champ est obligatoire.", "Min": "8",
	"Month": "mars", "Query": "coop", "Year": "2024",
	// Keys of the app's screens.
	"Ago": "il y a 5 minutes", "Done": "1 200", "Login": "demo@example.org", "File": "sauvegarde.terrain",
	"Level": "bonne", "Months": "6", "N": "2", "Name": "Coopérative du Fjord", "Needs": "Plan de relève",
	"Path": "/home/demo/visites.csv", "People": "Marie Gagnon", "Reason": "hors ligne", "Services": "Comptabilité",
	"Regions": "Côte-Nord, Gaspésie", "Time": "14 h 05",
	"Step": "2", "Steps": "3", "Total": "3 000", "Who": "Bureau central",
	"Description": "Réviser les règlements", "Overdue": "2 suivis en retard",
	// Keys of the headless commands.
	"Server": "https://central.example.org",
	// Keys of the PDF documents.
	"Page": "1", "Pages": "2",
}

func TestLocalizeEveryMessage(t *testing.T) {
	for _, lang := range Supported() {
		l := New(lang)
		for id, m := range cat.messages[lang] {
			for _, n := range []int{0, 1, 2, 1_000_000} {
				var got string
				var err error
				if isPlural(m) {
					got, err = l.localize(id, &n, sample)
				} else {
					got, err = l.localize(id, nil, sample)
				}
				if err != nil {
					t.Errorf("%s %q count %d: %v", lang, id, n, err)
					continue
				}
				if strings.TrimSpace(got) == "" || strings.Contains(got, "{{") ||
					strings.Contains(got, "}}") || strings.Contains(got, "<no value>") {
					t.Errorf("%s %q count %d: bad result %q", lang, id, n, got)
				}
			}
		}
	}
}

func TestPlurals(t *testing.T) {
	fr, en := New(French), New(English)
	cases := []struct {
		l     *Localizer
		id    string
		count int
		want  string
	}{
		{fr, "visits.count", 0, "0 visite"},
		{fr, "visits.count", 1, "1 visite"},
		{fr, "visits.count", 2, "2 visites"},
		{fr, "members.count", 1234, "1\u202f234 membres"},
		{fr, "members.count", 1_000_000, "1\u202f000\u202f000 de membres"},
		{fr, "members.count", 1_000_001, "1\u202f000\u202f001 membres"},
		{en, "visits.count", 0, "0 visits"},
		{en, "visits.count", 1, "1 visit"},
		{en, "visits.count", 2, "2 visits"},
		{en, "members.count", 1234, "1,234 members"},
		{en, "members.count", 1_000_000, "1,000,000 members"},
	}
	for _, c := range cases {
		if got := c.l.N(c.id, c.count); got != c.want {
			t.Errorf("%s N(%q, %d) = %q, want %q", c.l.Lang(), c.id, c.count, got, c.want)
		}
	}
}

func TestDomainVocabularyHasMessages(t *testing.T) {
	ids := domain.ValidationCodes()
	for _, v := range []any{domain.Member{}, domain.Visit{}, domain.FollowUp{}, domain.Coordinator{}} {
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumField(); i++ {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Fatalf("%s.%s has no JSON name", typ.Name(), typ.Field(i).Name)
			}
			ids = append(ids, "field."+name)
		}
	}
	for _, f := range domain.LegalForms() {
		ids = append(ids, f.MessageID())
	}
	for _, m := range domain.VisitModes() {
		ids = append(ids, m.MessageID())
	}
	for _, s := range domain.FollowUpStatuses() {
		ids = append(ids, s.MessageID())
	}
	for _, s := range domain.MemberStatuses() {
		ids = append(ids, s.MessageID())
	}
	if missing := MissingIDs(ids); len(missing) > 0 {
		t.Errorf("messages missing for the domain vocabulary: %v", missing)
	}
}

func TestMissingIDs(t *testing.T) {
	got := MissingIDs([]string{"app.title", "nope.b", "nope.a", "nope.b"})
	if want := []string{"nope.a", "nope.b"}; !slices.Equal(got, want) {
		t.Errorf("MissingIDs = %v, want %v", got, want)
	}
	if ids := MessageIDs(); !sort.StringsAreSorted(ids) || !slices.Contains(ids, "visits.count") {
		t.Errorf("MessageIDs not sorted or incomplete: %v", ids)
	}
}

// texts yields every text of every message of lang.
func texts(lang string) map[string]string {
	out := map[string]string{}
	for id, m := range cat.messages[lang] {
		for form, s := range forms(m) {
			out[id+"/"+form] = s
		}
	}
	return out
}

var (
	// A colon that ends a clause (not "https:") wants a no-break space
	// before it in French.
	frBareColon = regexp.MustCompile(`[^\x{00A0}]:(\s|$)`)
	// Guillemets hold their text with no-break spaces.
	frOpenQuote  = regexp.MustCompile(`«[^\x{00A0}]`)
	frCloseQuote = regexp.MustCompile(`[^\x{00A0}]»`)
	frMail       = regexp.MustCompile(`(?i)\be-?mail`)
)

func TestTypography(t *testing.T) {
	for _, lang := range Supported() {
		for key, s := range texts(lang) {
			if strings.Contains(s, "'") {
				t.Errorf("%s %s: straight apostrophe, use ’: %q", lang, key, s)
			}
			if strings.Contains(s, `"`) {
				t.Errorf("%s %s: straight quotes: %q", lang, key, s)
			}
			if s != strings.TrimSpace(s) || strings.Contains(s, "  ") {
				t.Errorf("%s %s: stray spaces: %q", lang, key, s)
			}
		}
	}
	for key, s := range texts(French) {
		for _, re := range []*regexp.Regexp{frBareColon, frOpenQuote, frCloseQuote} {
			if re.MatchString(s) {
				t.Errorf("fr %s: wants a no-break space (U+00A0) around : « »: %q", key, s)
			}
		}
		if frMail.MatchString(s) {
			t.Errorf("fr %s: write « courriel »: %q", key, s)
		}
	}
}

func TestHas(t *testing.T) {
	if !Has("app.title") {
		t.Error(`Has("app.title") = false`)
	}
	if Has("no.such.message") {
		t.Error(`Has("no.such.message") = true`)
	}
}
