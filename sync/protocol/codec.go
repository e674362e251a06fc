package protocol

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"leconsortium.coop/terrain/domain"
)

// Limits of a request. A push of 1,000 visits is well under them.
const (
	// MaxBodyBytes bounds a request body as sent (possibly compressed).
	MaxBodyBytes = 8 << 20
	// MaxDecodedBytes bounds a request body once decompressed: twice the
	// largest push the app sends (its batches carry at most 4 MiB of
	// values), and small enough that the server need not hold 32 MiB for
	// a body of a few kilobytes that inflates.
	MaxDecodedBytes = 8 << 20
	// MaxMutations bounds the mutations of one request.
	MaxMutations = 5000
	// MaxFieldBytes bounds the JSON of one field value; the longest text a
	// record may hold (domain.MaxLongText runes) fits with room to spare.
	MaxFieldBytes = 64 << 10
	// MaxNameBytes bounds identifiers, field names, e-mails and passwords.
	MaxNameBytes = 256
	// MaxSeq bounds mutation numbers, cursors and backfill positions:
	// 2^53−1, the largest integer every JSON reader (a double) holds
	// exactly, far below what either backend stores (int64), so a device
	// can never be acknowledged a number it cannot follow.
	MaxSeq = 1<<53 - 1
)

// ErrTooLarge is returned (wrapped in a *DecodeError) for a body over the
// limit.
var ErrTooLarge = errors.New("body too large")

// DecodeError says why a body was refused. Code is one of the request-level
// codes (CodeMalformed, CodeDuplicateKey, CodeUnknownField, CodeInvalidUTF8,
// CodeTooLarge, CodeFieldTooLarge, CodeBadRequest, CodeSeqOutOfRange,
// CodeUnsupportedSchema); the server
// answers 413 for CodeTooLarge and 400 for the others.
type DecodeError struct {
	Code    string
	Message string
	Err     error
}

func (e *DecodeError) Error() string { return e.Message }

