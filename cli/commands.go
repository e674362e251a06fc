package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"leconsortium.coop/terrain/csvio"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

var dateOf = domain.DateOf

// signIn: terrain signin --server URL --email E --password-stdin [--ca-file F]
func (r *runner) signIn(ctx context.Context, args []string) error {
	fs := r.flags("signin")
	server := fs.String("server", "", "")
	email := fs.String("email", "", "")
	stdin := fs.Bool("password-stdin", false, "")
	caFile := fs.String("ca-file", "", "")
	if err := r.parse(fs, args); err != nil {
		return err
	}
	if *server == "" || *email == "" {
		return usageError{"--server and --email are required"}
	}
	if !*stdin {
		return errMessage{"cli.error.password_stdin", nil}
	}
	password, err := readLine(r.env.Stdin)
	if err != nil {
		return err
	}
	st, err := r.open(true)
	if err != nil {
		return err
	}
	defer st.Close()
	if *caFile != "" {
		if r.env.Engine.Client.CAFile, err = filepath.Abs(*caFile); err != nil {
			return err
		}
	}
	eng := r.newEngine(st)
	if err := eng.SignIn(ctx, *server, *email, password); err != nil {
		return err
	}
	sess, err := st.Session()
	if err != nil {
		return err
	}
	me, err := st.Me()
	if err != nil {
		return err
	}
	fmt.Fprintln(r.env.Stdout, r.loc.T("cli.signin.done", map[string]any{"Name": me.Name, "Login": me.Email, "Server": sess.Server}))
	return nil
}

// readLine reads the first line of standard input: passwords never go on
// the command line, where other users and the shell history see them.
func readLine(in interface{ Read([]byte) (int, error) }) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", errMessage{"cli.error.empty_password", nil}
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errMessage{"cli.error.empty_password", nil}
	}
	return line, nil
}

// signOut: terrain signout
func (r *runner) signOut(ctx context.Context, args []string) error {
	if err := r.parse(r.flags("signout"), args); err != nil {
		return err
	}
	st, err := r.open(false)
	if err != nil {
		return err
	}
	defer st.Close()
	err = r.newEngine(st).SignOut(ctx)
	if err != nil && !errors.Is(err, engine.ErrNotRevoked) {
		return err
	}
	if err != nil {
		fmt.Fprintln(r.env.Stderr, r.loc.T("sync.error.not_revoked"))
	}
	fmt.Fprintln(r.env.Stdout, r.loc.T("cli.signout.done"))
	if n, _ := st.PendingCount(); n > 0 {
		fmt.Fprintln(r.env.Stdout, r.loc.N("cli.signout.pending", n))
	}
	return nil
}

// sync: terrain sync [--timeout 30m]
func (r *runner) sync(ctx context.Context, args []string) error {
	fs := r.flags("sync")
	timeout := fs.Duration("timeout", 30*time.Minute, "")
	if err := r.parse(fs, args); err != nil {
		return err
	}
	st, err := r.open(false)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	eng := r.newEngine(st)
	sum, err := eng.SyncOnce(ctx)
	if err != nil {
		return errSyncFailed{err}
	}
	out := r.env.Stdout
	fmt.Fprintln(out, r.loc.T("cli.sync.done"))
	if sum.Refetched {
		fmt.Fprintln(out, r.loc.T("cli.sync.refetched"))
	}
	fmt.Fprintln(out, r.loc.N("cli.sync.sent", sum.Pushed-sum.Rejected))
	if sum.Rejected > 0 {
		fmt.Fprintln(out, r.loc.N("cli.sync.refused", sum.Rejected))
	}
	fmt.Fprintln(out, r.loc.N("cli.sync.received", sum.Pulled))
	kib := r.loc.Number(float64(sum.BytesSent+sum.BytesReceived)/1024, 0)
	fmt.Fprintln(out, r.loc.N("cli.sync.requests", int(sum.Requests), map[string]any{"N": kib}))
	s := eng.State()
	r.counts(s.Pending, s.Conflicts, s.Quarantined)
	return nil
}

