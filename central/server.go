package central

import (
	"cmp"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

// Options tune a Server. The zero value is production.
type Options struct {
	// Logger receives structured logs; slog.Default when nil. Logs never
	// hold tokens, passwords, e-mail addresses, member data or client IP
	// addresses (see logged).
	Logger *slog.Logger
	// AuditLog receives failed sign-ins with the account tried (never the
	// password nor the address), for incident review; Logger when nil.
	AuditLog *slog.Logger
	// Now is the wall clock; time.Now when nil. Tests move it.
	Now func() time.Time
	// Argon2 is the cost of new password hashes; DefaultArgon2 when zero.
	Argon2 Argon2Params
	// PageBytes bounds the encoded changes of one sync response (at least
	// one change is always sent); 4 MiB when 0.
	PageBytes int
	// PageLimit bounds the number of changes of one response; 5000 when 0.
	// A page costs the device a round trip: 600 ms on a satellite link,
	// where 5,000 members take some 6 s to come down.
	PageLimit int
	// MaxClockSkew is how far ahead of the server's clock a device's HLC may
	// be before it is clamped; one minute when 0.
	MaxClockSkew time.Duration
	// MaxBodyBytes and MaxDecodedBytes bound request bodies before and
	// after gunzip; protocol.MaxBodyBytes and protocol.MaxDecodedBytes
	// when 0.
	MaxBodyBytes    int64
	MaxDecodedBytes int64
	// MemoryBudget bounds the memory requests make the server hold, in
	// bytes (admission.go): past it a request waits AdmissionWait for
	// memory to be freed, then is answered 503 with Retry-After.
	// DefaultMemoryBudget when 0.
	MemoryBudget int64
	// AdmissionWait is how long a request waits for its share of the
	// memory budget; two seconds when 0.
	AdmissionWait time.Duration
	// BodyStall is how long a request body may go without a byte arriving,
	// and BodyTimeout how long it may take in all, before the request is
	// answered 408 request_timeout (a client's slowness, logged at INFO);
	// 15 s and 60 s when 0. A push of 1,000 visits is some 100 kB gzipped:
	// 60 s leave room for a link of 16 kbit/s.
	BodyStall   time.Duration
	BodyTimeout time.Duration
	// AddrFailures is how many failed sign-ins one remote address may make
	// within an hour before each further attempt from it waits (and is
	// answered 429): 20 when 0, no per-address limit when negative. The
	// address is the TCP peer's: behind a reverse proxy it is the proxy's,
	// shared by every client, so raise the limit or turn it off there (the
	// per-e-mail limit always holds).
	AddrFailures int
	// VisitRetentionMonths is how long visits and follow-ups are kept,
	// counted from their date (a follow-up's due date): older ones are
	// erased by PurgeExpired. DefaultVisitRetentionMonths when 0; never
	// erased when negative, which Law 25 does not favour.
	VisitRetentionMonths int
}

// Server is the central service: the HTTP API and the administration
// operations, over one Backend.
type Server struct {
	backend Backend
	log     *slog.Logger
	audit   *slog.Logger
	metrics *metrics
	now     func() time.Time
	clock   *hlc.Clock
	argon   Argon2Params
	// epoch is read by every request and replaced by RotateEpoch.
	epoch atomic.Pointer[string]

	pageBytes       int
	pageLimit       int
	maxSkew         time.Duration
	maxBodyBytes    int64
	maxDecodedBytes int64
	// addrFailures is the free failed sign-ins per address; 0 turns the
	// per-address limit off.
	addrFailures int
	// retentionMonths is VisitRetentionMonths resolved; 0 keeps visits
	// forever.
	retentionMonths int

	// hashing bounds concurrent Argon2 runs: each takes 64 MiB, and a burst
	// of sign-ins must not exhaust memory.
	hashing chan struct{}
	// ahead holds the next page of devices pulling several (prefetch.go).
	ahead prefetcher
	// budget is the memory requests may hold (admission.go).
	budget        *memBudget
	admissionWait time.Duration
	bodyStall     time.Duration
	bodyTimeout   time.Duration

	// dummyHash is verified against for unknown e-mails so that a miss
	// costs as much as a wrong password.
	dummyOnce sync.Once
	dummyHash string
}

// Meta keys.
const (
	metaEpoch   = "epoch"
	metaCatalog = "catalog"
)

// New returns a server over b, initialising an empty backend: a new epoch and
// the service catalog.
func New(ctx context.Context, b Backend, opt Options) (*Server, error) {
	s := &Server{
		backend:         b,
		log:             opt.Logger,
		now:             opt.Now,
		argon:           opt.Argon2,
		pageBytes:       opt.PageBytes,
		pageLimit:       opt.PageLimit,
		maxSkew:         opt.MaxClockSkew,
		maxBodyBytes:    opt.MaxBodyBytes,
		maxDecodedBytes: opt.MaxDecodedBytes,
		addrFailures:    opt.AddrFailures,
		hashing:         make(chan struct{}, 2),
		admissionWait:   opt.AdmissionWait,
		bodyStall:       opt.BodyStall,
		bodyTimeout:     opt.BodyTimeout,
	}
	if s.bodyStall <= 0 {
		s.bodyStall = 15 * time.Second
	}
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = time.Minute
	}
	if opt.MemoryBudget <= 0 {
		opt.MemoryBudget = DefaultMemoryBudget
	}
	s.budget = newMemBudget(opt.MemoryBudget)
	if s.admissionWait <= 0 {
		s.admissionWait = defaultAdmissionWait
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.audit = cmp.Or(opt.AuditLog, s.log)
	s.metrics = newMetrics(s.now)
	s.backend = timedBackend{Backend: b, hist: s.metrics.backendSeconds}
	if s.argon == (Argon2Params{}) {
		s.argon = DefaultArgon2
	}
	if s.pageBytes <= 0 {
		s.pageBytes = 4 << 20
	}
	if s.pageLimit <= 0 {
		s.pageLimit = 5000
	}
	if s.maxSkew <= 0 {
		s.maxSkew = time.Minute
	}
	if s.maxBodyBytes <= 0 {
		s.maxBodyBytes = protocol.MaxBodyBytes
	}
	if s.maxDecodedBytes <= 0 {
		s.maxDecodedBytes = protocol.MaxDecodedBytes
	}
	switch {
	case s.addrFailures == 0:
		s.addrFailures = freeAddrFailures
	case s.addrFailures < 0:
		s.addrFailures = 0
	}
	switch {
	case opt.VisitRetentionMonths == 0:
		s.retentionMonths = DefaultVisitRetentionMonths
	case opt.VisitRetentionMonths > 0:
		s.retentionMonths = opt.VisitRetentionMonths
	}
	s.clock = hlc.NewClock(s.now, 0)
	if err := s.init(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) init(ctx context.Context) error {
	err := s.backend.Update(ctx, func(tx Tx) error {
		epoch, err := tx.Meta(metaEpoch)
		if errors.Is(err, ErrNotFound) {
			if epoch, err = newEpoch(); err != nil {
				return err
			}
			if err := tx.SetMeta(metaEpoch, epoch); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		s.epoch.Store(&epoch)
		if _, err := tx.Meta(metaCatalog); errors.Is(err, ErrNotFound) {
			for _, svc := range domain.DefaultServices() {
				if err := s.putCentral(tx, domain.KindService, svc.ID, "", toFields(svc)); err != nil {
					return err
				}
			}
			return tx.SetMeta(metaCatalog, "1")
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("init central: %w", err)
	}
	return nil
}

// Epoch returns the server's epoch.
func (s *Server) Epoch() string { return *s.epoch.Load() }

func newEpoch() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new epoch: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// RotateEpoch gives the data a new epoch and returns it. Run it after
// restoring a backup, before serving: the epoch is stored with the data, so
// the restored data carries the epoch devices already know, and they would
// take it for the data they synced with. With a new epoch every device
// refetches and pushes its records again. A server running on the same
// backend in another process keeps the old epoch until it restarts.
func (s *Server) RotateEpoch(ctx context.Context) (string, error) {
	epoch, err := newEpoch()
	if err != nil {
		return "", err
	}
	err = s.backend.Update(ctx, func(tx Tx) error { return tx.SetMeta(metaEpoch, epoch) })
	if err != nil {
		return "", fmt.Errorf("rotate epoch: %w", err)
	}
	s.epoch.Store(&epoch)
	return epoch, nil
}

// today is the civil day used for validation.
func (s *Server) today() domain.Date { return domain.DateOf(s.now()) }

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.handleHealth)
	mux.HandleFunc("/v1/session", s.handleSession)
	mux.HandleFunc("/v1/sync", s.instrumentSync(s.handleSync))
	mux.HandleFunc("/v1/catalog", s.handleCatalog)
	mux.HandleFunc("/", notFound)
	return s.logged(cleanPathsOnly(s.admitted(mux)))
}

// hstsMaxAge: over TLS, clients keep to HTTPS for a year.
const hstsMaxAge = "max-age=31536000"

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusNotFound, protocol.CodeNotFound, "no such endpoint")
}

// cleanPathsOnly sends HSTS over TLS and answers CONNECT and paths that are not in clean form
// ("//healthz", "/v1/./sync") like any unknown endpoint. ServeMux would
// redirect them to their clean form: a client's mistake would then work
// by accident, and a proxy or cache could be pointed anywhere.
func cleanPathsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", hstsMaxAge)
		}
		p := r.URL.Path
		if r.Method == http.MethodConnect || p == "" || path.Clean(p) != p {
			notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requestInfo collects what the access log says about a request; handlers
// fill it as they learn who is calling.
type requestInfo struct {
	device  string
	code    string
	changes int
	muts    int
}

type infoKey struct{}

func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

// Unwrap lets http.ResponseController reach the connection (read
// deadlines, flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// logged writes one access-log line per request and turns a panic into a
// 500 instead of a dropped connection.
//
// The line holds method, path, status, duration, bytes sent, the device id
// (a random UUID, once known: from the token, or the client_id of a
// sign-in), the error code and, for a sync, the counts of mutations and
// changes. Nothing else: no header, body, token, e-mail (the account a
// failed sign-in tried goes to Options.AuditLog only) and no client IP
// address, which is personal information
// (Québec's Law 25) that the log has no need for. The address lives only in
// the sign-in throttle's counter of recent failures.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeError(sw, r, http.StatusInternalServerError, protocol.CodeInternal, "internal error")
				}
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status,
				"ms", time.Since(start).Milliseconds(), "bytes_out", sw.bytes}
			if ri.device != "" {
				attrs = append(attrs, "device", ri.device)
			}
			if ri.code != "" {
				attrs = append(attrs, "code", ri.code)
			}
			if r.URL.Path == "/v1/sync" && sw.status == http.StatusOK {
				attrs = append(attrs, "mutations", ri.muts, "changes", ri.changes)
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			s.log.Log(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	err := s.backend.View(r.Context(), func(tx ReadTx) error {
		_, err := tx.Head()
		return err
	})
	if err != nil {
		s.log.Error("health check", "err", err)
		writeError(w, r, http.StatusServiceUnavailable, protocol.CodeInternal, "backend unavailable")
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok", "epoch": s.Epoch()})
}

func (s *Server) handleCatalog(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r, "GET")
		return
	}
	if _, _, ok := s.authenticate(w, r); !ok {
		return
	}
	var services []domain.Service
	err := s.backend.View(r.Context(), func(tx ReadTx) error {
		return tx.Records(domain.KindService, func(rec Record) error {
			if rec.Deleted {
				return nil
			}
			var svc domain.Service
			if err := fromFields(rec.Fields, &svc); err != nil {
				return fmt.Errorf("decode service %s: %w", rec.ID, err)
			}
			services = append(services, svc)
			return nil
		})
	})
	if err != nil {
		s.internalError(w, r, "catalog", err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"services": services})
}

