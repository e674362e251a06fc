package central

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"leconsortium.coop/terrain/sync/protocol"
)

// Memory admission. Every request holds a share of a fixed budget for the
// memory it makes the server hold: a base share on arrival, the body as it
// is read (decoded bytes times bodyFactor: the buffer, the decoder's copy
// and the decoded values), and a sync's page while it is built and sent.
// A request that cannot get its share within the admission wait is answered
// 503 with Retry-After, which the app waits out and retries; a page that
// cannot get a full share is built smaller instead, since the device then
// simply asks for the next one. So however many devices send whatever they
// send, what requests hold stays within the budget.

// DefaultMemoryBudget is Options.MemoryBudget when 0.
const DefaultMemoryBudget = 384 << 20

// SoftMemoryLimit is the Go runtime memory limit (debug.SetMemoryLimit)
// that goes with a memory budget: the budget, plus room for the backend's
// caches and the runtime. Under it the garbage collector runs as often as
// it must for the server to stay near it, instead of letting the heap grow
// to twice what is live.
func SoftMemoryLimit(budget int64) int64 {
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	return budget + 384<<20
}

// defaultAdmissionWait is how long a request waits for its share.
const defaultAdmissionWait = 2 * time.Second

// retryAfterBusy is the Retry-After of a 503 for want of memory, seconds.
const retryAfterBusy = 2

const (
	// baseCost is what any request is assumed to hold: the connection's
	// buffers, the handler's state and a small body or answer.
	baseCost = 256 << 10
	// bodyFactor: each decoded byte of a request body is held about this
	// many times over while it is read and decoded.
	bodyFactor = 4
	// bodyChunk is the step in which a body's share grows.
	bodyChunk = 64 << 10
	// pageFactor: a page of PageBytes of encoded changes holds about this
	// many times as much: the records read from the backend, their
	// encoding and the compressor.
	pageFactor = 5
	// minPageShare is the least share a page is built with.
	minPageShare = pageFactor * (64 << 10)
)

// errBusy: the memory budget is spent; the request is answered 503.
var errBusy = errors.New("server busy: memory budget spent")

// memBudget is a counting semaphore of bytes.
type memBudget struct {
	mu    sync.Mutex
	free  int64
	freed chan struct{} // closed and replaced whenever memory is given back
}

func newMemBudget(total int64) *memBudget {
	return &memBudget{free: total, freed: make(chan struct{})}
}

// tryTake takes n bytes if they are free.
func (b *memBudget) tryTake(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

// takeUpTo takes between least and most bytes, as many as are free, and
// returns how many; 0 when not even least is free.
func (b *memBudget) takeUpTo(least, most int64) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.free < least {
		return 0
	}
	n := min(most, b.free)
	b.free -= n
	return n
}

// take waits up to wait for n bytes.
func (b *memBudget) take(ctx context.Context, n int64, wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		b.mu.Lock()
		if n <= b.free {
			b.free -= n
			b.mu.Unlock()
			return true
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

func (b *memBudget) give(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// share is what one request holds of the budget. Its methods are called
// from the request's goroutine only.
type share struct {
	b    *memBudget
	held int64
}

// grow adds n bytes to the share, without waiting.
func (s *share) grow(n int64) bool {
	if !s.b.tryTake(n) {
		return false
	}
	s.held += n
	return true
}

// release gives the whole share back.
func (s *share) release() {
	s.b.give(s.held)
	s.held = 0
}

type shareKey struct{}

// shareOf returns the request's share; nil outside admitted.
func shareOf(r *http.Request) *share {
	sh, _ := r.Context().Value(shareKey{}).(*share)
	return sh
}

// admitted holds every request until its base share is granted.
func (s *Server) admitted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			// A probe holds nothing and must say the truth when busy.
			next.ServeHTTP(w, r)
			return
		}
		if !s.budget.take(r.Context(), baseCost, s.admissionWait) {
			s.busy(w, r)
			return
		}
		sh := &share{b: s.budget, held: baseCost}
		defer sh.release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), shareKey{}, sh)))
	})
}

// busy answers 503 for want of memory: the device comes back later.
func (s *Server) busy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
	writeError(w, r, http.StatusServiceUnavailable, protocol.CodeBusy, "the server is busy; try again in a moment")
}

// budgetedReader charges every byte read to a share, bodyFactor times,
// and fails with errBusy when the budget has no more.
type budgetedReader struct {
	r       io.Reader
	sh      *share
	charged int64 // bytes read and paid for
	paid    int64 // bytes paid for in advance
}

func (br *budgetedReader) Read(p []byte) (int, error) {
	if br.sh == nil {
		return br.r.Read(p)
	}
	if br.charged == br.paid {
		if !br.sh.grow(bodyChunk * bodyFactor) {
			return 0, errBusy
		}
		br.paid += bodyChunk
	}
	p = p[:min(int64(len(p)), br.paid-br.charged)]
	n, err := br.r.Read(p)
	br.charged += int64(n)
	return n, err
}

// pageShare is a page's share of the budget: granted just before the page
// is read, waiting for at least a small page's worth, and cut down to what
// the built page holds once it is built.
type pageShare struct {
	s   *Server
	ctx context.Context
	sh  *share
	got int64
}

// grant takes the share and returns the page's bounds in bytes and
// changes, scaled down when less than a full page's share was free. It
// fails with errBusy when not even a small page's share freed up in time.
func (p *pageShare) grant() (maxBytes, maxCount int, err error) {
	s := p.s
	if p.sh == nil {
		return s.pageBytes, s.pageLimit, nil
	}
	most := int64(s.pageBytes) * pageFactor
	least := min(int64(minPageShare), most)
	if !s.budget.take(p.ctx, least, s.admissionWait) {
		return 0, 0, errBusy
	}
	p.got = least + s.budget.takeUpTo(0, most-least)
	p.sh.held += p.got
	if p.got == most {
		return s.pageBytes, s.pageLimit, nil
	}
	frac := float64(p.got) / float64(most)
	return max(1, int(float64(s.pageBytes)*frac)), max(1, int(float64(s.pageLimit)*frac)), nil
}

// built keeps of the share what a built page of size encoded bytes holds
// while it is sent (twice its size) and gives the rest back.
func (p *pageShare) built(size int) {
	if p.sh == nil {
		return
	}
	keep := min(p.got, 2*int64(size))
	p.sh.held -= p.got - keep
	p.s.budget.give(p.got - keep)
	p.got = keep
}

// gzipWriters are reused: a compressor holds some 800 kB of tables.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return zw
}}
