package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Link is a simulated network path between a laptop and its server: a
// fixed one-way delay each way and a bandwidth cap each way, shared by every
// connection through it, with an unbounded router queue. TCP slow start and
// loss are not simulated: this is the link at its best, for both systems.
type Link struct {
	Name      string
	Delay     time.Duration // one way
	Bandwidth int64         // bits per second, each way; 0 means unlimited
}

// The links of the benchmark.
var (
	loopback  = Link{Name: "loopback"}
	link4G    = Link{Name: "4g", Delay: 50 * time.Millisecond, Bandwidth: 10_000_000}
	satellite = Link{Name: "satellite", Delay: 300 * time.Millisecond, Bandwidth: 1_000_000}
)

// RTT is the link's round-trip time.
func (l Link) RTT() time.Duration { return 2 * l.Delay }

// transmit is how long n bytes occupy the link.
func (l Link) transmit(n int64) time.Duration {
	if l.Bandwidth <= 0 {
		return 0
	}
	return time.Duration(n * 8 * int64(time.Second) / l.Bandwidth)
}

// Limit is the link's own limit for moving up and down bytes: every byte
// at the link's bandwidth, plus one round trip. Nothing can sync faster.
func (l Link) Limit(up, down int64) time.Duration {
	return l.transmit(up+down) + l.RTT()
}

// Counts is what a proxy saw. A round trip is one HTTP exchange (a request
// from the client and the answer to it: on one connection, bytes from the
// client after bytes from the server, or the first bytes of a connection)
// or one new TCP connection (its handshake costs a round trip before the
// first request can leave). The same definition applies to both systems.
type Counts struct {
	Conns     int   // TCP connections opened
	Exchanges int   // HTTP request/response exchanges
	BytesUp   int64 // client to server, headers and bodies, as on the wire
	BytesDown int64 // server to client
}

// RoundTrips is exchanges plus connections.
func (c Counts) RoundTrips() int { return c.Conns + c.Exchanges }

// Add sums two counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{Conns: c.Conns + o.Conns, Exchanges: c.Exchanges + o.Exchanges,
		BytesUp: c.BytesUp + o.BytesUp, BytesDown: c.BytesDown + o.BytesDown}
}

// Proxy is a TCP proxy that imposes a Link in front of one server, counts
// what goes through and can cut the link.
type Proxy struct {
	// Trace, when set, receives the first line of every request.
	Trace func(line string)

	target string
	ln     net.Listener
	up     shaper // client to server
	down   shaper // server to client

	mu      sync.Mutex
	link    Link
	conns   map[*pconn]struct{}
	counts  Counts
	closed  bool
	isDown  bool      // connections are refused: the link is gone
	cutAt   int64     // BytesDown at which the link goes down; 0 never
	cutTime time.Time // when it did
	cutC    chan struct{}
	wg      sync.WaitGroup
}

// NewProxy listens on a loopback port and forwards to target (host:port)
// through link.
func NewProxy(link Link, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &Proxy{link: link, target: target, ln: ln, up: shaper{link: link}, down: shaper{link: link},
		conns: map[*pconn]struct{}{}, cutC: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// SetLink changes the link from now on: workloads are prepared on
// loopback, then measured on the slow link.
func (p *Proxy) SetLink(l Link) {
	p.mu.Lock()
	p.link = l
	p.mu.Unlock()
	p.up.set(l)
	p.down.set(l)
}

// Link is the link in force.
func (p *Proxy) Link() Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.link
}

// URL is the proxy's address as an http:// base URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Reset zeroes the counts (connections stay open).
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.counts = Counts{}
	p.mu.Unlock()
}

// Counts returns what went through since the last Reset.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// CutAfter makes the link go down once n more bytes have gone down to the
// client: open connections are closed at that byte and new ones refused
// until Restore.
func (p *Proxy) CutAfter(n int64) {
	p.mu.Lock()
	p.cutAt, p.cutTime, p.cutC = p.counts.BytesDown+n, time.Time{}, make(chan struct{})
	p.mu.Unlock()
}

// Cut is closed when the planned cut happens.
func (p *Proxy) Cut() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cutC
}

// CutTime is when the link went down; zero if it has not.
func (p *Proxy) CutTime() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cutTime
}

// Restore brings the link back up, with no cut planned.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.isDown, p.cutAt = false, 0
	p.mu.Unlock()
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[*pconn]struct{}{}
	p.mu.Unlock()
	p.ln.Close()
	for c := range conns {
		c.close()
	}
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		cc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.isDown || p.closed
		p.mu.Unlock()
		if refuse {
			cc.Close()
			continue
		}
		sc, err := net.Dial("tcp", p.target)
		if err != nil {
			cc.Close()
			continue
		}
		c := &pconn{p: p, client: cc, server: sc, done: make(chan struct{}),
			// The handshake: the first request leaves one round trip
			// after the client started connecting.
			ready: time.Now().Add(p.Link().RTT())}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.close()
			continue
		}
		p.conns[c] = struct{}{}
		p.counts.Conns++
		p.mu.Unlock()
		c.start()
	}
}

