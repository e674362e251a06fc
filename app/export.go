package app

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

// CSV exports are for spreadsheets: UTF-8 with a byte order mark, which is
// what makes Excel read accents right (LibreOffice reads them either way),
// and the list separator each language's Excel expects: a semicolon in
// French, where the comma is the decimal mark, a comma in English. Dates
// are ISO days, which both sort and parse as dates.
const bom = "\ufeff"

func csvWriter(w io.Writer, loc *locales.Localizer) (*csv.Writer, error) {
	if _, err := io.WriteString(w, bom); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	if loc.Lang() == locales.French {
		cw.Comma = ';'
	}
	cw.UseCRLF = true // what Excel writes, and reads best
	return cw, nil
}

// cell guards free text against formula injection: a spreadsheet would
// run a cell starting with =, +, - or @ as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportNames resolves ids into the names an export shows.
type exportNames struct {
	members      map[string]store.MemberSummary
	coordinators map[string]string
	services     map[string]string
}

func loadExportNames(st *store.Store, loc *locales.Localizer) (exportNames, []store.MemberSummary, error) {
	n := exportNames{members: map[string]store.MemberSummary{}, coordinators: map[string]string{}, services: map[string]string{}}
	members, err := st.SearchMembers(store.MemberQuery{})
	if err != nil {
		return n, nil, err
	}
	for _, m := range members {
		n.members[m.ID] = m
	}
	ks, err := st.Coordinators()
	if err != nil {
		return n, nil, err
	}
	for _, k := range ks {
		n.coordinators[k.ID] = k.Name
	}
	services, err := st.Services()
	if err != nil {
		return n, nil, err
	}
	if len(services) == 0 {
		services = domain.DefaultServices()
	}
	for _, s := range services {
		n.services[s.ID] = loc.Service(s)
	}
	return n, members, nil
}

func (n exportNames) serviceList(ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = n.services[id]
		if names[i] == "" {
			names[i] = id
		}
	}
	return strings.Join(names, ", ")
}

// exportVisits writes every visit, member by member, newest first.
func exportVisits(w io.Writer, st *store.Store, loc *locales.Localizer) (int, error) {
	names, members, err := loadExportNames(st, loc)
	if err != nil {
		return 0, fmt.Errorf("export visits: %w", err)
	}
	bw := bufio.NewWriter(w)
	cw, err := csvWriter(bw, loc)
	if err != nil {
		return 0, fmt.Errorf("export visits: %w", err)
	}
	header := []string{"field.date", "field.member_id", "field.municipality", "field.region",
		"field.coordinator_id", "field.mode", "field.duration_minutes", "field.people_met",
		"field.services_discussed", "field.notes", "field.needs", "field.next_visit", "field.id"}
	for i, id := range header {
		header[i] = loc.T(id)
	}
	if err := cw.Write(header); err != nil {
		return 0, fmt.Errorf("export visits: %w", err)
	}
	n := 0
	for _, m := range members {
		visits, err := st.VisitsOfMember(m.ID, 0)
		if err != nil {
			return n, fmt.Errorf("export visits: %w", err)
		}
		for _, v := range visits {
			err := cw.Write([]string{
				v.Date.String(), cell(m.Name), cell(m.Municipality), loc.Region(m.Region),
				cell(names.coordinators[v.CoordinatorID]), loc.VisitMode(v.Mode), strconv.Itoa(v.DurationMinutes),
				cell(v.PeopleMet), cell(names.serviceList(v.ServicesDiscussed)), cell(v.Notes), cell(v.Needs),
				v.NextVisit.String(), v.ID,
			})
			if err != nil {
				return n, fmt.Errorf("export visits: %w", err)
			}
			n++
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("export visits: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export visits: %w", err)
	}
	return n, nil
}

// exportFollowUps writes every follow-up, open ones first, by due date.
func exportFollowUps(w io.Writer, st *store.Store, loc *locales.Localizer) (int, error) {
	names, _, err := loadExportNames(st, loc)
	if err != nil {
		return 0, fmt.Errorf("export follow-ups: %w", err)
	}
	bw := bufio.NewWriter(w)
	cw, err := csvWriter(bw, loc)
	if err != nil {
		return 0, fmt.Errorf("export follow-ups: %w", err)
	}
	header := []string{"field.due", "field.member_id", "field.region", "field.service_id",
		"field.description", "field.status", "field.assigned_to", "field.done_on", "field.done_by", "field.visit_id", "field.id"}
	for i, id := range header {
		header[i] = loc.T(id)
	}
	if err := cw.Write(header); err != nil {
		return 0, fmt.Errorf("export follow-ups: %w", err)
	}
	n := 0
	for _, status := range domain.FollowUpStatuses() {
		fus, err := st.FollowUps(store.FollowUpFilter{Status: status})
		if err != nil {
			return n, fmt.Errorf("export follow-ups: %w", err)
		}
		for _, f := range fus {
			m := names.members[f.MemberID]
			err := cw.Write([]string{
				f.Due.String(), cell(m.Name), loc.Region(m.Region), names.serviceList([]string{f.ServiceID}),
				cell(f.Description), loc.FollowUpStatus(f.Status), cell(f.AssignedTo), f.DoneOn.String(), cell(f.DoneBy), f.VisitID, f.ID,
			})
			if err != nil {
				return n, fmt.Errorf("export follow-ups: %w", err)
			}
			n++
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("export follow-ups: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export follow-ups: %w", err)
	}
	return n, nil
}
