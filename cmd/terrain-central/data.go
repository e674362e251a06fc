package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/csvio"
	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

func today() domain.Date { return domain.DateOf(time.Now()) }

func (c *cli) membersImport(ctx context.Context, args []string) error {
	f := c.flags("members import")
	sf := f.store()
	rest, err := f.parse(args, 1, "one CSV file: terrain-central members import --data DIR FILE.csv")
	if err != nil {
		return err
	}
	file, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer file.Close()
	members, err := csvio.ReadMembers(file, today())
	var ce *csvio.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: nothing imported:\n%s", rest[0], ce)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		if err := srv.Import(ctx, members, nil, nil); err != nil {
			return fmt.Errorf("%s: nothing imported: %w", rest[0], err)
		}
		fmt.Fprintf(c.stdout, "imported %d members from %s\n", len(members), rest[0])
		return nil
	})
}

// exportTo writes an export through write into out ("-" for standard
// output), via a temporary file renamed at the end so that a failed export
// never leaves half a file where a spreadsheet expects a whole one.
func (c *cli) exportTo(out string, write func(io.Writer) (int, error)) (err error) {
	if out == "-" {
		_, err := write(c.stdout)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".export-*.csv")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := write(tmp)
	if err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "wrote %d rows to %s\n", n, out)
	return nil
}

// exportFlags parses the flags every export takes.
func (c *cli) exportFlags(what string, args []string) (storeFlags, string, string, error) {
	f := c.flags("export " + what)
	sf := f.store()
	out := f.String("out", "", "the CSV file to write, - for standard output")
	lang := f.String("lang", "fr", "language of the column names: fr (semicolons) or en (commas)")
	if _, err := f.parse(args, 0, ""); err != nil {
		return sf, "", "", err
	}
	if *out == "" {
		return sf, "", "", usagef("--out FILE.csv is required")
	}
	if *lang != "fr" && *lang != "en" {
		return sf, "", "", usagef("--lang is fr or en")
	}
	return sf, *out, *lang, nil
}

func (c *cli) export(ctx context.Context, kind csvio.Kind, args []string) error {
	sf, out, lang, err := c.exportFlags(string(kind), args)
	if err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		return c.exportTo(out, func(w io.Writer) (int, error) {
			return csvio.Export(w, kind, locales.New(lang), serverSource{ctx, srv})
		})
	})
}

// serverSource reads an export from the central service's records.
type serverSource struct {
	ctx context.Context
	srv *central.Server
}

func (s serverSource) EachMember(fn func(domain.Member) error) error {
	return s.srv.ExportMembers(s.ctx, fn)
}

func (s serverSource) EachVisit(fn func(domain.Visit) error) error {
	return s.srv.ExportVisits(s.ctx, fn)
}

func (s serverSource) EachFollowUp(fn func(domain.FollowUp) error) error {
	return s.srv.ExportFollowUps(s.ctx, fn)
}

func (s serverSource) Coordinators() ([]domain.Coordinator, error) {
	cs, err := s.srv.Coordinators(s.ctx)
	out := make([]domain.Coordinator, len(cs))
	for i, c := range cs {
		out[i] = c.Coordinator
	}
	return out, err
}

func (s serverSource) Services() ([]domain.Service, error) {
	var out []domain.Service
	err := s.srv.ExportServices(s.ctx, func(svc domain.Service) error { out = append(out, svc); return nil })
	return out, err
}

// demoBatch bounds the records of one import transaction while seeding.
const demoBatch = 2000

func (c *cli) demo(ctx context.Context, args []string) error {
	f := c.flags("demo")
	sf := f.store()
	seed := f.Int64("seed", 1, "seed of the demo data; the same seed gives the same data")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		g := demo.New(*seed, demo.Small(), today())
		existing, err := srv.Coordinators(ctx)
		if err != nil {
			return err
		}
		for _, k := range existing {
			if k.Email == demo.DemoEmail {
				return fmt.Errorf("demo data is already there (coordinator %s exists); start from an empty --data directory", demo.DemoEmail)
			}
		}
		var demoPassword string
		var demoRegions []string
		for _, k := range g.Coordinators() {
			password := central.GeneratePassword()
			if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{ID: k.ID, Name: k.Name, Email: k.Email, Regions: k.Regions, Password: []byte(password)}); err != nil {
				return fmt.Errorf("demo coordinator %s: %w", k.Email, err)
			}
			if k.Email == demo.DemoEmail {
				demoPassword, demoRegions = password, k.Regions
			}
		}
		members := g.Members()
		for i := 0; i < len(members); i += demoBatch {
			if err := srv.Import(ctx, members[i:min(i+demoBatch, len(members))], nil, nil); err != nil {
				return err
			}
		}
		nv, err := importInBatches(g.EachVisit, func(vs []domain.Visit) error { return srv.Import(ctx, nil, vs, nil) })
		if err != nil {
			return err
		}
		nf, err := importInBatches(g.EachFollowUp, func(fs []domain.FollowUp) error { return srv.Import(ctx, nil, nil, fs) })
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "demo data: %d members, %d visits, %d follow-ups, %d coordinators\n",
			len(members), nv, nf, len(g.Coordinators()))
		fmt.Fprintf(c.stdout, "demo coordinator (regions %s):\n  e-mail:   %s\n  password: %s\n",
			strings.Join(demoRegions, ", "), demo.DemoEmail, demoPassword)
		fmt.Fprintln(c.stdout, "The password is shown only now. The other demo coordinators have random passwords; set one with: terrain-central coordinator password --email E --password-stdin")
		return nil
	})
}

// importInBatches feeds what each yields to flush demoBatch records at a time,
// so the demo never holds every visit in memory, and returns how many it fed.
func importInBatches[T any](each func(func(T) error) error, flush func([]T) error) (int, error) {
	batch := make([]T, 0, demoBatch)
	n := 0
	send := func() error {
		n += len(batch)
		err := flush(batch)
		batch = batch[:0]
		return err
	}
	if err := each(func(v T) error {
		batch = append(batch, v)
		if len(batch) == demoBatch {
			return send()
		}
		return nil
	}); err != nil {
		return n, err
	}
	return n, send()
}