// Unwrap returns the underlying error, if any.
func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErr(code, format string, args ...any) *DecodeError {
	return &DecodeError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ReadBody reads a whole body, gunzipping it when gzipped, and refuses more
// than limit bytes of decoded content.
func ReadBody(r io.Reader, gzipped bool, limit int64) ([]byte, error) {
	if gzipped {
		zr, err := gzip.NewReader(r)
		if errors.Is(err, io.EOF) {
			// An empty body announced as gzip: not even a header.
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, wrapReadErr(err)
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, wrapReadErr(err)
	}
	if int64(len(data)) > limit {
		return nil, &DecodeError{Code: CodeTooLarge, Message: fmt.Sprintf("body larger than %d bytes", limit), Err: ErrTooLarge}
	}
	return data, nil
}

// wrapReadErr keeps a size-limit error from the transport recognisable
// (errors.As on *http.MaxBytesError still works) and reports bad gzip as
// malformed input.
func wrapReadErr(err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return &DecodeError{Code: CodeMalformed, Message: "body is not valid gzip", Err: err}
	}
	return fmt.Errorf("read body: %w", err)
}

// DecodeStrict decodes exactly one JSON value from data into v: the bytes
// must be valid UTF-8, every object key must be exactly the JSON name of a
// field of v (encoding/json alone ignores case), no object may hold the same
// key twice, and nothing but white space may follow the value.
func DecodeStrict(data []byte, v any) error {
	if !utf8.Valid(data) {
		return decodeErr(CodeInvalidUTF8, "body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &DecodeError{Code: CodeUnknownField, Message: "unknown field " + name, Err: err}
		}
		return &DecodeError{Code: CodeMalformed, Message: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: "), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return decodeErr(CodeMalformed, "malformed JSON: data after the value")
	}
	if ke := checkKeys(data, reflect.TypeOf(v), false); ke != nil {
		return ke.decodeError()
	}
	return nil
}

// DecodeLenient decodes one JSON value sent by a possibly newer peer (the
// server's session answer, an error body): as DecodeStrict, except that a
// key matching no field of v is ignored. A key that differs from a field's
// name only in case, or a key twice in one object, is still refused.
func DecodeLenient(data []byte, v any) error {
	if !utf8.Valid(data) {
		return decodeErr(CodeInvalidUTF8, "body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return &DecodeError{Code: CodeMalformed, Message: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: "), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return decodeErr(CodeMalformed, "malformed JSON: data after the value")
	}
	if ke := checkKeys(data, reflect.TypeOf(v), true); ke != nil {
		return ke.decodeError()
	}
	return nil
}

func (ke *keyError) decodeError() *DecodeError {
	if ke.code == CodeDuplicateKey {
		return decodeErr(CodeDuplicateKey, "key %q appears twice in one object", truncate(ke.key))
	}
	return decodeErr(CodeUnknownField, "unknown field %q (keys are matched exactly, in lower case)", truncate(ke.key))
}

// DecodeRequest decodes and checks a sync request body (already gunzipped).
func DecodeRequest(data []byte) (SyncRequest, error) {
	var req SyncRequest
	if err := DecodeStrict(data, &req); err != nil {
		return SyncRequest{}, err
	}
	if err := req.Check(); err != nil {
		return SyncRequest{}, err
	}
	return req, nil
}

// Check verifies what can be verified without the server's data: ids are
// UUIDs, mutations are numbered upwards, fields are present for edits and
// absent for deletes (whose base may name any field), and no value is
// oversized. It returns a *DecodeError.
func (r SyncRequest) Check() error {
	if r.SchemaVersion != SchemaVersion {
		return decodeErr(CodeUnsupportedSchema, "schema_version %d is not supported (this server speaks %d)", r.SchemaVersion, SchemaVersion)
	}
	if domain.CheckID(r.ClientID) != nil {
		return decodeErr(CodeBadRequest, "client_id must be a lower-case UUID")
	}
	if len(r.Epoch) > MaxNameBytes {
		return decodeErr(CodeBadRequest, "epoch is too long")
	}
	if r.Backfill != nil && (r.Backfill.Through > MaxSeq || r.Backfill.After > MaxSeq) {
		return decodeErr(CodeSeqOutOfRange, "backfill position above %d", uint64(MaxSeq))
	}
	if len(r.AppVersion) > maxAppVersionBytes || !printableASCII(r.AppVersion) {
		return decodeErr(CodeBadRequest, "app_version must be at most %d printable ASCII characters", maxAppVersionBytes)
	}
	if len(r.Mutations) > MaxMutations {
		return decodeErr(CodeTooLarge, "more than %d mutations in one request", MaxMutations)
	}
	var last uint64
	for i, m := range r.Mutations {
		if err := m.check(last); err != nil {
			err.Message = fmt.Sprintf("mutation %d: %s", i, err.Message)
			return err
		}
		last = m.Seq
	}
	return nil
}

func (m Mutation) check(prevSeq uint64) *DecodeError {
	switch {
	case m.Seq == 0:
		return decodeErr(CodeBadRequest, "seq must be positive")
	case m.Seq <= prevSeq:
		return decodeErr(CodeBadRequest, "seq %d does not follow %d", m.Seq, prevSeq)
	case m.Seq > MaxSeq:
		return decodeErr(CodeSeqOutOfRange, "seq %d is above the largest mutation number, %d", m.Seq, uint64(MaxSeq))
	case !m.Kind.Valid() && m.Kind != KindConflict:
		return decodeErr(CodeBadRequest, "unknown kind %q", truncate(string(m.Kind)))
	case domain.CheckID(m.ID) != nil:
		return decodeErr(CodeBadRequest, "id must be a lower-case UUID")
	case m.Delete && len(m.Fields) > 0:
		return decodeErr(CodeBadRequest, "a delete carries no fields")
	case !m.Delete && len(m.Fields) == 0:
		return decodeErr(CodeBadRequest, "an edit carries at least one field")
	}
	for name, v := range m.Fields {
		if name == "" || len(name) > MaxNameBytes {
			return decodeErr(CodeBadRequest, "bad field name")
		}
		if len(v) > MaxFieldBytes {
			return decodeErr(CodeFieldTooLarge, "field %q is larger than %d bytes", truncate(name), MaxFieldBytes)
		}
	}
	for name, seq := range m.Base {
		if name == "" || len(name) > MaxNameBytes {
			return decodeErr(CodeBadRequest, "bad field name in base")
		}
		if seq > MaxSeq {
			return decodeErr(CodeSeqOutOfRange, "base of %q is above %d", truncate(name), uint64(MaxSeq))
		}
		// A delete's base names the fields of the record it was made on (it
		// changes none); an edit's names only the fields it changes.
		if _, ok := m.Fields[name]; !ok && !m.Delete {
			return decodeErr(CodeBadRequest, "base names field %q that the mutation does not change", truncate(name))
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "…"
}

// DecodeSession decodes and checks a session request body.
func DecodeSession(data []byte) (SessionRequest, error) {
	var req SessionRequest
	if err := DecodeStrict(data, &req); err != nil {
		return SessionRequest{}, err
	}
	switch {
	case req.Email == "" || req.Password == "":
		return SessionRequest{}, decodeErr(CodeBadRequest, "email and password are required")
	case len(req.Email) > MaxNameBytes || len(req.Password) > MaxNameBytes || len(req.DeviceName) > MaxNameBytes:
		return SessionRequest{}, decodeErr(CodeFieldTooLarge, "email, password or device_name is too long")
	case domain.CheckID(req.ClientID) != nil:
		return SessionRequest{}, decodeErr(CodeBadRequest, "client_id must be a lower-case UUID")
	case !domain.CheckLine(req.Email):
		// Refused here, before any backend sees it: PostgreSQL cannot
		// even compare a text holding U+0000.
		return SessionRequest{}, decodeErr(CodeBadRequest, "email holds control or invisible characters")
	}
	// The device name is only shown (device list, logs): it is cleaned,
	// not refused, so that an odd host name never blocks a sign-in.
	req.DeviceName = domain.NormalizeLine(req.DeviceName)
	return req, nil
}

// EncodeBody returns v as JSON, gzip-compressed when gz is true.
func EncodeBody(v any, gz bool) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	return Gzip(data, gz)
}

// Gzip returns data gzip-compressed when gz is true, as it is otherwise.
func Gzip(data []byte, gz bool) ([]byte, error) {
	if !gz {
		return data, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	return buf.Bytes(), nil
}

// maxAppVersionBytes bounds SyncRequest.AppVersion: "1.12.3-140-gabcdef0-dirty"
// is 25.
const maxAppVersionBytes = 64

// printableASCII reports whether s holds only ASCII from space to tilde: a
// version shown in an administrator's terminal carries no control codes.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
