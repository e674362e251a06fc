package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
)

// The central office's corrections of a visit, whoever recorded it. Both
// commands call the one implementation in package central
// (Server.CorrectVisit, Server.DeleteVisit) that the web console will use.

// visitID reads --id and checks its form.
func visitID(id string) (string, error) {
	if id == "" {
		return "", usagef("--id is required (the visit's id, as in terrain-central export visits)")
	}
	if err := domain.CheckID(id); err != nil {
		return "", usagef("--id %q is not a visit id (a lower-case UUID)", id)
	}
	return id, nil
}

// visitFlags maps each correctable field's flag to its JSON name in
// domain.Visit, and turns the flag's text into that field's JSON.
var visitFlags = []struct {
	flag, field, help string
	parse             func(string) (any, error)
}{
	{"date", "date", "the visit's day, YYYY-MM-DD", parseDay},
	{"duration", "duration_minutes", "the duration in minutes", func(s string) (any, error) { return strconv.Atoi(s) }},
	{"mode", "mode", "on_site, phone or video", func(s string) (any, error) { return s, nil }},
	{"people-met", "people_met", "the people met", func(s string) (any, error) { return s, nil }},
	{"services", "services_discussed", "the services discussed, comma-separated ids (empty for none)", parseServices},
	{"notes", "notes", "the notes", func(s string) (any, error) { return s, nil }},
	{"needs", "needs", "the needs expressed", func(s string) (any, error) { return s, nil }},
	{"next-visit", "next_visit", "the next visit's day, YYYY-MM-DD (empty for none)", parseDay},
	{"member", "member_id", "the id of the member the visit belongs to", func(s string) (any, error) { return s, nil }},
}

func parseDay(s string) (any, error) {
	if s == "" {
		return "", nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return nil, errors.New("not a date (YYYY-MM-DD)")
	}
	return d, nil
}

func parseServices(s string) (any, error) {
	out := []string{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *cli) visitsEdit(ctx context.Context, args []string) error {
	f := c.flags("visits edit")
	sf := f.store()
	idFlag := f.String("id", "", "the visit's id")
	values := make([]*string, len(visitFlags))
	for i, vf := range visitFlags {
		values[i] = f.String(vf.flag, "", vf.help)
	}
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	id, err := visitID(*idFlag)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	fields := map[string]json.RawMessage{}
	for i, vf := range visitFlags {
		if !set[vf.flag] {
			continue
		}
		v, err := vf.parse(*values[i])
		if err != nil {
			return usagef("--%s %q: %v", vf.flag, *values[i], err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fields[vf.field] = b
	}
	if len(fields) == 0 {
		return usagef("nothing to change: give at least one of %s", flagNames())
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		v, err := srv.CorrectVisit(ctx, id, fields)
		if err != nil {
			return explainVisitError(err, id)
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "corrected visit %s; every device receives it at its next sync, and an edit its author has not synced yet is kept as a conflict\n%s\n", id, b)
		return nil
	})
}

func (c *cli) visitsDelete(ctx context.Context, args []string) error {
	f := c.flags("visits delete")
	sf := f.store()
	idFlag := f.String("id", "", "the visit's id")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	id, err := visitID(*idFlag)
	if err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		if err := srv.DeleteVisit(ctx, id); err != nil {
			return explainVisitError(err, id)
		}
		fmt.Fprintf(c.stdout, "deleted visit %s; every device removes it at its next sync (its follow-ups stay)\n", id)
		return nil
	})
}

func flagNames() string {
	var out []string
	for _, vf := range visitFlags {
		out = append(out, "--"+vf.flag)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// explainVisitError words the refusals an administrator can act on.
func explainVisitError(err error, id string) error {
	var refused *central.RefusedError
	switch {
	case errors.Is(err, central.ErrUnknownVisit):
		return fmt.Errorf("no visit has id %s", id)
	case errors.Is(err, central.ErrVisitDeleted):
		return fmt.Errorf("visit %s was deleted", id)
	case errors.As(err, &refused):
		var parts []string
		for _, fe := range refused.Rejection.Fields {
			parts = append(parts, fe.Field+" ("+fe.Code+")")
		}
		if len(parts) == 0 {
			return fmt.Errorf("visit %s not changed: %s", id, refused.Rejection.Message)
		}
		return fmt.Errorf("visit %s not changed: %s", id, strings.Join(parts, ", "))
	}
	return err
}
