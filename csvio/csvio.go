// Package csvio is the one home of Terrain's CSV files: every export (the
// app's Settings, `terrain export`, `terrain-central export`) and the
// members import of `terrain-central members import`. It holds the
// encoding (UTF-8 with a byte-order mark, the list separator of the
// language, CRLF line ends, formula neutralisation), the column set of
// each kind of row, and the lookups that turn ids into names. The app and
// the CLI write the same bytes for the same data and language.
//
// It reads members from CSV files as people make them (Excel or
// LibreOffice, French or English headers, comma or semicolon, with or
// without a byte-order mark). Reading is all or nothing: every faulty line
// is reported with its line number, and no member is returned unless all
// are good. docs/csv.md describes the columns.
package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

// bom is the UTF-8 byte-order mark: Excel needs it to read UTF-8.
const bom = "\ufeff"

// MaxRows bounds an import; a federation has some 20,000 members.
const MaxRows = 100_000

// LineError is one problem at one line of the file.
type LineError struct {
	Line    int
	Column  string // as written in the file's header; "" for the whole line
	Message string
}

func (e LineError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d, column %q: %s", e.Line, e.Column, e.Message)
}

// Error lists every problem found in a file.
type Error struct {
	Lines []LineError
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, l := range e.Lines {
		if i == 30 {
			fmt.Fprintf(&b, "\n… and %d more", len(e.Lines)-30)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.String())
	}
	return b.String()
}

// ErrNotCSV is returned (in an *Error) for a file that is not UTF-8 text.
var ErrNotCSV = errors.New("not a UTF-8 CSV file")

// column is one column of a kind of row: how it is named in a file and how
// its cell is written and, for what can be imported, read.
type column[T any] struct {
	key     string   // stable name, the record's JSON field; accepted as a header
	label   string   // locales message id of the header an export writes
	aliases []string // other accepted headers: older exports, usual spellings
	get     func(*Names, T) string
	set     func(*T, string) error
}

// headerKey folds a header cell so "Code postal", "code_postal" and
// "CODE POSTAL" match.
func headerKey(s string) string { return domain.Fold(s) }

// sniffDelimiter picks the separator the header line uses most: French
// spreadsheets write ';', English ones ','.
func sniffDelimiter(header []byte) rune {
	best, bestN := ',', -1
	for _, d := range []rune{',', ';', '\t'} {
		n, quoted := 0, false
		for _, r := range string(header) {
			switch {
			case r == '"':
				quoted = !quoted
			case r == d && !quoted:
				n++
			}
		}
		if n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// readTable reads a whole CSV file: header cells and rows, with the line
// where each row starts.
func readTable(r io.Reader) (header []string, rows [][]string, lines []int, err error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read csv: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte(bom))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, nil, nil, &Error{Lines: []LineError{{Line: line, Message: "not UTF-8 text; save the file as \"CSV UTF-8\""}}}
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = sniffDelimiter(first)
	cr.FieldsPerRecord = -1 // short lines are reported with their number below
	cr.ReuseRecord = false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, nil, &Error{Lines: []LineError{{Line: pe.StartLine, Message: "unreadable line: " + pe.Err.Error()}}}
			}
			return nil, nil, nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if header == nil {
			header = rec
			continue
		}
		if blank(rec) {
			continue
		}
		if len(rows) == MaxRows {
			return nil, nil, nil, &Error{Lines: []LineError{{Line: line, Message: fmt.Sprintf("more than %d rows", MaxRows)}}}
		}
		rows = append(rows, rec)
		lines = append(lines, line)
	}
	if header == nil {
		return nil, nil, nil, &Error{Lines: []LineError{{Line: 1, Message: "empty file: the first line must name the columns"}}}
	}
	return header, rows, lines, nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// mapHeader matches the header cells to columns. Every cell must name a
