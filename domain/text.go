package domain

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// NormalizeText returns s in Unicode NFC with surrounding white space
// removed: text is stored as typed, but two spellings of "é" must compare
// equal.
func NormalizeText(s string) string {
	return strings.TrimSpace(norm.NFC.String(s))
}

// Fold returns the search key of s: lower case, accents and other combining
// marks removed, ligatures and compatibility forms expanded, punctuation
// turned into single spaces.
// "Coopérative de l'Île" and "cooperative de l ile" fold alike, so "ILES"
// finds "Îles" and "montreal" finds "Montréal".
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // drop leading separators
	// NFKD rather than NFD: compatibility forms ("ﬁ", "²", mathematical
	// letters such as "𝐀") have no lower case of their own and would
	// otherwise stay unfolded. Invalid bytes become a separator first, as
	// norm leaves the runes that follow them undecomposed.
	for _, r := range norm.NFKD.String(strings.ToValidUTF8(s, " ")) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			// Expand after lowering: "ẞ" lowers to "ß", which must become
			// "ss" now, or Fold(Fold(s)) would differ from Fold(s).
			r = unicode.ToLower(r)
			if exp, ok := ligatures[r]; ok {
				b.WriteString(exp)
			} else {
				b.WriteRune(r)
			}
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimRight(b.String(), " ")
}

var ligatures = map[rune]string{'œ': "oe", 'æ': "ae", 'ß': "ss"}

// MatchFolded reports whether every word of the folded query occurs in the
// folded text, in any order: "saguenay coop" finds "Coopérative … Saguenay".
func MatchFolded(foldedText, foldedQuery string) bool {
	for _, w := range strings.Fields(foldedQuery) {
		if !strings.Contains(foldedText, w) {
			return false
		}
	}
	return true
}
