package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"leconsortium.coop/terrain/domain"
)

// The CouchDB-style peer: pouchdb-server 4.2.0 in memory, and one Node
// process per laptop running a PouchDB 9.0.0 database (bench/peer/client.js).

// installPeer installs bench/peer's npm packages with `npm ci
// --ignore-scripts` (optional native builds cannot run offline; LevelDB
// comes prebuilt), unless node_modules is already newer than the lock file.
func installPeer(ctx context.Context, dir string, force bool, log io.Writer) error {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("peer packages: %w", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !force &&
		st.ModTime().After(lock.ModTime()) {
		return nil
	}
	fmt.Fprintln(log, "installing the peer's npm packages (npm ci --ignore-scripts) in", dir)
	cmd := exec.CommandContext(ctx, "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out.String())
	}
	return nil
}

// peerServer is pouchdb-server running in memory (-m) on a loopback port.
type peerServer struct {
	shared map[string]int // shared databases and their users
	addr   string
	cmd    *exec.Cmd
	dir    string
	hc     *http.Client
	done   chan error
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func startPeerServer(ctx context.Context, peerDir string) (*peerServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "terrain-bench-pouchdb-*")
	if err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(filepath.Join(peerDir, "node_modules", "pouchdb-server", "bin", "pouchdb-server"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", bin, "-m", "-n", "--no-color", "-o", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", filepath.Join(dir, "config.json"))
	cmd.Dir = dir // it writes log.txt where it runs
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start pouchdb-server: %w", err)
	}
	s := &peerServer{shared: map[string]int{}, addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd, dir: dir, done: make(chan error, 1),
		hc: &http.Client{Timeout: 10 * time.Minute}}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.hc.Get("http://" + s.addr + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pouchdb-server exited: %v\n%s", err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, errors.New("pouchdb-server did not answer within 30 s")
		}
	}
}

func (s *peerServer) Close() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