// known column, once; required columns must be there.
func mapHeader[T any](header []string, cols []column[T], required []string) ([]*column[T], []LineError) {
	byName := map[string]*column[T]{}
	for i := range cols {
		c := &cols[i]
		for _, n := range c.headers() {
			byName[headerKey(n)] = c
		}
	}
	var errs []LineError
	out := make([]*column[T], len(header))
	seen := map[string]bool{}
	for i, h := range header {
		c, ok := byName[headerKey(h)]
		switch {
		case strings.TrimSpace(h) == "":
			errs = append(errs, LineError{Line: 1, Message: fmt.Sprintf("column %d has no name", i+1)})
		case !ok:
			errs = append(errs, LineError{Line: 1, Column: h, Message: "unknown column; known columns are " + knownColumns(cols)})
		case seen[c.key]:
			errs = append(errs, LineError{Line: 1, Column: h, Message: "column given twice"})
		default:
			seen[c.key] = true
			out[i] = c
		}
	}
	for _, r := range required {
		if !seen[r] {
			for _, c := range cols {
				if c.key == r {
					errs = append(errs, LineError{Line: 1, Message: fmt.Sprintf("missing column %q (%s)", c.header(fr), c.header(en))})
				}
			}
		}
	}
	return out, errs
}

func knownColumns[T any](cols []column[T]) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.header(fr) + " / " + c.header(en)
	}
	return strings.Join(names, ", ")
}

// formulaStart are the first characters that make a spreadsheet read a
// cell as a formula: a note typed as "=HYPERLINK(…)" must stay text.
const formulaStart = "=+-@\t\r"

// escapeCell prefixes a cell that a spreadsheet would run as a formula with
// an apostrophe, which spreadsheets hide and unescapeCell removes. It also
// drops what a cell must not carry, in case a value was stored before text
// was cleaned on the way in: controls other than tab and line breaks, bidi
// overrides, zero-width characters and non-characters.
func escapeCell(s string) string {
	if strings.ContainsFunc(s, unsafeInCell) {
		s = strings.Map(func(r rune) rune {
			if unsafeInCell(r) {
				return -1
			}
			return r
		}, s)
	}
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

func unsafeInCell(r rune) bool {
	return domain.IsControl(r) && r != '\t' && r != '\n' && r != '\r' || domain.Invisible(r)
}

func unescapeCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStart, rune(s[1])) {
		return s[1:]
	}
	return s
}

// The header languages, loaded once: an import accepts both.
var (
	fr = locales.New(locales.French)
	en = locales.New(locales.English)
)

// header is the column's name in loc's language.
func (c *column[T]) header(loc *locales.Localizer) string { return loc.T(c.label) }

// headers lists every name a file may give the column.
func (c *column[T]) headers() []string {
	return append([]string{c.key, c.header(fr), c.header(en)}, c.aliases...)
}

// Separator is the list separator of a CSV file in lang: a semicolon in
// French, where the comma is the decimal mark and French spreadsheets split
// on ';', a comma in English, which English spreadsheets split on.
func Separator(lang string) rune {
	if lang == locales.English {
		return ','
	}
	return ';'
}

// Writer writes rows of one kind as CSV for spreadsheets.
type Writer[T any] struct {
	cw    *csv.Writer
	bw    *bufio.Writer
	names *Names
	cols  []column[T]
	row   []string
}

// newWriter writes the byte-order mark and the header in the names'
// language.
func newWriter[T any](w io.Writer, names *Names, cols []column[T]) (*Writer[T], error) {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(bom); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true // what Excel writes and expects
	cw.Comma = Separator(names.loc.Lang())
	header := make([]string, len(cols))
	for i := range cols {
		header[i] = cols[i].header(names.loc)
	}
	if err := cw.Write(header); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	return &Writer[T]{cw: cw, bw: bw, names: names, cols: cols, row: make([]string, len(cols))}, nil
}

// Write adds one row.
func (w *Writer[T]) Write(v T) error {
	for i, c := range w.cols {
		w.row[i] = escapeCell(c.get(w.names, v))
	}
	if err := w.cw.Write(w.row); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Flush writes out what is buffered; call it once at the end.
func (w *Writer[T]) Flush() error {
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
