package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
)

// The commands of Law 25: a member's dossier for an access request, a
// member's deletion, the purge of visits past the retention period. See
// docs/privacy.md.

// retentionPeriod is how often serve purges expired visits.
const retentionPeriod = 24 * time.Hour

// retentionFlag declares --visit-retention-months, shared by serve and
// visits purge (and their environment variable).
func (f *flags) retentionFlag() *string {
	return f.str("visit-retention-months", strconv.Itoa(central.DefaultVisitRetentionMonths),
		"months visits and follow-ups are kept, counted from their date; 0 keeps them forever (not advised under Law 25)")
}

// parseRetention reads --visit-retention-months into central.Options'
// terms: months, or -1 for "forever".
func parseRetention(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, usagef("--visit-retention-months is a number of months, 0 or more (0: keep forever), not %q", s)
	}
	if n == 0 {
		return -1, nil // central.Options reads 0 as "the default"
	}
	return n, nil
}

// memberID reads --id and checks its form.
func memberID(id string) (string, error) {
	if id == "" {
		return "", usagef("--id is required (the member's id, as in terrain-central export members)")
	}
	if err := domain.CheckID(id); err != nil {
		return "", usagef("--id %q is not a member id (a lower-case UUID)", id)
	}
	return id, nil
}

func explainMemberError(err error, id string) error {
	if errors.Is(err, central.ErrUnknownMember) {
		return fmt.Errorf("no member has id %s", id)
	}
	return err
}

func (c *cli) membersShow(ctx context.Context, args []string) error {
	f := c.flags("members show")
	sf := f.store()
	idFlag := f.String("id", "", "the member's id")
	out := f.String("out", "-", "the JSON file to write, - for standard output")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	id, err := memberID(*idFlag)
	if err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		d, err := srv.MemberDossier(ctx, id)
		if err != nil {
			return explainMemberError(err, id)
		}
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if *out == "-" {
			_, err := c.stdout.Write(b)
			return err
		}
		if err := writeFileAtomic(*out, b); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "wrote the dossier of member %s (%d visits, %d follow-ups, %d conflicts, %d refused changes) to %s\n",
			id, len(d.Visits), len(d.FollowUps), len(d.Conflicts), len(d.Rejections), *out)
		return nil
	})
}

// writeFileAtomic writes data to path through a temporary file renamed at
// the end, readable by its owner only: a dossier is personal information.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dossier-*.json")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c *cli) membersDelete(ctx context.Context, args []string) error {
	f := c.flags("members delete")
	sf := f.store()
	idFlag := f.String("id", "", "the member's id")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	id, err := memberID(*idFlag)
	if err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		e, err := srv.DeleteMember(ctx, id)
		if err != nil {
			return explainMemberError(err, id)
		}
		what := fmt.Sprintf("member %s (%s, region %s)", id, e.Name, e.Region)
		if e.AlreadyDeleted {
			what = fmt.Sprintf("member %s (already deleted)", id)
		}
		fmt.Fprintf(c.stdout, "deleted %s with %d visits, %d follow-ups and %d conflict records; "+
			"only their ids remain, and every device removes them at its next sync\n",
			what, e.Visits, e.FollowUps, e.Conflicts)
		return nil
	})
}

func (c *cli) visitsPurge(ctx context.Context, args []string) error {
	f := c.flags("visits purge")
	sf := f.store()
	beforeFlag := f.String("before", "", "erase what is dated before this day (YYYY-MM-DD); "+
		"by default, the day --visit-retention-months before today")
	months := f.retentionFlag()
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	var before domain.Date
	switch {
	case *beforeFlag != "":
		d, err := domain.ParseDate(*beforeFlag)
		if err != nil {
			return usagef("--before %q is not a date (YYYY-MM-DD)", *beforeFlag)
		}
		if d.After(today()) {
			return usagef("--before %s is in the future", d)
		}
		before = d
	default:
		n, err := parseRetention(*months)
		if err != nil {
			return err
		}
		if n < 0 {
			return usagef("the visit retention is off (0 months): nothing to purge; give --before YYYY-MM-DD to purge anyway")
		}
		before = central.RetentionCutoff(today(), n)
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		p, err := srv.PurgeVisits(ctx, before)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "erased %d visits, %d follow-ups and %d conflict records dated before %s; "+
			"every device removes them at its next sync\n", p.Visits, p.FollowUps, p.Conflicts, before)
		return nil
	})
}
