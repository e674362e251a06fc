// Package cli holds the headless commands of the terrain binary, for support
// staff and scripts: sign in and out, sync once, show the status, export to
// CSV. main dispatches to Run when the command line names one of them; the
// window stays the default. Nothing here imports Fyne, so the commands work
// over SSH and in scripts.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// Env is what the commands touch outside themselves, so tests run them in
// process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
	// DefaultProfile returns the app's own profile folder; it is only
	// called when neither --profile nor TERRAIN_PROFILE says otherwise.
	DefaultProfile func() string
	// ReadSecret asks for a passphrase without echo; nil reads the
	// terminal.
	ReadSecret func(prompt string) ([]byte, error)
	// Engine tunes the sync engine (tests).
	Engine engine.Options
	// Store tunes the store (tests).
	Store store.Options
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command could not do its job
	exitUsage = 2 // the command line is wrong
)

// MinPassphrase is the shortest passphrase accepted for a new profile, as
// in the app.
const MinPassphrase = 8

var commands = []string{"signin", "signout", "sync", "status", "export", "help"}

// IsCommand reports whether args (without the program name) name a headless
// command, possibly after the global flags --profile and --lang.
func IsCommand(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--profile" || a == "-profile" || a == "--lang" || a == "-lang":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return slices.Contains(commands, a)
		}
	}
	return false
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Run runs the command in args and returns the exit status.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	r := &runner{env: env}
	lang := env.Getenv("TERRAIN_LANG")
	if lang == "" {
		lang = locales.Detect(env.Getenv)
	}
	r.loc = locales.New(lang)
	r.profile = env.Getenv("TERRAIN_PROFILE")
	global := r.flags("terrain")
	if err := global.Parse(args); err != nil {
		return r.usageFailure(err)
	}
	rest := global.Args()
	if len(rest) == 0 || rest[0] == "help" {
		r.usage(env.Stdout)
		return exitOK
	}
	err := r.dispatch(ctx, rest[0], rest[1:])
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return r.usageFailure(err)
	default:
		fmt.Fprintln(env.Stderr, r.explain(err))
		return exitError
	}
}

type runner struct {
	env     Env
	loc     *locales.Localizer
	profile string
}

// flags makes a flag set with the global flags, which every command also
// accepts after its name.
func (r *runner) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&r.profile, "profile", r.profile, "")
	fs.Func("lang", "", func(s string) error {
		r.loc = locales.New(s)
		return nil
	})
	return fs
}

func (r *runner) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func (r *runner) usageFailure(err error) int {
	fmt.Fprintln(r.env.Stderr, r.loc.T("cli.error.bad_arguments", map[string]any{"Detail": err.Error()}))
	r.usage(r.env.Stderr)
	return exitUsage
}

// syntax is the same in both languages: it is what one types.
const syntax = `  terrain [--profile DIR] [--lang fr|en] COMMAND
  terrain signin --server URL --email E --password-stdin [--ca-file CA.pem]
  terrain signout
  terrain sync [--timeout 30m]
  terrain status
  terrain export visits|followups|members --out FILE.csv`

func (r *runner) usage(w io.Writer) {
	fmt.Fprintln(w, r.loc.T("cli.usage"))
	fmt.Fprintln(w)
	fmt.Fprintln(w, syntax)
	fmt.Fprintln(w)
	fmt.Fprintln(w, r.loc.T("cli.usage.environment"))
}

