// Command terrain-central is Terrain's central service: the sync server the
// coordinators' laptops talk to, and the administration sub-commands that
// manage coordinators, import members and export activity.
//
// Run "terrain-central help" for the sub-commands. Every flag of serve, and
// --data and --postgres everywhere, can also be given as an environment
// variable (TERRAIN_CENTRAL_ and the flag's name in capitals, dashes as
// underscores); a flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/csvio"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, argon: central.DefaultArgon2}
	os.Exit(c.run(ctx, os.Args[1:]))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command could not do its job
	exitUsage = 2 // the command line is wrong
)

// cli holds what a command touches outside itself, so tests run it in
// process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// argon is the cost of the password hashes the commands make.
	argon central.Argon2Params
	// ready, when set, is called with the address serve listens on.
	ready func(addr string)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `terrain-central: Terrain's central sync service.

Usage:
  terrain-central --version
  terrain-central serve [--addr 127.0.0.1:8470] (--data DIR | --postgres URL) [--tls-cert FILE --tls-key FILE | --acme-domain NAME] [--addr-failures 20]
                        [--visit-retention-months 84]   erases older visits and follow-ups at start and daily
  terrain-central coordinator add --email E --name N --regions 09,10 [--admin] --password-stdin (--data DIR | --postgres URL)
  terrain-central coordinator list|disable|enable|set-regions|password ...
  terrain-central device list|revoke ...
  terrain-central members import (--data DIR | --postgres URL) FILE.csv
  terrain-central members show --id ID [--out FILE.json] (--data DIR | --postgres URL)   everything held about a member
  terrain-central members delete --id ID (--data DIR | --postgres URL)   erase a member and its records, on every device
  terrain-central visits purge [--before YYYY-MM-DD | --visit-retention-months 84] (--data DIR | --postgres URL)
  terrain-central visits edit --id ID [--notes T] [--needs T] [--people-met T] [--services a,b] [--date D] [--duration N]
                        [--mode on_site|phone|video] [--next-visit D] [--member ID] (--data DIR | --postgres URL)
                                                  correct any coordinator's visit; devices get it at their next sync
  terrain-central visits delete --id ID (--data DIR | --postgres URL)   delete any coordinator's visit, on every device
  terrain-central export visits|followups|members (--data DIR | --postgres URL) --out FILE.csv [--lang fr|en]
  terrain-central demo (--data DIR | --postgres URL) [--seed N]
  terrain-central epoch rotate (--data DIR | --postgres URL)   after restoring a backup, before serving

Every flag of serve, and --data and --postgres everywhere, may come from the
environment: TERRAIN_CENTRAL_ and the flag's name in capitals (TERRAIN_CENTRAL_DATA,
TERRAIN_CENTRAL_POSTGRES, TERRAIN_CENTRAL_ADDR, TERRAIN_CENTRAL_TLS_CERT, …).
Run a sub-command with --help for its flags.
`

func (c *cli) run(ctx context.Context, args []string) int {
	err := c.dispatch(ctx, args)
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "terrain-central: %s\n", ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(c.stderr, "terrain-central: %s\n", err)
		return exitError
	}
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return usagef("no command given")
	}
	sub := func(name string, cmds map[string]func(context.Context, []string) error) error {
		if len(args) < 2 {
			return usagef("%s needs a sub-command: %s", name, keys(cmds))
		}
		fn, ok := cmds[args[1]]
		if !ok {
			return usagef("unknown %s sub-command %q: use %s", name, args[1], keys(cmds))
		}
		return fn(ctx, args[2:])
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(c.stdout, usage)
		return nil
	case "version", "-version", "--version":
		fmt.Fprintln(c.stdout, version.Line("terrain-central"))
		return nil
	case "serve":
		return c.serve(ctx, args[1:])
	case "coordinator":
		return sub("coordinator", map[string]func(context.Context, []string) error{
			"add": c.coordinatorAdd, "list": c.coordinatorList, "disable": c.coordinatorDisable,
			"enable": c.coordinatorEnable, "set-regions": c.coordinatorRegions, "password": c.coordinatorPassword,
		})
	case "device":
		return sub("device", map[string]func(context.Context, []string) error{
			"list": c.deviceList, "revoke": c.deviceRevoke,
		})
	case "members":
		return sub("members", map[string]func(context.Context, []string) error{
			"import": c.membersImport, "show": c.membersShow, "delete": c.membersDelete,
		})
	case "visits":
		return sub("visits", map[string]func(context.Context, []string) error{
			"purge": c.visitsPurge, "edit": c.visitsEdit, "delete": c.visitsDelete,
		})
	case "export":
		exports := map[string]func(context.Context, []string) error{}
		for _, kind := range csvio.Kinds() {
			exports[string(kind)] = func(ctx context.Context, args []string) error { return c.export(ctx, kind, args) }
		}
		return sub("export", exports)
	case "demo":
		return c.demo(ctx, args[1:])
	case "epoch":
		return sub("epoch", map[string]func(context.Context, []string) error{"rotate": c.epochRotate})
	}
	return usagef("unknown command %q; run terrain-central help", args[0])
}

func keys[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// flags is a flag set whose flags default to environment variables.
type flags struct {
	*flag.FlagSet
	c   *cli
	env map[string]string // flag name -> variable
}

func (c *cli) flags(name string) *flags {
	fs := flag.NewFlagSet("terrain-central "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return &flags{FlagSet: fs, c: c, env: map[string]string{}}
}

func envName(flagName string) string {
	return "TERRAIN_CENTRAL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// str declares a string flag whose default comes from its variable.
func (f *flags) str(name, def, help string) *string {
	if v := f.c.getenv(envName(name)); v != "" {
		def = v
	}
	f.env[name] = envName(name)
	return f.String(name, def, help+" (env "+envName(name)+")")
}

// boolean declares a boolean flag whose default comes from its variable.
func (f *flags) boolean(name, help string) *bool {
	def := false
	switch strings.ToLower(f.c.getenv(envName(name))) {
	case "1", "true", "yes":
		def = true
	}
	return f.Bool(name, def, help+" (env "+envName(name)+")")
}

// parse parses flags and positional arguments in any order, and checks the
// number of positional arguments.
func (f *flags) parse(args []string, positional int, what string) ([]string, error) {
	var rest []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if f.NArg() == 0 {
			break
		}
		rest = append(rest, f.Arg(0))
		args = f.Args()[1:]
	}
	if len(rest) != positional {
		if positional == 0 {
			return nil, usagef("unexpected argument %q", rest[0])
		}
		return nil, usagef("expected %s", what)
	}
	return rest, nil
}

// logger builds the service's logger on stderr.
func (c *cli) logger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("unknown log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(c.stderr, opts)), nil
	case "json":
		// JSON escapes C0 controls only: C1 controls and bidi overrides
		// from a request (its path) would reach a terminal raw. The text
		// handler quotes them already.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindString {
				a.Value = slog.StringValue(domain.Printable(a.Value.String()))
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(c.stderr, opts)), nil
	}
	return nil, usagef("unknown log format %q: use text or json", format)
}
