package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// answerServer answers each line it reads with reply, on every connection.
func answerServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := io.WriteString(c, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func ask(t *testing.T, c net.Conn, line string, want int) string {
	t.Helper()
	if _, err := io.WriteString(c, line); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, want)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

// The proxy counts connections, exchanges (client bytes after server
// bytes) and bytes each way, exactly.
func TestProxyCounts(t *testing.T) {
	p, err := NewProxy(loopback, answerServer(t, "0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := p.ln.Addr().String()
	c1, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	ask(t, c1, "one\n", 10)
	ask(t, c1, "two\n", 10)
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	ask(t, c2, "three\n", 10)
	want := Counts{Conns: 2, Exchanges: 3, BytesUp: 4 + 4 + 6, BytesDown: 30}
	if got := p.Counts(); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if got := p.Counts().RoundTrips(); got != 5 {
		t.Errorf("round trips %d, want 5", got)
	}
	p.Reset()
	ask(t, c1, "four\n", 10)
	if got, want := p.Counts(), (Counts{Exchanges: 1, BytesUp: 5, BytesDown: 10}); got != want {
		t.Errorf("after Reset: %+v, want %+v", got, want)
	}
}

// A cut delivers exactly the bytes planned, closes the connection and
// refuses new ones until Restore.
func TestProxyCut(t *testing.T) {
	p, err := NewProxy(loopback, answerServer(t, "0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := p.ln.Addr().String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask(t, c, "a\n", 10)
	p.CutAfter(7)
	if _, err := io.WriteString(c, "b\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c) // up to the close
	if string(got) != "0123456" {
		t.Errorf("received %q before the cut", got)
	}
	select {
	case <-p.Cut():
	default:
		t.Error("Cut() not closed after the cut")
	}
	if p.CutTime().IsZero() {
		t.Error("no cut time")
	}
	if n := p.Counts().BytesDown; n != 17 {
		t.Errorf("bytes down %d, want 17", n)
	}
	// While down, a new connection is closed without reaching the server.
	d, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(d, "c\n")
	if b, _ := io.ReadAll(d); len(b) != 0 {
		t.Errorf("the link is down, yet %q came back", b)
	}
	d.Close()
	p.Restore()
	e, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := ask(t, e, "d\n", 10); got != "0123456789" {
		t.Errorf("after Restore: %q", got)
	}
}

// The shaper queues bytes at the link's bandwidth, then adds the delay.
func TestShaperSchedule(t *testing.T) {
	l := Link{Delay: 300 * time.Millisecond, Bandwidth: 1_000_000}
	s := shaper{link: l}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// 1,250 bytes are 10 ms at 1 Mbit/s.
	if got, want := s.deliver(1250, t0), t0.Add(310*time.Millisecond); !got.Equal(want) {
		t.Errorf("first chunk at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	// Handed over at the same moment, the second waits for the first.
	if got, want := s.deliver(1250, t0), t0.Add(320*time.Millisecond); !got.Equal(want) {
		t.Errorf("second chunk at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	// Once the link is idle again, no wait.
	later := t0.Add(time.Second)
	if got, want := s.deliver(1250, later), later.Add(310*time.Millisecond); !got.Equal(want) {
		t.Errorf("chunk on an idle link at %v, want %v", got.Sub(later), want.Sub(later))
	}
	if got := l.Limit(62_500, 62_500); got != 1600*time.Millisecond {
		t.Errorf("limit of 125 kB = %v, want 1.6 s", got)
	}
}
