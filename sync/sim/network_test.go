package sim

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"time"
)

// fault is something that goes wrong. Those up to unavailable happen to a
// request on the simulated network; the others are steps of the workload.
type fault int

const (
	pass fault = iota
	// dropRequest: the request is lost; the server never sees it.
	dropRequest
	// dropReply: the server handles the request (and commits); the answer
	// is lost.
	dropReply
	// duplicate: the request arrives twice; the client gets the second
	// answer.
	duplicate
	// delay: a slow link; the clock moves on by up to ten minutes.
	delay
	// reorder: the request goes through, and a copy of it arrives again
	// later, after other requests: a stale duplicate.
	reorder
	// cutRequest: the connection breaks during the request body: the
	// server reads a truncated body (and must refuse it), or nothing.
	cutRequest
	// cutReply: the answer breaks off after some bytes.
	cutReply
	// crash: the server commits the request, then restarts before the
	// answer leaves.
	crash
	// unavailable: a proxy in front of the server answers 503.
	unavailable
	// restart: the server restarts between two requests.
	restart
	// offline: a device loses the network for a long period.
	offline
	// restore: the server's data is replaced by an older backup (and its
	// epoch rotated, as the operators' procedure says).
	restore
	numFaults
)

var faultNames = [numFaults]string{"pass", "drop-request", "drop-reply", "duplicate", "delay", "reorder",
	"cut-request", "cut-reply", "crash", "503", "restart", "offline", "restore"}

func (f fault) String() string { return faultNames[f] }

var (
	errReset   = errors.New("connection reset (simulated network)")
	errNoRoute = errors.New("network unreachable (simulated device offline)")
)

// staleRequest is a copy of a request still on the network.
type staleRequest struct {
	from   string
	what   string
	method string
	url    string
	header http.Header
	body   []byte
}

// transport is a device's network: it hands each request to the sim.
type transport struct {
	s *sim
	d *device
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.s.exchange(t.d, req)
}

// what names a request in the trace.
func what(method, path string) string {
	switch {
	case path == "/v1/sync":
		return "sync"
	case path == "/v1/session" && method == http.MethodPost:
		return "sign-in"
	case path == "/v1/session" && method == http.MethodDelete:
		return "sign-out"
	}
	return method + " " + path
}

func (s *sim) drawFault() fault {
	if s.healed || s.rnd.Float64() >= s.faultRate {
		return pass
	}
	total := 0
	for _, w := range s.faultWeights {
		total += w
	}
	n := s.rnd.IntN(total)
	for f, w := range s.faultWeights {
		if n < w {
			return fault(f)
		}
		n -= w
	}
	return pass
}

// exchange carries one request of device d to the server and its answer
// back, or fails as the seed's network decides.
func (s *sim) exchange(d *device, req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	w := what(req.Method, req.URL.Path)
	s.advance(s.millis(5*time.Millisecond, 400*time.Millisecond)) // latency
	if d.offline > 0 {
		s.note("net %s %s: no network", d.name, w)
		return nil, errNoRoute
	}
	s.deliverStale(false)
	f := s.drawFault()
	if f == cutRequest && len(body) == 0 {
		f = dropRequest
	}
	if f != pass {
		s.res.Faults[f]++
	}
	s.note("net %s %s: %s", d.name, w, f)
	switch f {
	case dropRequest:
		return nil, errReset
	case dropReply:
		s.serve(req, body, w)
		return nil, errReset
	case duplicate:
		s.serve(req, body, w)
	case delay:
		s.advance(s.millis(time.Second, 10*time.Minute))
	case reorder:
		s.stale = append(s.stale, staleRequest{from: d.name, what: w, method: req.Method, url: req.URL.String(),
			header: req.Header.Clone(), body: bytes.Clone(body)})
	case cutRequest:
		if s.rnd.IntN(2) == 0 {
			return nil, errReset // broken before the server saw anything
		}
		k := int(s.rnd.Float64() * float64(len(body)))
		// As net/http does when a connection breaks before Content-Length
		// bytes came: the body ends early with io.ErrUnexpectedEOF.
		cut := io.MultiReader(bytes.NewReader(body[:k]), errorReader{io.ErrUnexpectedEOF})
		resp := s.handle(req, cut, int64(len(body)), w)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			s.problem("the server answered %d to a %s request cut after %d of %d bytes", resp.StatusCode, w, k, len(body))
		}
		return nil, errReset
	case crash:
		s.serve(req, body, w)
		s.restartServer()
		return nil, errReset
	case unavailable:
		rec := httptest.NewRecorder()
		rec.Header().Set("Retry-After", "1")
		http.Error(rec, "<html>service unavailable</html>", http.StatusServiceUnavailable)
		resp := rec.Result()
		resp.Request = req
		return resp, nil
	}
	resp := s.serve(req, body, w)
	if f == cutReply {
		full, _ := io.ReadAll(resp.Body)
		k := int(s.rnd.Float64() * float64(len(full)))
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(full[:k]), errorReader{io.ErrUnexpectedEOF}))
	}
	return resp, nil
}

// deliverStale lets stale copies still on the network arrive: each one
// with probability 1/10, or all of them.
func (s *sim) deliverStale(all bool) {
	kept := s.stale[:0]
	for _, r := range s.stale {
		if !all && s.rnd.IntN(10) != 0 {
			kept = append(kept, r)
			continue
		}
		resp := s.deliver(r.method, r.url, r.header, bytes.NewReader(r.body), int64(len(r.body)), r.what)
		s.note("net %s %s: stale copy arrives, answered %d", r.from, r.what, resp.StatusCode)
	}
	clear(s.stale[len(kept):])
	s.stale = kept
}

func (s *sim) serve(req *http.Request, body []byte, w string) *http.Response {
	return s.handle(req, bytes.NewReader(body), int64(len(body)), w)
}

func (s *sim) handle(req *http.Request, body io.Reader, n int64, w string) *http.Response {
	resp := s.deliver(req.Method, req.URL.String(), req.Header, body, n, w)
	resp.Request = req
	return resp
}

// deliver runs the server's handler on one request, on this goroutine.
// The server never answers 5xx here: it has no reason to fail.
func (s *sim) deliver(method, url string, header http.Header, body io.Reader, n int64, w string) *http.Response {
	r := httptest.NewRequestWithContext(s.ctx, method, url, body)
	r.Header = header.Clone()
	r.ContentLength = n
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, r)
	resp := rec.Result()
	if resp.StatusCode >= 500 {
		s.problem("the server answered %d to %s: %s", resp.StatusCode, w, rec.Body.String())
	}
	return resp
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }
