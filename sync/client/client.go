// Package client speaks to Terrain's central service over HTTPS: sign-in,
// sign-out, the sync exchange and a cheap health probe. It is built on resty
// v2 with the transport rules of docs/sync-protocol.md: bearer token, bodies
// gzipped both ways, a timeout per attempt under the caller's overall
// deadline, retries with exponential backoff and jitter on transport errors,
// 408, 429 and 5xx (a POST /v1/sync is safe to retry: mutations are numbered), a
// Retry-After header honoured up to a cap, and plain HTTP refused except to
// the loopback interface.
//
// Errors carry the server's protocol code and wrap one of the sentinel
// errors below, so callers test them with errors.Is.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// Sentinel errors. Every error a method returns (but the caller's own
// context cancellation) wraps exactly one of them.
var (
	// ErrInsecure: the server address is plain http to a host other than
	// the loopback interface. Nothing was sent.
	ErrInsecure = errors.New("plain http is only allowed to this computer; use https")
	// ErrBadURL: the server address cannot be used.
	ErrBadURL = errors.New("bad server address")
	// ErrOffline: the server could not be reached (no network, DNS,
	// connection refused or dropped), after the retries.
	ErrOffline = errors.New("server unreachable")
	// ErrCertificate: the server's TLS certificate is not trusted (see
	// Config.CAFile) or does not name it.
	ErrCertificate = errors.New("server certificate not trusted")
	// ErrTimeout: the server did not answer within the time allowed.
	ErrTimeout = errors.New("server did not answer in time")
	// ErrUnauthorized: the device token is missing, unknown or revoked;
	// the coordinator must sign in again.
	ErrUnauthorized = errors.New("device token refused")
	// ErrBadCredentials: wrong e-mail or password.
	ErrBadCredentials = errors.New("wrong e-mail or password")
	// ErrTooManyAttempts: sign-in is throttled; Error.RetryAfter says how
	// long to wait.
	ErrTooManyAttempts = errors.New("too many sign-in attempts")
	// ErrForbidden: the token belongs to another device, or the device to
	// another coordinator.
	ErrForbidden = errors.New("forbidden")
	// ErrDisabled: the coordinator's account is disabled.
	ErrDisabled = errors.New("account disabled")
	// ErrEpochChanged: the server's data was restored; refetch from
	// cursor 0 with an empty epoch.
	ErrEpochChanged = errors.New("server data restored")
	// ErrUnsupported: the server does not speak this app's protocol
	// version.
	ErrUnsupported = errors.New("protocol version not supported by the server")
	// ErrRefused: the server refused the request as malformed or too
	// large (a defect on this side, not something to retry).
	ErrRefused = errors.New("request refused")
	// ErrServer: the server failed or is overloaded, after the retries.
	ErrServer = errors.New("server error")
)

