package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// parseRegions reads "09,10" and names the first unknown code.
func parseRegions(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		code := strings.TrimSpace(part)
		if code == "" {
			continue
		}
		if len(code) == 1 {
			code = "0" + code
		}
		if !domain.ValidRegion(code) {
			return nil, usagef("unknown region code %q: regions are 01 to 17 (e.g. --regions 09,10)", strings.TrimSpace(part))
		}
		out = append(out, code)
	}
	return domain.SortedRegionCodes(out), nil
}

// readPassword reads the first line of standard input: passwords never go
// on the command line, where ps and shell history would show them.
func (c *cli) readPassword() ([]byte, error) {
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, usagef("the password read from standard input is empty")
	}
	return []byte(line), nil
}

// explainCoordinatorError turns the server's errors into operator messages.
func explainCoordinatorError(err error, email string) error {
	var ve *domain.ValidationError
	switch {
	case errors.Is(err, central.ErrDuplicateEmail):
		return fmt.Errorf("a coordinator with e-mail %s already exists", email)
	case errors.Is(err, central.ErrUnknownCoordinator):
		return fmt.Errorf("no coordinator has e-mail %s (see terrain-central coordinator list)", email)
	case errors.Is(err, central.ErrWeakPassword):
		return usageError{err.Error()}
	case errors.As(err, &ve):
		var parts []string
		for _, fe := range ve.Fields {
			parts = append(parts, fmt.Sprintf("%s is %s", fe.Field, explainCode(fe.Code)))
		}
		return usagef("%s", strings.Join(parts, "; "))
	}
	return err
}

func explainCode(code string) string {
	switch code {
	case domain.CodeRequired:
		return "required"
	case domain.CodeEmail:
		return "not an e-mail address"
	case domain.CodeTooLong:
		return "too long"
	case domain.CodeRegionsNeeded:
		return "empty: give at least one region"
	}
	return "invalid (" + strings.TrimPrefix(code, "validation.") + ")"
}

func (c *cli) coordinatorAdd(ctx context.Context, args []string) error {
	f := c.flags("coordinator add")
	sf := f.store()
	email := f.String("email", "", "e-mail address, used to sign in")
	name := f.String("name", "", "full name")
	regions := f.String("regions", "", "region codes, comma separated (e.g. 09,10)")
	admin := f.Bool("admin", false, "central office: every region, may delete members")
	stdin := f.Bool("password-stdin", false, "read the password from the first line of standard input")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	if !*stdin {
		return usagef("give the password on standard input with --password-stdin")
	}
	if *email == "" || *name == "" {
		return usagef("--email and --name are required")
	}
	codes, err := parseRegions(*regions)
	if err != nil {
		return err
	}
	if len(codes) == 0 && !*admin {
		return usagef("--regions is required (e.g. --regions 09,10), or --admin")
	}
	password, err := c.readPassword()
	if err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		k, err := srv.AddCoordinator(ctx, central.NewCoordinator{Name: *name, Email: *email, Regions: codes, Admin: *admin, Password: password})
		if err != nil {
			return explainCoordinatorError(err, *email)
		}
		fmt.Fprintf(c.stdout, "added coordinator %s <%s> (%s), regions %s\n", domain.Printable(k.Name), domain.Printable(k.Email), k.Role, strings.Join(k.Regions, ","))
		return nil
	})
}

func (c *cli) coordinatorList(ctx context.Context, args []string) error {
	f := c.flags("coordinator list")
	sf := f.store()
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		list, err := srv.Coordinators(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "E-MAIL\tNAME\tROLE\tREGIONS\tSTATUS\tID")
		for _, k := range list {
			status := "active"
			if k.Disabled {
				status = "disabled"
			}
			regions := strings.Join(k.Regions, ",")
			if k.Role == protocol.RoleAdmin {
				regions = "all"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", domain.Printable(k.Email), domain.Printable(k.Name), k.Role, regions, status, k.ID)
		}
		return tw.Flush()
	})
}

// emailCommand is the shape of the commands that act on one coordinator.
func (c *cli) emailCommand(ctx context.Context, name string, args []string, extra func(*flags) func() error,
	act func(srv *central.Server, email string) (string, error)) error {
	f := c.flags("coordinator " + name)
	sf := f.store()
	email := f.String("email", "", "the coordinator's e-mail address")
	var check func() error
	if extra != nil {
		check = extra(f)
	}
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	if *email == "" {
		return usagef("--email is required")
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		msg, err := act(srv, *email)
		if err != nil {
			return explainCoordinatorError(err, *email)
		}
		fmt.Fprintln(c.stdout, msg)
		return nil
	})
}

