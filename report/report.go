// Package report makes Terrain's printable documents as PDF: the visit
// report a coordinator sends a member after a meeting, and the member
// sheet printed before one. Every word on the page comes from locales, in
// the coordinator's language; the text is set in the embedded Noto Sans
// (package font), so accents, ’ and « » print right on any reader.
//
// The PDF is written by codeberg.org/go-pdf/fpdf (maintained fork of
// jung-kurt/gofpdf): it embeds and subsets TrueType fonts with UTF-8 text,
// wraps text and breaks pages itself, and is pure Go: no C library to ship
// with the app.
package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/report/font"
)

// Page geometry, in millimetres. Letter paper: what Québec offices print.
const (
	margin   = 20.0
	labelW   = 52.0 // the label column of a field
	lineH    = 5.2  // one line of body text
	bodySize = 10.0
)

// Colours: body text near black, labels and rules grey, titles the app's
// accent blue.
var (
	textRGB  = [3]int{33, 33, 33}
	greyRGB  = [3]int{110, 110, 110}
	ruleRGB  = [3]int{190, 190, 190}
	titleRGB = [3]int{21, 101, 192}
)

// doc is a document being laid out.
type doc struct {
	pdf      *fpdf.Fpdf
	loc      *locales.Localizer
	services map[string]domain.Service
	today    domain.Date // the day the document is made
}