// writeJSON answers v, gzip-compressed when the client accepts it.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"code":"internal","message":"cannot encode response"}`)
	}
	writeEncoded(w, r, status, data)
}

// writeEncoded answers a JSON body, gzip-compressed when the client
// accepts it.
func writeEncoded(w http.ResponseWriter, r *http.Request, status int, data []byte) {
	gz := acceptsGzip(r)
	body, err := protocol.Gzip(data, gz)
	if err != nil {
		status, gz = http.StatusInternalServerError, false
		body = []byte(`{"code":"internal","message":"cannot encode response"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeStream answers 200 with the JSON write produces, compressed as it
// is written when the client accepts gzip: a page of megabytes is never
// held whole, encoded or compressed. An error from write comes after the
// status was sent.
func writeStream(w http.ResponseWriter, r *http.Request, write func(io.Writer) error) error {
	gz := acceptsGzip(r)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	if !gz {
		return write(w)
	}
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(w)
	if err := write(zw); err != nil {
		return err
	}
	return zw.Close()
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// writeError answers the JSON error body with a stable code.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	info(r).code = code
	writeJSON(w, r, status, protocol.Error{Code: code, Message: message})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, r, http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed, "method "+r.Method+" not allowed; use "+allow)
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, context.Canceled) {
		s.log.Info("request cancelled", "what", what)
	} else {
		s.log.Error(what, "err", err)
	}
	writeError(w, r, http.StatusInternalServerError, protocol.CodeInternal, "internal error")
}

// maxSessionBytes bounds a sign-in body once decoded: an e-mail, a
// password, a device name and an id.
const maxSessionBytes = 16 << 10

// readJSON checks the content type and reads a bounded, possibly gzipped
// body of at most limit decoded bytes, charged to the request's share of
// the memory budget as it is read. It answers the error itself and
// returns false on failure.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	ct := r.Header.Get("Content-Type")
	mt, params, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		writeError(w, r, http.StatusUnsupportedMediaType, protocol.CodeUnsupportedMedia, "Content-Type must be application/json")
		return nil, false
	}
	if cs, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(params)), "charset="); ok && strings.Trim(cs, `"`) != "utf-8" {
		writeError(w, r, http.StatusUnsupportedMediaType, protocol.CodeUnsupportedMedia, "the only charset accepted is utf-8")
		return nil, false
	}
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz = true
	default:
		writeError(w, r, http.StatusUnsupportedMediaType, protocol.CodeUnsupportedMedia, "Content-Encoding must be gzip or absent")
		return nil, false
	}
	rd := s.newDeadlineReader(w, r.Body)
	defer rd.done()
	var body io.Reader = http.MaxBytesReader(w, rd, s.maxBodyBytes)
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrHeader) {
				err = &protocol.DecodeError{Code: protocol.CodeMalformed, Message: "body is not valid gzip", Err: err}
			}
			s.decodeError(w, r, err)
			return nil, false
		}
		defer zr.Close()
		body = zr
	}
	// Decoded bytes are charged as they come, so a small body that
	// inflates to a large one is refused before it is held.
	data, err := protocol.ReadBody(&budgetedReader{r: body, sh: shareOf(r)}, false, limit)
	if err != nil {
		s.decodeError(w, r, err)
		return nil, false
	}
	return data, true
}

// decodeError answers a body that could not be read or decoded.
func (s *Server) decodeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	var de *protocol.DecodeError
	switch {
	case errors.Is(err, errBusy):
		s.busy(w, r)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The client's slowness, not the server's fault: no ERROR line.
		// The connection is closed after the answer: the rest of the body
		// is not waited for.
		w.Header().Set("Connection", "close")
		writeError(w, r, http.StatusRequestTimeout, protocol.CodeRequestTimeout, "the request body did not arrive in time")
	case errors.As(err, &mbe):
		writeError(w, r, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge,
			fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
	case errors.As(err, &de) && de.Code == protocol.CodeTooLarge:
		writeError(w, r, http.StatusRequestEntityTooLarge, de.Code, de.Message)
	case errors.As(err, &de):
		writeError(w, r, http.StatusBadRequest, de.Code, de.Message)
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, r, http.StatusBadRequest, protocol.CodeMalformed, "body ended early")
	default:
		s.internalError(w, r, "read body", err)
	}
}
