package central

import (
	"io"
	"net/http"
	"time"
)

// deadlineReader reads a request body under two read deadlines: no byte
// for bodyStall, or the whole body not in within bodyTimeout, and the read
// fails with os.ErrDeadlineExceeded (answered 408). A stalled or trickling
// client thus holds its connection, and its share of the memory budget,
// for a bounded time.
type deadlineReader struct {
	r     io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time
	// unsupported: the connection takes no deadlines (a test recorder);
	// the server's ReadTimeout is then all there is.
	unsupported bool
	failed      bool // a read failed: the deadline stays
}

func (s *Server) newDeadlineReader(w http.ResponseWriter, body io.ReadCloser) *deadlineReader {
	return &deadlineReader{r: body, rc: http.NewResponseController(w), stall: s.bodyStall,
		end: time.Now().Add(s.bodyTimeout)}
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if !d.unsupported {
		next := time.Now().Add(d.stall)
		if next.After(d.end) {
			next = d.end
		}
		if err := d.rc.SetReadDeadline(next); err != nil {
			d.unsupported = true
		}
	}
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		d.failed = true
	}
	return n, err
}

func (d *deadlineReader) Close() error { return d.r.Close() }

// done lifts the deadline once the body is read, so that a large answer
// is not cut short. After a failed read it stays: the server would
// otherwise wait for the rest of the body before answering.
func (d *deadlineReader) done() {
	if !d.unsupported && !d.failed {
		_ = d.rc.SetReadDeadline(time.Time{})
	}
}