// newDoc starts a document titled title, made at made: its date shows in
// the footer and in the PDF's metadata (which a fixed date keeps
// reproducible).
func newDoc(loc *locales.Localizer, title, author string, services []domain.Service, made time.Time) *doc {
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.AddUTF8FontFromBytes(font.Family, "", font.Regular)
	pdf.AddUTF8FontFromBytes(font.Family, "B", font.Bold)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, margin)
	pdf.SetTitle(title, true)
	pdf.SetAuthor(author, true)
	pdf.SetCreator(loc.T("app.title"), true)
	pdf.SetLang(loc.Lang())
	pdf.SetCreationDate(made)
	pdf.SetModificationDate(made)
	pdf.SetCatalogSort(true)
	pdf.AliasNbPages("{nb}")
	d := &doc{pdf: pdf, loc: loc, services: map[string]domain.Service{}, today: domain.DateOf(made)}
	for _, s := range domain.DefaultServices() {
		d.services[s.ID] = s
	}
	for _, s := range services {
		d.services[s.ID] = s
	}
	footer := func(page int) string {
		return loc.T("pdf.footer", map[string]any{"Date": loc.Date(domain.DateOf(made)), "Page": page, "Pages": "{nb}"})
	}
	pdf.SetFooterFunc(func() {
		pdf.SetY(-margin + 6)
		d.font(false, 8, greyRGB)
		pdf.CellFormat(0, 4, footer(pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	return d
}

// finish writes the document to w.
func (d *doc) finish(w io.Writer) error {
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

func (d *doc) font(bold bool, size float64, rgb [3]int) {
	style := ""
	if bold {
		style = "B"
	}
	d.pdf.SetFont(font.Family, style, size)
	d.pdf.SetTextColor(rgb[0], rgb[1], rgb[2])
}

// header is the top of the first page: the consortium, the kind of
// document, the member's name and what the member is.
func (d *doc) header(kind string, m domain.Member) {
	loc := d.loc
	d.font(false, 9, greyRGB)
	d.pdf.MultiCell(0, 4.5, loc.T("pdf.consortium"), "", "L", false)
	d.pdf.Ln(2)
	d.font(true, 11, titleRGB)
	d.pdf.MultiCell(0, 6, kind, "", "L", false)
	d.font(true, 18, textRGB)
	d.pdf.MultiCell(0, 8.5, m.Name, "", "L", false)
	d.font(false, bodySize, greyRGB)
	d.pdf.MultiCell(0, lineH, join(" · ", loc.LegalForm(m.LegalForm), m.Municipality, loc.Region(m.Region)), "", "L", false)
	d.pdf.Ln(2)
	d.rule()
}

// rule draws a thin line across the page.
func (d *doc) rule() {
	w, _ := d.pdf.GetPageSize()
	y := d.pdf.GetY()
	d.pdf.SetDrawColor(ruleRGB[0], ruleRGB[1], ruleRGB[2])
	d.pdf.SetLineWidth(0.3)
	d.pdf.Line(margin, y, w-margin, y)
	d.pdf.Ln(3)
}

// section starts a titled part, on a new page when too little of this one
// is left for its title and a first line.
func (d *doc) section(title string) {
	_, h := d.pdf.GetPageSize()
	if d.pdf.GetY() > h-margin-20 {
		d.pdf.AddPage()
	}
	d.pdf.Ln(3)
	d.font(true, 12, titleRGB)
	d.pdf.MultiCell(0, 7, title, "", "L", false)
	d.pdf.Ln(1)
}

// field is a label and its value side by side; an empty value is left
// out, as a blank line on paper says nothing.
func (d *doc) field(label, value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	_, h := d.pdf.GetPageSize()
	if d.pdf.GetY() > h-margin-lineH {
		d.pdf.AddPage()
	}
	y := d.pdf.GetY()
	d.font(true, 9, greyRGB)
	d.pdf.MultiCell(labelW-3, lineH, label, "", "L", false)
	labelEnd, labelPage := d.pdf.GetY(), d.pdf.PageNo()
	d.pdf.SetY(y)
	d.pdf.SetX(margin + labelW)
	d.font(false, bodySize, textRGB)
	d.pdf.MultiCell(0, lineH, value, "", "L", false)
	if d.pdf.PageNo() == labelPage && labelEnd > d.pdf.GetY() {
		d.pdf.SetY(labelEnd)
	}
	d.pdf.Ln(1)
}

// paragraph is free text, its line breaks kept.
func (d *doc) paragraph(text string) {
	d.font(false, bodySize, textRGB)
	d.pdf.MultiCell(0, lineH, text, "", "L", false)
	d.pdf.Ln(1)
}

// bullet is one item of a list: a bold first line and optional details,
// the first line never alone at the foot of a page.
func (d *doc) bullet(head, details string) {
	if _, h := d.pdf.GetPageSize(); details != "" && d.pdf.GetY() > h-margin-3*lineH {
		d.pdf.AddPage()
	}
	d.font(true, bodySize, textRGB)
	d.pdf.CellFormat(5, lineH, "•", "", 0, "L", false, 0, "")
	d.pdf.MultiCell(0, lineH, head, "", "L", false)
	if details != "" {
		d.font(false, 9, greyRGB)
		d.pdf.SetX(margin + 5)
		d.pdf.MultiCell(0, lineH, details, "", "L", false)
	}
	d.pdf.Ln(1)
}

// serviceList names services in the document's language.
func (d *doc) serviceList(ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id
		if s, ok := d.services[id]; ok {
			names[i] = d.loc.Service(s)
		}
	}
	return strings.Join(names, ", ")
}

// profile is the member's profile and main contact.
func (d *doc) profile(m domain.Member) {
	loc := d.loc
	d.field(loc.T("field.legal_form"), loc.LegalForm(m.LegalForm))
	d.field(loc.T("member.neq"), m.NEQ)
	d.field(loc.T("field.address"), join(", ", m.Address, m.Municipality, m.PostalCode))
	d.field(loc.T("field.region"), loc.Region(m.Region))
	d.field(loc.T("field.phone"), m.Phone)
	d.field(loc.T("field.email"), m.Email)
	d.field(loc.T("field.website"), m.Website)
	if !m.MemberSince.IsZero() {
		d.field(loc.T("field.member_since"), loc.Date(m.MemberSince))
	}
	d.field(loc.T("field.status"), loc.MemberStatus(m.Status))
	d.field(loc.T("field.contact_name"), join("\n", join(", ", m.ContactName, m.ContactRole), m.ContactPhone, m.ContactEmail))
	d.field(loc.T("field.services"), d.serviceList(m.Services))
}

// followUp is one follow-up as a list item: what, then service, due date
// (or since when it is overdue), standing and who.
func (d *doc) followUp(f domain.FollowUp) {
	loc := d.loc
	var service string
	if f.ServiceID != "" {
		service = d.serviceList([]string{f.ServiceID})
	}
	var due string
	switch {
	case f.Overdue(d.today):
		due = loc.T("followups.overdue_since", map[string]any{"Date": loc.Date(f.Due)})
	case !f.Due.IsZero():
		due = loc.T("pdf.due", map[string]any{"Date": loc.Date(f.Due)})
	}
	var who string
	if f.AssignedTo != "" {
		who = loc.T("pdf.assigned_to", map[string]any{"Name": f.AssignedTo})
	}
	d.bullet(f.Description, join(" · ", service, due, loc.FollowUpStatus(f.Status), who))
}

func join(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