// goDown closes every connection and refuses new ones; called with p.mu
// held.
func (p *Proxy) goDown() []*pconn {
	p.isDown, p.cutAt, p.cutTime = true, 0, time.Now()
	close(p.cutC)
	var out []*pconn
	for c := range p.conns {
		out = append(out, c)
	}
	p.conns = map[*pconn]struct{}{}
	return out
}

func (p *Proxy) forget(c *pconn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// shaper is one direction of the link: it serialises the bytes of every
// connection at the link's bandwidth.
type shaper struct {
	link Link
	mu   sync.Mutex
	free time.Time // when the link has sent everything queued so far
}

func (s *shaper) set(l Link) {
	s.mu.Lock()
	s.link = l
	s.mu.Unlock()
}

// deliver returns when n bytes handed to the link at start arrive at the
// other end.
func (s *shaper) deliver(n int, start time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.link.Bandwidth > 0 {
		start = later(start, s.free).Add(s.link.transmit(int64(n)))
		s.free = start
	}
	return start.Add(s.link.Delay)
}

// pconn is one proxied connection.
type pconn struct {
	p              *Proxy
	client, server net.Conn
	ready          time.Time

	mu       sync.Mutex
	lastUp   bool // the last bytes read came from the client
	finished int  // directions done

	once sync.Once
	done chan struct{}
}

// chunk is bytes in flight, or the end of a direction (data nil).
type chunk struct {
	data []byte
	at   time.Time
}

func (c *pconn) start() {
	up := make(chan chunk, 4096)
	down := make(chan chunk, 4096)
	c.p.wg.Add(4)
	go c.read(c.client, up, true)
	go c.write(c.server, up, true)
	go c.read(c.server, down, false)
	go c.write(c.client, down, false)
}

func (c *pconn) close() {
	c.once.Do(func() {
		close(c.done)
		c.client.Close()
		c.server.Close()
		c.p.forget(c)
	})
}

// read takes what src sends and schedules its delivery.
func (c *pconn) read(src net.Conn, out chan<- chunk, fromClient bool) {
	defer c.p.wg.Done()
	sh := &c.p.down
	if fromClient {
		sh = &c.p.up
	}
	buf := make([]byte, 8<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			now := time.Now()
			c.mu.Lock()
			if fromClient && !c.lastUp {
				c.p.mu.Lock()
				c.p.counts.Exchanges++
				c.p.mu.Unlock()
				if c.p.Trace != nil {
					line, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
					c.p.Trace(string(line))
				}
			}
			c.lastUp = fromClient
			c.mu.Unlock()
			if fromClient {
				now = later(now, c.ready)
			}
			ch := chunk{data: append([]byte(nil), buf[:n]...), at: sh.deliver(n, now)}
			select {
			case out <- ch:
			case <-c.done:
				return
			}
		}
		if err != nil {
			select {
			case out <- chunk{at: time.Now().Add(c.p.Link().Delay)}:
			case <-c.done:
			}
			return
		}
	}
}

// write delivers scheduled chunks to dst when they are due, counts them,
// and cuts the link when asked.
func (c *pconn) write(dst net.Conn, in <-chan chunk, toServer bool) {
	defer c.p.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var ch chunk
		select {
		case ch = <-in:
		case <-c.done:
			return
		}
		if d := time.Until(ch.at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-c.done:
				return
			}
		}
		if ch.data == nil {
			c.halfClose(dst)
			return
		}
		data := ch.data
		var cut []*pconn
		c.p.mu.Lock()
		if toServer {
			c.p.counts.BytesUp += int64(len(data))
		} else {
			if c.p.cutAt > 0 && c.p.counts.BytesDown+int64(len(data)) >= c.p.cutAt {
				data = data[:c.p.cutAt-c.p.counts.BytesDown]
				cut = c.p.goDown()
			}
			c.p.counts.BytesDown += int64(len(data))
		}
		c.p.mu.Unlock()
		_, err := dst.Write(data)
		if cut != nil {
			for _, o := range cut {
				o.close()
			}
			return
		}
		if err != nil {
			c.close()
			return
		}
	}
}

// halfClose passes an end of stream on; the connection closes when both
// directions have ended.
func (c *pconn) halfClose(dst net.Conn) {
	if tc, ok := dst.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil && !errors.Is(err, net.ErrClosed) {
			c.close()
			return
		}
	}
	c.mu.Lock()
	c.finished++
	both := c.finished == 2
	c.mu.Unlock()
	if both {
		c.close()
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