// errSyncFailed explains a failed sync in one sentence.
type errSyncFailed struct{ err error }

func (e errSyncFailed) Error() string { return e.err.Error() }
func (e errSyncFailed) Unwrap() error { return e.err }

func (r *runner) counts(pending, conflicts, quarantined int) {
	n := func(v int) string { return r.loc.Number(float64(v), 0) }
	fmt.Fprintln(r.env.Stdout, r.loc.T("cli.status.pending", map[string]any{"N": n(pending)}))
	fmt.Fprintln(r.env.Stdout, r.loc.T("cli.status.conflicts", map[string]any{"N": n(conflicts)}))
	fmt.Fprintln(r.env.Stdout, r.loc.T("cli.status.quarantine", map[string]any{"N": n(quarantined)}))
}

// status: terrain status
func (r *runner) status(ctx context.Context, args []string) error {
	if err := r.parse(r.flags("status"), args); err != nil {
		return err
	}
	st, err := r.open(false)
	if err != nil {
		return err
	}
	defer st.Close()
	out := r.env.Stdout
	fmt.Fprintln(out, r.loc.T("cli.status.profile", map[string]any{"Path": r.profileDir()}))
	sess, err := st.Session()
	if err != nil {
		return err
	}
	eng := r.newEngine(st)
	if sess.SignedIn() {
		me, _ := st.Me()
		fmt.Fprintln(out, r.loc.T("cli.status.account", map[string]any{"Name": me.Name, "Login": me.Email, "Server": sess.Server}))
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := eng.Probe(pctx)
		cancel()
		if err == nil {
			fmt.Fprintln(out, r.loc.T("cli.status.online"))
		} else {
			fmt.Fprintln(out, r.loc.T("cli.status.offline", map[string]any{"Reason": r.explain(err)}))
		}
	} else {
		fmt.Fprintln(out, r.loc.T("cli.status.not_signed_in"))
	}
	fmt.Fprintln(out, r.loc.T("cli.status.members", map[string]any{"N": r.loc.Number(float64(st.CountMembers()), 0)}))
	ss, err := st.SyncState()
	if err != nil {
		return err
	}
	if ss.LastSync.IsZero() {
		fmt.Fprintln(out, r.loc.T("cli.status.never"))
	} else {
		fmt.Fprintln(out, r.loc.T("cli.status.last_sync", map[string]any{"Date": r.when(ss.LastSync)}))
	}
	s := eng.State()
	r.counts(s.Pending, s.Conflicts, s.Quarantined)
	return nil
}

// export: terrain export visits|followups|members --out FILE.csv
func (r *runner) export(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errMessage{"cli.error.export_kind", nil}
	}
	kind := args[0]
	fs := r.flags("export")
	outPath := fs.String("out", "", "")
	if err := r.parse(fs, args[1:]); err != nil {
		return err
	}
	if !slices.Contains(csvio.Kinds(), csvio.Kind(kind)) {
		return errMessage{"cli.error.export_kind", nil}
	}
	if *outPath == "" {
		return errMessage{"cli.error.out_required", nil}
	}
	st, err := r.open(false)
	if err != nil {
		return err
	}
	defer st.Close()
	// Written beside the target and renamed: a failed export never leaves
	// half a file under the name asked for.
	tmp, err := os.CreateTemp(filepath.Dir(*outPath), ".terrain-export-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := writeExport(st, kind, r.loc, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *outPath); err != nil {
		return err
	}
	fmt.Fprintln(r.env.Stdout, r.loc.N("cli.export.done", n, map[string]any{"File": *outPath}))
	return nil
}

// writeExport writes the CSV that the app's Settings export writes for the
// same profile and language (docs/csv.md).
func writeExport(st *store.Store, kind string, loc *locales.Localizer, w io.Writer) (int, error) {
	return csvio.Export(w, csvio.Kind(kind), loc, st)
}
