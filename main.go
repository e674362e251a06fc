// Command terrain is the coordinators' desktop app. main wires the store and
// the user interface together; it is the only importer of fyne.io/fyne/v2/app.
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
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"leconsortium.coop/terrain/app"
	"leconsortium.coop/terrain/applog"
	"leconsortium.coop/terrain/cli"
	_ "leconsortium.coop/terrain/internal/clocale" // before Fyne reads the locale
	"leconsortium.coop/terrain/profiledir"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
	"leconsortium.coop/terrain/version"
)

// started is when the process began, for the log line that says how long
// the main window took.
var started time.Time

// appID must match FyneApp.toml: Fyne derives the storage folder from it.
const appID = "coop.leconsortium.terrain"

func main() {
	started = time.Now()
	if cli.IsCommand(os.Args[1:]) {
		os.Exit(headless(os.Args[1:]))
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "terrain:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("terrain", flag.ContinueOnError)
	profile := fs.String("profile", os.Getenv("TERRAIN_PROFILE"), "profile `directory` (default: the app's storage folder; env TERRAIN_PROFILE)")
	lang := fs.String("lang", os.Getenv("TERRAIN_LANG"), "language, fr or en (default: saved choice, then system; env TERRAIN_LANG)")
	demo := fs.Bool("demo", os.Getenv("TERRAIN_DEMO") == "1", "seed demo data into a new profile (env TERRAIN_DEMO=1)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		fmt.Println(version.Line("terrain"))
		return nil
	}

	a := fyneapp.NewWithID(appID)
	dir := *profile
	if dir == "" {
		dir = defaultProfile(a)
	}
	// The log goes to the rotating file support asks for, and to stderr
	// (none under Windows' GUI subsystem).
	var logOut io.Writer = os.Stderr
	logFile, err := applog.Open(applog.Dir(dir), "terrain.log", 0, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "terrain:", err)
	} else {
		defer logFile.Close()
		logOut = io.MultiWriter(os.Stderr, logFile)
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	logger.Info("starting", "version", version.String(), "os", runtime.GOOS)

	w := a.NewWindow("Terrain")
	// Closing the window quits, tray icon or not (app.Config's reminders).
	w.SetMaster()
	w.Resize(windowSize(os.Getenv("TERRAIN_WINDOW_SIZE")))
	ui := app.New(a, w, app.Config{
		Profile:    dir,
		Lang:       *lang,
		Passphrase: os.Getenv("TERRAIN_PASSPHRASE"),
		Demo:       *demo,
		Server:     os.Getenv("TERRAIN_SERVER"),
		Email:      os.Getenv("TERRAIN_EMAIL"),
		Password:   os.Getenv("TERRAIN_PASSWORD"),
		NewSyncer: func(st *store.Store) (app.Syncer, error) {
			return engine.New(st, engine.Options{Logger: logger, AppVersion: version.String()}), nil
		},
		SyncMessageID: engine.MessageID,
		Screen:        os.Getenv("TERRAIN_SCREEN"),
		PDFOut:        os.Getenv("TERRAIN_PDF_OUT"),
		NoTray:        !trayAvailable(),
		Version:       version.String(),
		LogFile:       logPath(logFile),
		Started:       started,
		Logger:        logger,
	})
	w.SetOnClosed(func() {
		if err := ui.Close(); err != nil {
			logger.Error("close store", "err", err)
		}
	})
	ui.Start()
	w.ShowAndRun()
	return nil
}

// headless runs one of the commands of package cli (terrain sync, terrain
// export…) without opening a window. Its default profile is the window's.
func headless(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, args, cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Engine:         engine.Options{AppVersion: version.String()},
		DefaultProfile: func() string { return defaultProfile(fyneapp.NewWithID(appID)) },
	})
}

// trayAvailable reports whether the desktop can show Terrain in its system
// tray. On Linux and the BSDs the tray speaks D-Bus: without a session bus
// (a bare X server, Xvfb) Fyne's tray would crash the app as it quits.
func trayAvailable() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
			return true
		}
		// systemd sessions leave the variable unset and put the bus here.
		dir := os.Getenv("XDG_RUNTIME_DIR")
		_, err := os.Stat(filepath.Join(dir, "bus"))
		return dir != "" && err == nil
	}
	return true
}

// defaultProfile is the profile folder when none is given: under
// %LOCALAPPDATA% on Windows, Fyne's storage folder elsewhere.
func defaultProfile(a fyne.App) string {
	return profiledir.Default(runtime.GOOS, os.Getenv, func() string { return a.Storage().RootURI().Path() })
}

func logPath(f *applog.File) string {
	if f == nil {
		return ""
	}
	return f.Path()
}

// windowSize reads "WxH" (set by the screenshot script, where no window
// manager sizes the window); anything else gives the default size.
func windowSize(s string) fyne.Size {
	w, h, ok := strings.Cut(s, "x")
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil || wi < 320 || hi < 240 {
		return fyne.NewSize(1100, 720)
	}
	return fyne.NewSize(float32(wi), float32(hi))
}
