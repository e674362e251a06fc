// Package font embeds the typeface of Terrain's PDF documents: Noto Sans,
// regular and bold, under the SIL Open Font License 1.1 (OFL.txt beside
// it). A PDF that only named a standard font would show « », ’ and accents
// with whatever the reader substitutes, or not at all; embedding the font
// makes the printed page the same everywhere. It covers Latin with every
// French diacritic, the typographic quotes and the narrow no-break space.
package font

import _ "embed"

// Family is the name the documents give the typeface.
const Family = "NotoSans"

// Regular is NotoSans-Regular.ttf.
//
//go:embed NotoSans-Regular.ttf
var Regular []byte

// Bold is NotoSans-Bold.ttf.
//
//go:embed NotoSans-Bold.ttf
var Bold []byte