// call sends one request straight to the server (not through a link).
func (s *peerServer) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.addr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("pouchdb-server %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("pouchdb-server %s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// doc is a domain value as a CouchDB document: the same JSON, plus _id
// (and _rev once stored).
func doc(id string, v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["_id"] = id
	return m, nil
}

// createDB makes database name and stores members in it, in batches.
func (s *peerServer) createDB(ctx context.Context, name string, members []domain.Member) error {
	if err := s.call(ctx, http.MethodPut, "/"+name, nil, nil); err != nil {
		return err
	}
	for i := 0; i < len(members); i += 1000 {
		docs := make([]map[string]any, 0, 1000)
		for _, m := range members[i:min(i+1000, len(members))] {
			d, err := doc(m.ID, m)
			if err != nil {
				return err
			}
			docs = append(docs, d)
		}
		var res []struct {
			Error string `json:"error"`
		}
		if err := s.call(ctx, http.MethodPost, "/"+name+"/_bulk_docs", map[string]any{"docs": docs}, &res); err != nil {
			return err
		}
		for _, r := range res {
			if r.Error != "" {
				return fmt.Errorf("seed %s: %s", name, r.Error)
			}
		}
	}
	return nil
}

// editMembers changes members on the server, as the central office would:
// read, change, write back.
func (s *peerServer) editMembers(ctx context.Context, db string, edits []memberEdit) error {
	for _, e := range edits {
		var d map[string]any
		if err := s.call(ctx, http.MethodGet, "/"+db+"/"+e.ID, nil, &d); err != nil {
			return err
		}
		d["notes"] = e.Notes
		if err := s.call(ctx, http.MethodPut, "/"+db+"/"+e.ID, d, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *peerServer) dropDB(ctx context.Context, name string) {
	_ = s.call(ctx, http.MethodDelete, "/"+name, nil, nil)
}

// peerClient is one laptop running PouchDB in Node.
type peerClient struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *lockedBuffer
	dir    string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPeerClient starts client.js with a new local database synced with
// remote (a URL through a link) in configuration config.
func startPeerClient(ctx context.Context, peerDir, remote, config string) (*peerClient, error) {
	dir, err := os.MkdirTemp("", "terrain-bench-pouchdb-client-*")
	if err != nil {
		return nil, err
	}
	script, err := filepath.Abs(filepath.Join(peerDir, "client.js"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", script)
	cmd.Dir = peerDir
	c := &peerClient{cmd: cmd, dir: dir, stderr: &lockedBuffer{}}
	cmd.Stderr = c.stderr
	if c.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewScanner(stdout)
	c.out.Buffer(make([]byte, 1<<20), 256<<20)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start client.js: %w", err)
	}
	if _, err := c.do(map[string]any{"op": "open", "dir": filepath.Join(dir, "db"), "remote": remote, "config": config}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// do sends one command and waits for its answer.
func (c *peerClient) do(cmd map[string]any) (map[string]any, error) {
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("client.js %s: %w\n%s", cmd["op"], err, c.stderr.String())
	}
	if !c.out.Scan() {
		return nil, fmt.Errorf("client.js %s: no answer (%v)\n%s", cmd["op"], c.out.Err(), c.stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(c.out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("client.js %s answered %q", cmd["op"], c.out.Text())
	}
	if ok, _ := res["ok"].(bool); !ok {
		return res, fmt.Errorf("client.js %s: %v", cmd["op"], res["error"])
	}
	return res, nil
}

func (c *peerClient) Close() {
	if c.cmd.Process != nil {
		_, _ = c.do(map[string]any{"op": "close"})
		c.in.Close()
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(c.dir)
}

// peerSystem is PouchDB in one configuration, against one pouchdb-server.
type peerSystem struct {
	config  string // "default" or "tuned"
	server  *peerServer
	peerDir string
	n       int // databases made, for unique names
}

func (p *peerSystem) Name() string { return "pouchdb" }
func (p *peerSystem) Variant() string {
	return p.config
}

// NewWorld makes a database holding members. A shared one (read-only
// data) is made once for every configuration.
func (p *peerSystem) NewWorld(ctx context.Context, name string, members []domain.Member, shared bool) (World, error) {
	srv := p.server
	if shared {
		db := strings.ToLower(name)
		if srv.shared[db] == 0 {
			if err := srv.createDB(ctx, db, members); err != nil {
				return nil, err
			}
		}
		srv.shared[db]++
		return &peerWorld{sys: p, db: db, shared: true}, nil
	}
	p.n++
	db := strings.ToLower(fmt.Sprintf("%s_%s_%d", name, p.config, p.n))
	if err := srv.createDB(ctx, db, members); err != nil {
		return nil, err
	}
	return &peerWorld{sys: p, db: db}, nil
}

type peerWorld struct {
	sys    *peerSystem
	db     string
	shared bool
}

func (w *peerWorld) Addr() string { return w.sys.server.addr }

func (w *peerWorld) NewDevice(ctx context.Context, base string) (Device, error) {
	c, err := startPeerClient(ctx, w.sys.peerDir, base+"/"+w.db, w.sys.config)
	if err != nil {
		return nil, err
	}
	return &peerDevice{c: c}, nil
}

func (w *peerWorld) EditMembers(ctx context.Context, edits []memberEdit) error {
	return w.sys.server.editMembers(ctx, w.db, edits)
}

func (w *peerWorld) Close() {
	srv := w.sys.server
	if w.shared {
		if srv.shared[w.db]--; srv.shared[w.db] > 0 {
			return
		}
		delete(srv.shared, w.db)
	}
	srv.dropDB(context.Background(), w.db)
}

type peerDevice struct{ c *peerClient }

func (d *peerDevice) Warm(context.Context) error {
	_, err := d.c.do(map[string]any{"op": "warm"})
	return err
}

func (d *peerDevice) Reopen() error {
	_, err := d.c.do(map[string]any{"op": "reopen"})
	return err
}

func (d *peerDevice) Sync(context.Context) error {
	_, err := d.c.do(map[string]any{"op": "sync"})
	return err
}

func (d *peerDevice) SaveVisits(_ context.Context, visits []domain.Visit) error {
	docs := make([]map[string]any, 0, len(visits))
	for _, v := range visits {
		dv, err := doc(v.ID, v)
		if err != nil {
			return err
		}
		docs = append(docs, dv)
	}
	_, err := d.c.do(map[string]any{"op": "put", "docs": docs})
	return err
}

func (d *peerDevice) EditMembers(_ context.Context, edits []memberEdit) error {
	list := make([]map[string]any, 0, len(edits))
	for _, e := range edits {
		list = append(list, map[string]any{"id": e.ID, "fields": map[string]any{"notes": e.Notes}})
	}
	_, err := d.c.do(map[string]any{"op": "edit", "edits": list})
	return err
}

func (d *peerDevice) Count(context.Context) (int, error) {
	res, err := d.c.do(map[string]any{"op": "count"})
	if err != nil {
		return 0, err
	}
	n, _ := res["docs"].(float64)
	return int(n), nil
}

func (d *peerDevice) Close() { d.c.Close() }
