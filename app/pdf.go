package app

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/report"
	"leconsortium.coop/terrain/store"
)

// The member screen's PDF documents (package report): the member sheet, to
// print before a meeting, and the report of one visit, to send the member
// after it. Both are saved where the user chooses.

// sheetButton is the member screen's "PDF sheet…" button.
func (d *memberDetail) sheetButton() *widget.Button {
	u, id := d.u, d.id
	return widget.NewButtonWithIcon(u.loc.T("member.pdf_sheet"), theme.Icon(theme.IconNameDocumentPrint), func() {
		u.savePDF(u.loc.T("pdf.file.member", map[string]any{"Name": fileSafe(d.member.Name)}),
			func(w io.Writer) error { return u.writeMemberSheet(w, id) })
	})
}

// reportButton saves the visit report of v as PDF; the history shows it
// beside each visit.
func (d *memberDetail) reportButton(v domain.Visit) *widget.Button {
	u, name := d.u, d.member.Name
	b := widget.NewButtonWithIcon(u.loc.T("visit.pdf_report"), theme.Icon(theme.IconNameDocumentPrint), func() {
		u.savePDF(u.loc.T("pdf.file.visit", map[string]any{"Name": fileSafe(name), "Date": v.Date.String()}),
			func(w io.Writer) error { return u.writeVisitReport(w, v.MemberID, v.ID) })
	})
	b.Importance = widget.LowImportance
	return b
}

// savePDF asks where to save a document named name, then writes it there.
func (u *UI) savePDF(name string, write func(io.Writer) error) {
	u.saveFile(name, func(w fyne.URIWriteCloser) { u.writePDFTo(w, write) })
}

// writePDFTo writes a document to the chosen file, then says where it is.
func (u *UI) writePDFTo(w fyne.URIWriteCloser, write func(io.Writer) error) {
	loc := u.loc
	u.writeChosen(w, write, loc.T("pdf.saved_title"), func(path string) string {
		return loc.T("pdf.saved", map[string]any{"Path": path})
	})
}

// writeVisitReport writes the report of one visit of member memberID.
func (u *UI) writeVisitReport(w io.Writer, memberID, visitID string) error {
	m, err := u.st.Member(memberID)
	if err != nil {
		return fmt.Errorf("visit report: %w", err)
	}
	v, err := u.st.Visit(visitID)
	if err != nil {
		return fmt.Errorf("visit report: %w", err)
	}
	var promised []domain.FollowUp
	for _, status := range domain.FollowUpStatuses() {
		fus, err := u.st.FollowUps(store.FollowUpFilter{Status: status, MemberID: memberID})
		if err != nil {
			return fmt.Errorf("visit report: %w", err)
		}
		for _, f := range fus {
			if f.VisitID == visitID {
				promised = append(promised, f)
			}
		}
	}
	names, err := u.coordinatorNames()
	if err != nil {
		return fmt.Errorf("visit report: %w", err)
	}
	return report.WriteVisit(w, u.loc, report.Visit{Member: m, Visit: v, FollowUps: promised,
		Coordinator: names[v.CoordinatorID], Services: u.services(), Made: u.cfg.Now()})
}

// writeMemberSheet writes the sheet of member id.
func (u *UI) writeMemberSheet(w io.Writer, id string) error {
	m, err := u.st.Member(id)
	if err != nil {
		return fmt.Errorf("member sheet: %w", err)
	}
	visits, err := u.st.VisitsOfMember(id, 0)
	if err != nil {
		return fmt.Errorf("member sheet: %w", err)
	}
	open, err := u.st.FollowUps(store.FollowUpFilter{MemberID: id})
	if err != nil {
		return fmt.Errorf("member sheet: %w", err)
	}
	names, err := u.coordinatorNames()
	if err != nil {
		return fmt.Errorf("member sheet: %w", err)
	}
	return report.WriteMember(w, u.loc, report.Member{Member: m, Visits: visits, FollowUps: open,
		Coordinators: names, Services: u.services(), Made: u.cfg.Now()})
}

func (u *UI) coordinatorNames() (map[string]string, error) {
	ks, err := u.st.Coordinators()
	names := make(map[string]string, len(ks))
	for _, k := range ks {
		names[k.ID] = k.Name
	}
	return names, err
}

// fileSafe makes a member's name usable in a file name on every system:
// no path separators, no characters Windows refuses, no control
// characters, at most 60 characters.
func fileSafe(name string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(name) {
		if n == 60 {
			break
		}
		if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			r = '-'
		}
		b.WriteRune(r)
		n++
	}
	return strings.Trim(b.String(), " .-")
}

// screenPDF saves the showcase member's sheet, or the report of its latest
// visit, to Config.PDFOut, through the same code as the buttons (the
// screenshot script renders its first page once pdfinfo reads it whole).
func (u *UI) screenPDF(visit bool, memberID string) {
	out := u.cfg.PDFOut
	if out == "" {
		return
	}
	go func() {
		f, err := os.Create(out)
		if err == nil {
			if visit {
				err = u.writeLatestVisitReport(f, memberID)
			} else {
				err = u.writeMemberSheet(f, memberID)
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			u.log.Error("screenshot pdf", "err", err)
		}
	}()
}

// writeLatestVisitReport reports the member's latest visit that led to a
// follow-up, or its latest visit.
func (u *UI) writeLatestVisitReport(w io.Writer, memberID string) error {
	visits, err := u.st.VisitsOfMember(memberID, 0)
	if err != nil {
		return err
	}
	if len(visits) == 0 {
		return fmt.Errorf("member %s has no visit to report", memberID)
	}
	fus, err := u.st.FollowUps(store.FollowUpFilter{MemberID: memberID})
	if err != nil {
		return err
	}
	pick := visits[0]
	for _, v := range visits {
		if slices.ContainsFunc(fus, func(f domain.FollowUp) bool { return f.VisitID == v.ID }) {
			pick = v
			break
		}
	}
	return u.writeVisitReport(w, memberID, pick.ID)
}
