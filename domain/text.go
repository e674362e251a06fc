package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeText returns multi-line text (notes, needs, descriptions) in
// stored form: Unicode NFC, surrounding white space removed, and no
// character that changes how text shows without showing itself (controls
// other than tab and line breaks, bidi overrides, zero-width characters,
// non-characters). Text is otherwise stored as typed, but two spellings of
// "é" must compare equal.
func NormalizeText(s string) string {
	return strings.TrimSpace(norm.NFC.String(strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r == '\u0085' || r == '\u2028' || r == '\u2029':
			return '\n'
		case IsControl(r) || Invisible(r):
			return -1
		}
		return r
	}, s)))
}

// NormalizeLine is NormalizeText for a single-line field (a name, an
// e-mail, a device name): tabs and line breaks become spaces too, so that
// the value cannot forge a row or a line in a table, a CSV file or a log.
func NormalizeLine(s string) string {
	return strings.TrimSpace(norm.NFC.String(strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' ||
			r == '\u0085' || r == '\u2028' || r == '\u2029':
			return ' '
		case IsControl(r) || Invisible(r):
			return -1
		}
		return r
	}, s)))
}

// IsControl reports whether r is a C0 or C1 control character or DEL.
func IsControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f
}

// Invisible reports whether r changes how text shows without showing
// itself: a bidi embedding, override, isolate or mark (U+202E turns
// "exe.txt" into "txt.exe"), a zero-width character, a byte-order mark, or
// a Unicode non-character.
func Invisible(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidi controls
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r == 0x180e:
		return true // zero-width
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return true // non-characters
	}
	return false
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

// Printable returns s as a terminal, a table or a log line may show it:
// every control character, bidi control, zero-width character,
// non-character and invalid byte is written as a Go escape ("\x1b",
// "\u202e"), so that a value cannot clear a screen, colour it, forge a row
// or reorder what follows. Values stored before they were cleaned on the
// way in are shown this way too.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || IsControl(r) || Invisible(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case IsControl(r) || Invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}
