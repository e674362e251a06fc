package domain_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"leconsortium.coop/terrain/domain"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Coopérative", "cooperative"},
		{"MONTRÉAL", "montreal"},
		{"Îles", "iles"},
		{"Œuvre", "oeuvre"},
		{"cœur", "coeur"},
		{"Cæsar", "caesar"},
		{"Straße", "strasse"},
		{"ẞ", "ss"},
		{"Montre\u0301al", "montreal"}, // NFD input
		{"I\u0302les-de-la-Madeleine", "iles de la madeleine"},
		{"Coopérative de l'Île-d'Orléans", "cooperative de l ile d orleans"},
		{"  Saint-Jean--sur  Richelieu!! ", "saint jean sur richelieu"},
		{"Québec, QC G1R 4P5", "quebec qc g1r 4p5"},
		{"« Les Trois-Pistoles » (siège)", "les trois pistoles siege"},
		{"ﬁnance", "finance"},
		{"𝐌𝐎𝐍𝐓𝐑𝐄𝐀𝐋", "montreal"},
		{"", ""},
		{"--- !!", ""},
		{"1160123456", "1160123456"},
	}
	for _, tt := range tests {
		if got := domain.Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchFolded(t *testing.T) {
	text := domain.Fold("Coopérative de solidarité La Ruche, Saguenay")
	tests := []struct {
		query string
		want  bool
	}{
		{"saguenay coop", true},
		{"SOLIDARITÉ", true},
		{"sol", true},
		{"", true},
		{"ruche montreal", false},
		{"travail", false},
	}
	for _, tt := range tests {
		if got := domain.MatchFolded(text, domain.Fold(tt.query)); got != tt.want {
			t.Errorf("MatchFolded(%q, %q) = %v, want %v", text, tt.query, got, tt.want)
		}
	}
}

func TestNormalizeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Montre\u0301al", "Montréal"},
		{"  Coope\u0301rative  ", "Coopérative"},
		{"\u212b", "\u00c5"}, // Angstrom sign is canonically Å
		{"ligne 1\nligne 2", "ligne 1\nligne 2"},
		{"\t", ""},
		{"Œuvre", "Œuvre"}, // stored as typed: no folding
	}
	for _, tt := range tests {
		if got := domain.NormalizeText(tt.in); got != tt.want {
			t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMemberSearchKey(t *testing.T) {
	m := domain.Member{Name: "Mutuelle des Îles", Municipality: "Gaspé", NEQ: "1160123456", ContactName: "Josée Côté"}
	key := m.SearchKey()
	for _, q := range []string{"iles", "GASPE", "1160123456", "josee cote", "mutuelle gaspe"} {
		if !domain.MatchFolded(key, domain.Fold(q)) {
			t.Errorf("search key %q does not match %q", key, q)
		}
	}
}

// FuzzFold: the search key is a fixed point (folding a key changes
// nothing), valid UTF-8, made of lower-case letters and digits separated by
// single spaces, and search works on it: a text finds itself, and a text
// made of two parts is found by either part. The seed corpus is in
// testdata/fuzz/FuzzFold and runs with every go test.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"Coopérative", "MONTRÉAL", "Œuvre", "Montre\u0301al", "ẞ", "𝐀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := domain.Fold(s)
		if again := domain.Fold(got); again != got {
			t.Fatalf("Fold not idempotent: Fold(%q) = %q, Fold of that = %q", s, got, again)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Fold(%q) = %q is not valid UTF-8", s, got)
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("Fold(%q) = %q has stray spaces", s, got)
		}
		for _, r := range got {
			if unicode.IsUpper(r) || unicode.IsMark(r) || r != ' ' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				t.Fatalf("Fold(%q) = %q keeps %U", s, got, r)
			}
		}
		if !domain.MatchFolded(got, got) {
			t.Fatalf("%q does not find itself", s)
		}
		// Cut anywhere, even inside a character: each part finds the
		// whole once a separator joins them.
		a, b := s[:len(s)/2], s[len(s)/2:]
		whole := domain.Fold(a + " " + b)
		for _, part := range []string{a, b} {
			if !domain.MatchFolded(whole, domain.Fold(part)) {
				t.Fatalf("Fold(%q) = %q is not found by Fold(%q) = %q", a+" "+b, whole, part, domain.Fold(part))
			}
		}
	})
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Portable d'Ana", "Portable d'Ana"},
		{"Coopérative de l'Île", "Coopérative de l'Île"},
		{"a\x1b[2J\nfake row", `a\x1b[2J\x0afake row`},
		{"tab\there", `tab\x09here`},
		{"exe\u202etxt.", `exe\u202etxt.`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"csi\u009b31m", `csi\u009b31m`},
		{"bad \xff byte", `bad \xff byte`},
	}
	for _, tt := range tests {
		got := domain.Printable(tt.in)
		if got != tt.want {
			t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return domain.IsControl(r) || domain.Invisible(r) }) {
			t.Errorf("Printable(%q) = %q still holds a control or invisible character", tt.in, got)
		}
	}
}

func TestNormalizeLineAndText(t *testing.T) {
	if got, want := domain.NormalizeLine(" Portable\x00 d'Ana\x1b[2J\n2025 fake\trow\u202e "), "Portable d'Ana[2J 2025 fake row"; got != want {
		t.Errorf("NormalizeLine = %q, want %q", got, want)
	}
	if got, want := domain.NormalizeText("Ligne 1\n\tLigne 2\x07\u2028Ligne 3\u200b"), "Ligne 1\n\tLigne 2\nLigne 3"; got != want {
		t.Errorf("NormalizeText = %q, want %q", got, want)
	}
	for _, s := range []string{"Coope\u0301rative", "Ana\u0000", "x\u202ey", "a\nb"} {
		n := domain.NormalizeLine(s)
		if !domain.CheckLine(n) || domain.NormalizeLine(n) != n {
			t.Errorf("NormalizeLine(%q) = %q: not a clean, stable line", s, n)
		}
	}
}