// Error is a failed request. It wraps one sentinel (Unwrap) and, for
// transport failures, the underlying error.
type Error struct {
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Code and Message are the server's protocol.Error, when it sent one.
	Code    string
	Message string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Op names the request ("sync", "sign in"…).
	Op    string
	kind  error
	cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.kind.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (%d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.cause != nil {
		b.WriteString(": " + e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and, if any, the transport error.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Config describes a Client. Only Server is required.
type Config struct {
	// Server is the base address, "https://central.example.org" (a path
	// prefix is allowed) or "http://127.0.0.1:8470" on this computer.
	Server string
	// Token is the device token; SetToken changes it.
	Token string
	// CAFile, when set, is a PEM file of certificate authorities trusted
	// besides the system's (a server with its own certificate).
	CAFile string
	// AttemptTimeout bounds one attempt, the whole body included; 2
	// minutes when 0, which carries a full page over a slow link.
	AttemptTimeout time.Duration
	// Retries is how many times a failed attempt is retried: 4 when 0,
	// none when negative.
	Retries int
	// RetryWait is the first backoff (500 ms when 0); it doubles at each
	// retry, with jitter, up to RetryMaxWait (30 s when 0), which also caps
	// a server's Retry-After.
	RetryWait    time.Duration
	RetryMaxWait time.Duration
	// ProbeTimeout bounds Health; 10 s when 0.
	ProbeTimeout time.Duration
	// Transport replaces the HTTP transport (tests); its TLS settings are
	// then its own.
	Transport http.RoundTripper
	// UserAgent names the app in the server's logs.
	UserAgent string
	// Logger receives retries at debug level; never a header or a body.
	Logger *slog.Logger
}

// Stats counts what went over the wire since the client was made.
type Stats struct {
	// Attempts counts HTTP requests sent, retries included.
	Attempts int64
	// BytesSent and BytesReceived count body bytes as sent on the wire
	// (compressed), headers excluded.
	BytesSent     int64
	BytesReceived int64
}

// Client talks to one central service. It is safe for concurrent use.
type Client struct {
	base  string
	rest  *resty.Client
	probe *resty.Client

	mu    sync.Mutex
	token string

	attempts, sent, received atomic.Int64
	// noAppVersion is set once the server refused SyncRequest.AppVersion.
	noAppVersion atomic.Bool
}

// Defaults.
const (
	defaultAttemptTimeout = 2 * time.Minute
	defaultRetries        = 4
	defaultRetryWait      = 500 * time.Millisecond
	defaultRetryMaxWait   = 30 * time.Second
	defaultProbeTimeout   = 10 * time.Second
	// maxResponseBytes bounds an answer once decompressed: a page is at
	// most 4 MiB of changes, plus the rejections of 5,000 mutations.
	maxResponseBytes = 64 << 20
)

// New checks the configuration and returns a client. A plain-http address
// to anything but the loopback interface gives ErrInsecure; an unreadable
// CA file an error.
func New(cfg Config) (*Client, error) {
	base, err := CheckServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		t, err := newTransport(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		tr = t
	}
	c := &Client{base: base, token: cfg.Token}
	counted := &countingTransport{next: tr, c: c}
	attempt := orDefault(cfg.AttemptTimeout, defaultAttemptTimeout)
	retries := cfg.Retries
	switch {
	case retries == 0:
		retries = defaultRetries
	case retries < 0:
		retries = 0
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "Terrain"
	}
	c.rest = newResty(counted, attempt, ua, logger).
		SetRetryCount(retries).
		SetRetryWaitTime(orDefault(cfg.RetryWait, defaultRetryWait)).
		SetRetryMaxWaitTime(orDefault(cfg.RetryMaxWait, defaultRetryMaxWait)).
		SetRetryAfter(retryAfter).
		// This condition replaces resty's default one (retry on any
		// error): it must name every case itself.
		AddRetryCondition(shouldRetry)
	// The probe answers "is the server there now": one quick attempt.
	c.probe = newResty(counted, orDefault(cfg.ProbeTimeout, defaultProbeTimeout), ua, logger)
	return c, nil
}

func newResty(tr http.RoundTripper, timeout time.Duration, ua string, logger *slog.Logger) *resty.Client {
	hc := &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// The API never redirects; following one could carry the token
		// elsewhere, or to plain http.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return resty.NewWithClient(hc).
		SetDebug(false).
		SetLogger(restyLogger{logger}).
		SetHeader("User-Agent", ua).
		SetHeader("Accept", "application/json").
		// Set explicitly, so the transport leaves the gzip body to resty,
		// which unpacks it; the wire byte count stays compressed.
		SetHeader("Accept-Encoding", "gzip").
		// Smaller pages: one stamp per record, and pushed records not
		// sent back (protocol.FeatureCompact).
		SetHeader(protocol.FeaturesHeader, protocol.FeatureCompact).
		SetResponseBodyLimit(maxResponseBytes)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// CheckServer validates a server address and returns it without a
// trailing slash. Plain http is accepted only to localhost, 127.0.0.0/8 and
// ::1; anything else gives ErrInsecure.
func CheckServer(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: %w", raw, ErrBadURL)
	}
	if u.User != nil {
		return "", fmt.Errorf("server address with credentials: %w", ErrBadURL)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return "", fmt.Errorf("%s: %w", u.Host, ErrInsecure)
		}
	default:
		return "", fmt.Errorf("%q: %w", raw, ErrBadURL)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return strings.TrimRight(u.String(), "/"), nil
}

// IsLoopback reports whether host names this computer: localhost,
// 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newTransport is http.DefaultTransport's settings with TLS 1.2 at least
// and, when caFile is set, its authorities trusted besides the system's.
func newTransport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return t, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w: %w", ErrCertificate, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate: %w", caFile, ErrCertificate)
	}
	t.TLSClientConfig.RootCAs = pool
	return t, nil
}

// Server returns the base address.
func (c *Client) Server() string { return c.base }

// SetToken replaces the device token used by later requests.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

func (c *Client) currentToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Stats returns the traffic so far.
func (c *Client) Stats() Stats {
	return Stats{Attempts: c.attempts.Load(), BytesSent: c.sent.Load(), BytesReceived: c.received.Load()}
}

// SignIn exchanges an e-mail and a password for a device token bound to
// deviceID. A throttled attempt is not retried: it returns
// ErrTooManyAttempts with the wait in Error.RetryAfter.
func (c *Client) SignIn(ctx context.Context, email, password, deviceID, deviceName string) (protocol.SessionResponse, error) {
	var out protocol.SessionResponse
	// An address pasted with a zero-width space or a line break is what the
	// coordinator meant without them; the server refuses them.
	body := protocol.SessionRequest{Email: domain.NormalizeLine(email), Password: password, ClientID: deviceID,
		DeviceName: domain.NormalizeLine(deviceName)}
	err := c.call(ctx, "sign in", http.MethodPost, "/v1/session", "", body, func(data []byte) error {
		return protocol.DecodeLenient(data, &out)
	})
	return out, err
}

// SignOut revokes the current token on the server.
func (c *Client) SignOut(ctx context.Context) error {
	return c.call(ctx, "sign out", http.MethodDelete, "/v1/session", c.currentToken(), nil, nil)
}

// Sync sends one sync request and returns the server's page. A page that
// breaks the protocol's invariants (protocol.DecodeResponse) is an
// ErrServer that also wraps protocol.ErrBadResponse; it is not retried.
//
// A server older than SyncRequest.AppVersion refuses the field as unknown:
// the request is then sent again without it, and so are the next ones.
func (c *Client) Sync(ctx context.Context, req protocol.SyncRequest) (protocol.SyncResponse, error) {
	if c.noAppVersion.Load() {
		req.AppVersion = ""
	}
	out, err := c.sync(ctx, req)
	var e *Error
	if req.AppVersion != "" && errors.As(err, &e) && e.Code == protocol.CodeUnknownField && strings.Contains(e.Message, "app_version") {
		c.noAppVersion.Store(true)
		req.AppVersion = ""
		return c.sync(ctx, req)
	}
	return out, err
}

func (c *Client) sync(ctx context.Context, req protocol.SyncRequest) (protocol.SyncResponse, error) {
	var out protocol.SyncResponse
	err := c.call(ctx, "sync", http.MethodPost, "/v1/sync", c.currentToken(), req, func(data []byte) (err error) {
		out, err = protocol.DecodeResponse(data, req)
		return err
	})
	return out, err
}

// Health probes GET /healthz once, without retrying: nil means the server
// and its database answer.
func (c *Client) Health(ctx context.Context) error {
	resp, err := c.probe.R().SetContext(ctx).Get(c.base + "/healthz")
	return c.result(ctx, "health", resp, err, nil)
}

// call sends body (gzipped JSON, when not nil) and hands a successful
// answer's body to decode (when not nil).
func (c *Client) call(ctx context.Context, op, method, path, token string, body any, decode func([]byte) error) error {
	r := c.rest.R().SetContext(ctx)
	if token != "" {
		r.SetAuthToken(token)
	}
	if body != nil {
		data, err := protocol.EncodeBody(body, true)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		r.SetHeader("Content-Type", "application/json; charset=utf-8").
			SetHeader("Content-Encoding", "gzip").
			SetBody(data)
	}
	resp, err := r.Execute(method, c.base+path)
	return c.result(ctx, op, resp, err, decode)
}

// result turns resty's outcome into a decoded answer or an *Error.
func (c *Client) result(ctx context.Context, op string, resp *resty.Response, err error, decode func([]byte) error) error {
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		// The caller gave up; that is not the server's fault.
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	if err != nil {
		kind := ErrOffline
		var ne net.Error
		switch {
		case isCertificateError(err):
			kind = ErrCertificate
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
			kind = ErrTimeout
		}
		e := &Error{Op: op, kind: kind, cause: err}
		if resp != nil && resp.RawResponse != nil {
			e.Status = resp.StatusCode() // the answer broke off mid-body
		}
		return e
	}
	status := resp.StatusCode()
	if status >= 200 && status < 300 {
		if decode == nil || status == http.StatusNoContent {
			return nil
		}
		if err := decode(resp.Body()); err != nil {
			return &Error{Op: op, Status: status, kind: ErrServer, cause: fmt.Errorf("decode answer: %w", err)}
		}
		return nil
	}
	var pe protocol.Error
	if protocol.DecodeLenient(resp.Body(), &pe) != nil {
		pe = protocol.Error{} // a proxy's HTML page, or an ambiguous body: no code to act on
	}
	e := &Error{Op: op, Status: status, Code: pe.Code, Message: pe.Message,
		RetryAfter: parseRetryAfter(resp.Header().Get("Retry-After"), time.Now())}
	e.kind = classify(status, pe.Code)
	return e
}

// classify maps an error answer to its sentinel.
func classify(status int, code string) error {
	switch {
	case code == protocol.CodeBadCredentials:
		return ErrBadCredentials
	case code == protocol.CodeTooManyAttempts:
		return ErrTooManyAttempts
	case code == protocol.CodeDisabled:
		return ErrDisabled
	case code == protocol.CodeEpochChanged:
		return ErrEpochChanged
	case code == protocol.CodeUnsupportedSchema:
		return ErrUnsupported
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusTooManyRequests, status >= 500:
		return ErrServer
	case status == http.StatusRequestTimeout:
		// The body came in too slowly: the link, not the request.
		return ErrTimeout
	}
	return ErrRefused
}

// shouldRetry is the whole retry condition: transport errors, 429 (but a
// throttled sign-in, which is for the coordinator to wait out) and 5xx but
// 501. resty checks the caller's context before asking.
func shouldRetry(resp *resty.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !isCertificateError(err) &&
			!errors.Is(err, resty.ErrResponseBodyTooLarge)
	}
	if resp == nil {
		return false
	}
	switch s := resp.StatusCode(); {
	case s == http.StatusRequestTimeout:
		return true
	case s == http.StatusTooManyRequests:
		return !strings.HasSuffix(resp.Request.URL, "/v1/session")
	case s == http.StatusNotImplemented:
		return false
	case s >= 500:
		return true
	}
	return false
}

// isCertificateError recognises a TLS verification failure, which no retry
// will cure.
func isCertificateError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// retryAfter gives resty the server's Retry-After; resty bounds it by the
// retry wait times, and 0 means "use the backoff".
func retryAfter(_ *resty.Client, resp *resty.Response) (time.Duration, error) {
	return parseRetryAfter(resp.Header().Get("Retry-After"), time.Now()), nil
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// Anything else, or a date in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// countingTransport counts attempts and body bytes on the wire.
type countingTransport struct {
	next http.RoundTripper
	c    *Client
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.attempts.Add(1)
	if req.ContentLength > 0 {
		t.c.sent.Add(req.ContentLength)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.c.received}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// restyLogger sends resty's own messages (a retry's transport error) to
// slog at debug level. resty only logs headers in debug mode, which stays
// off.
type restyLogger struct{ l *slog.Logger }

func (r restyLogger) Errorf(format string, v ...any) {
	r.l.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "http")
}

func (r restyLogger) Warnf(format string, v ...any) {
	r.l.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "http")
}

func (r restyLogger) Debugf(string, ...any) {}