func (r *runner) dispatch(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "signin":
		return r.signIn(ctx, args)
	case "signout":
		return r.signOut(ctx, args)
	case "sync":
		return r.sync(ctx, args)
	case "status":
		return r.status(ctx, args)
	case "export":
		return r.export(args)
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// profileDir is --profile, TERRAIN_PROFILE or the app's own folder.
func (r *runner) profileDir() string {
	if r.profile != "" {
		return r.profile
	}
	if r.env.DefaultProfile != nil {
		return r.env.DefaultProfile()
	}
	return "profile"
}

// errNoProfile is a missing profile, named for the coordinator.
type errNoProfile struct{ dir string }

func (e errNoProfile) Error() string { return "no Terrain profile in " + e.dir }

// errMessage is a failure the commands explain with one of their messages.
type errMessage struct {
	id   string
	data map[string]any
}

func (e errMessage) Error() string { return e.id }

// open unlocks the profile, creating it when create is set and there is
// none.
func (r *runner) open(create bool) (*store.Store, error) {
	dir := r.profileDir()
	opt := r.env.Store
	if opt.Logger == nil {
		opt.Logger = quietLogger(r.env.Stderr)
	}
	if !store.Exists(dir) {
		if !create {
			return nil, errNoProfile{dir}
		}
		pass, err := r.newPassphrase(dir)
		if err != nil {
			return nil, err
		}
		st, err := store.Create(dir, pass, opt)
		clear(pass)
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(r.env.Stdout, r.loc.T("cli.signin.created", map[string]any{"Path": dir}))
		return st, nil
	}
	pass, err := r.passphrase(r.loc.T("cli.prompt.passphrase"))
	if err != nil {
		return nil, err
	}
	st, err := store.Open(dir, pass, opt)
	clear(pass)
	return st, err
}

// passphrase is TERRAIN_PASSPHRASE, or asked on the terminal.
func (r *runner) passphrase(prompt string) ([]byte, error) {
	if p := r.env.Getenv("TERRAIN_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	read := r.env.ReadSecret
	if read == nil {
		read = r.readTerminal
	}
	return read(prompt + " ")
}

func (r *runner) newPassphrase(dir string) ([]byte, error) {
	if p := r.env.Getenv("TERRAIN_PASSPHRASE"); p != "" {
		if len([]rune(p)) < MinPassphrase {
			return nil, errMessage{"cli.error.passphrase_short", map[string]any{"Min": MinPassphrase}}
		}
		return []byte(p), nil
	}
	pass, err := r.passphrase(r.loc.T("cli.prompt.new_passphrase", map[string]any{"Path": dir}))
	if err != nil {
		return nil, err
	}
	if len([]rune(string(pass))) < MinPassphrase {
		return nil, errMessage{"cli.error.passphrase_short", map[string]any{"Min": MinPassphrase}}
	}
	again, err := r.passphrase(r.loc.T("cli.prompt.confirm_passphrase"))
	if err != nil {
		return nil, err
	}
	if string(again) != string(pass) {
		return nil, errMessage{"cli.error.passphrase_mismatch", nil}
	}
	return pass, nil
}

// readTerminal reads a line without echo from the terminal: standard input
// when it is one (it may be taken by --password-stdin), else /dev/tty.
func (r *runner) readTerminal(prompt string) ([]byte, error) {
	fmt.Fprint(r.env.Stderr, prompt)
	defer fmt.Fprintln(r.env.Stderr)
	if f, ok := r.env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return term.ReadPassword(int(f.Fd()))
	}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return nil, errMessage{"cli.error.no_terminal", nil}
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return nil, errMessage{"cli.error.no_terminal", nil}
	}
	return term.ReadPassword(int(tty.Fd()))
}

// newEngine makes the engine of an open store; it is not started: each
// command does its one thing.
func (r *runner) newEngine(st *store.Store) *engine.Engine {
	opt := r.env.Engine
	opt.NetCheck = -1
	if opt.Logger == nil {
		opt.Logger = quietLogger(r.env.Stderr)
	}
	return engine.New(st, opt)
}

func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}

// explain turns an error into a sentence of the current language.
func (r *runner) explain(err error) string {
	var nop errNoProfile
	var em errMessage
	var sf errSyncFailed
	switch {
	case errors.As(err, &sf):
		return r.loc.T("cli.sync.failed", map[string]any{"Reason": r.explain(sf.err)})
	case errors.As(err, &nop):
		return r.loc.T("cli.error.no_profile", map[string]any{"Path": nop.dir})
	case errors.As(err, &em):
		return r.loc.T(em.id, em.data)
	}
	if id := engine.MessageID(err); id != "sync.error.unexpected" {
		return r.loc.T(id)
	}
	return r.loc.Error(err)
}

// when formats an instant for the coordinator: the day in words and the
// time of day.
func (r *runner) when(t time.Time) string {
	local := t.Local()
	return fmt.Sprintf("%s %s", r.loc.Date(dateOf(local)), local.Format("15:04"))
}