func (c *cli) coordinatorDisable(ctx context.Context, args []string) error {
	return c.emailCommand(ctx, "disable", args, nil, func(srv *central.Server, email string) (string, error) {
		return "disabled " + email + "; their devices are refused from now on", srv.DisableCoordinator(ctx, email)
	})
}

func (c *cli) coordinatorEnable(ctx context.Context, args []string) error {
	return c.emailCommand(ctx, "enable", args, nil, func(srv *central.Server, email string) (string, error) {
		return "enabled " + email, srv.EnableCoordinator(ctx, email)
	})
}

func (c *cli) coordinatorRegions(ctx context.Context, args []string) error {
	var codes []string
	return c.emailCommand(ctx, "set-regions", args, func(f *flags) func() error {
		regions := f.String("regions", "", "the new region codes, comma separated (e.g. 09,10)")
		return func() (err error) {
			if codes, err = parseRegions(*regions); err == nil && len(codes) == 0 {
				err = usagef("--regions is required (e.g. --regions 09,10)")
			}
			return err
		}
	}, func(srv *central.Server, email string) (string, error) {
		k, err := srv.SetRegions(ctx, email, codes)
		return fmt.Sprintf("%s now covers regions %s", email, strings.Join(k.Regions, ",")), err
	})
}

func (c *cli) coordinatorPassword(ctx context.Context, args []string) error {
	var password []byte
	return c.emailCommand(ctx, "password", args, func(f *flags) func() error {
		stdin := f.Bool("password-stdin", false, "read the new password from the first line of standard input")
		return func() (err error) {
			if !*stdin {
				return usagef("give the password on standard input with --password-stdin")
			}
			password, err = c.readPassword()
			return err
		}
	}, func(srv *central.Server, email string) (string, error) {
		return "password of " + email + " changed", srv.SetPassword(ctx, email, password)
	})
}

func (c *cli) deviceList(ctx context.Context, args []string) error {
	f := c.flags("device list")
	sf := f.store()
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		devices, err := srv.Devices(ctx)
		if err != nil {
			return err
		}
		list, err := srv.Coordinators(ctx)
		if err != nil {
			return err
		}
		emails := map[string]string{}
		for _, k := range list {
			emails[k.ID] = k.Email
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEVICE\tCOORDINATOR\tNAME\tSIGNED IN\tSTATUS\tLAST MUTATION\tAPP VERSION")
		for _, d := range devices {
			status := "signed in"
			if len(d.TokenHash) == 0 {
				status = "signed out"
			}
			app := d.AppVersion
			if app == "" {
				app = "-"
			}
			// The name comes from the device: escaped, it cannot clear
			// the screen or forge a row.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", domain.Printable(d.ID), domain.Printable(emails[d.CoordinatorID]), domain.Printable(d.Name),
				d.SignedInAt.Local().Format(time.DateTime), status, d.LastSeq, domain.Printable(app))
		}
		return tw.Flush()
	})
}

func (c *cli) deviceRevoke(ctx context.Context, args []string) error {
	f := c.flags("device revoke")
	sf := f.store()
	id := f.String("id", "", "the device id (see terrain-central device list)")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	if *id == "" {
		return usagef("--id is required")
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		err := srv.RevokeDevice(ctx, *id)
		if errors.Is(err, central.ErrNotFound) {
			return fmt.Errorf("no device %s (see terrain-central device list)", *id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "revoked device %s: it must sign in again\n", *id)
		return nil
	})
}

// epochRotate gives restored data a new epoch. The epoch is stored with the
// data, so a restored backup carries the epoch the devices know and they
// would not notice that changes they synced since are gone; with a new one
// they refetch and push their own changes again.
func (c *cli) epochRotate(ctx context.Context, args []string) error {
	f := c.flags("epoch rotate")
	sf := f.store()
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	return c.withServer(ctx, sf, func(srv *central.Server) error {
		old := srv.Epoch()
		epoch, err := srv.RotateEpoch(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "epoch %s replaced by %s: every device will fetch everything again at its next sync\n", old, epoch)
		return nil
	})
}
