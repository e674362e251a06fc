package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"leconsortium.coop/terrain/central"
)

// The in-process server runs in a child process (this same binary, with
// childEnv set), so that its resident memory is measured alone, without the
// simulated devices' buffers.
const childEnv = "TERRAIN_LOAD_SERVER"

// serverInfo is what the child tells its parent once it listens.
type serverInfo struct {
	URL      string        `json:"url"`
	Accounts []jsonAccount `json:"accounts"`
	Admin    jsonAccount   `json:"admin"`
}

type jsonAccount struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// childArgs are the flags the parent passes on to the child.
func childArgs(cfg config) []string {
	return []string{"-backend", cfg.backend, "-postgres", cfg.pgURL, "-members", strconv.Itoa(cfg.members),
		"-visits", strconv.Itoa(cfg.visits), "-memory-budget", strconv.FormatInt(cfg.memoryBudget, 10)}
}

// childMain serves until its standard input closes (the parent ended).
func childMain(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("terrain-load server", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.backend, "backend", "badger", "")
	fs.StringVar(&cfg.pgURL, "postgres", "", "")
	fs.IntVar(&cfg.members, "members", 300, "")
	fs.IntVar(&cfg.visits, "visits", 2400, "")
	fs.Int64Var(&cfg.memoryBudget, "memory-budget", 0, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// As terrain-central serve does.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(central.SoftMemoryLimit(cfg.memoryBudget))
	}
	base, accounts, admin, stop, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	// What seeding used is not what is measured.
	runtime.GC()
	debug.FreeOSMemory()
	si := serverInfo{URL: base, Admin: jsonAccount{admin.email, admin.password}}
	for _, a := range accounts {
		si.Accounts = append(si.Accounts, jsonAccount{a.email, a.password})
	}
	if err := json.NewEncoder(out).Encode(si); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// child is a running server process.
type child struct {
	info serverInfo
	pid  int
	cmd  *exec.Cmd
	in   io.WriteCloser
}

func startChild(ctx context.Context, cfg config) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, childArgs(cfg)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	c := &child{pid: cmd.Process.Pid, cmd: cmd, in: in}
	line, err := bufio.NewReader(outPipe).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &c.info)
	}
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("start server: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, outPipe) }()
	return c, nil
}

func (c *child) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// rssWatch follows a process's resident memory: it samples VmRSS and, at
// the end, reads VmHWM (the kernel's peak) after resetting it at start.
// Past limit it kills the process, so that a run cannot exhaust the
// machine.
type rssWatch struct {
	pid      int
	limit    int64
	base     int64
	peak     atomic.Int64
	hwmReset bool
	killed   atomic.Bool
	stopOnce sync.Once
	done     chan struct{}
	stopped  chan struct{}
}

func watchRSS(pid int, limit int64) *rssWatch {
	w := &rssWatch{pid: pid, limit: limit, done: make(chan struct{}), stopped: make(chan struct{})}
	// "5" resets the peak resident set size (VmHWM) of the process.
	w.hwmReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	w.base, _ = procStatus(pid, "VmRSS")
	w.peak.Store(w.base)
	go func() {
		defer close(w.stopped)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			rss, err := procStatus(pid, "VmRSS")
			if err != nil {
				return
			}
			if rss > w.peak.Load() {
				w.peak.Store(rss)
			}
			if w.limit > 0 && rss > w.limit && !w.killed.Swap(true) {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
				return
			}
		}
	}()
	return w
}

// stop ends the sampling and returns the baseline and the peak, in bytes.
func (w *rssWatch) stop() (base, peak int64) {
	w.stopOnce.Do(func() { close(w.done) })
	<-w.stopped
	peak = w.peak.Load()
	if w.hwmReset {
		if hwm, err := procStatus(w.pid, "VmHWM"); err == nil && hwm > peak {
			peak = hwm
		}
	}
	return w.base, peak
}

// procStatus reads one "kB" line of /proc/pid/status, in bytes.
func procStatus(pid int, key string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no " + key + " in /proc status")
}
