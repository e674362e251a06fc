package store

import (
	"bytes"
	"encoding/json"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"leconsortium.coop/terrain/domain"
)

// A pulled member, visit or follow-up without pending local edits is stored
// as the server sent it, whatever the store holds: decoding, normalising and
// encoding it (most of the CPU time of a first sync) need not wait for the
// store. Workers do that ahead of the applying goroutine, on every core and
// while it waits for a commit; it reads and writes the store in page order.

// prepChunk is how many changes a worker prepares at a time.
const prepChunk = 64

// prepared is a change as it will be stored: its normalised value, where it
// belongs and its envelope. err is what decoding it gave.
type prepared struct {
	value any
	to    []byte
	enc   []byte
	err   error
}

// preparer prepares the changes of a page, chunk after chunk.
type preparer struct {
	me      string // this device's id: its writes are marked Mine
	changes []Change
	todo    []bool
	out     []prepared
	done    []chan struct{} // closed once a chunk is prepared
	next    atomic.Int64    // next chunk to take
	stop    atomic.Bool
	wg      sync.WaitGroup
}

// prepare starts preparing the records of changes that can be: records
// (not deletions or removals) with a valid id and no pending local edit,
// whose stored form the merge with those edits does not decide.
func (a *applier) prepare(changes []Change) *preparer {
	p := &preparer{me: a.s.device, changes: changes, todo: make([]bool, len(changes)), out: make([]prepared, len(changes))}
	n := 0
	for i := range changes {
		c := &changes[i]
		switch c.Kind {
		case domain.KindMember, domain.KindVisit, domain.KindFollowUp:
		default:
			continue
		}
		if c.Delete || c.Removed || domain.CheckID(c.ID) != nil {
			continue
		}
		if len(a.pending) > 0 && a.pending[refKey(c.Kind, c.ID)] != nil {
			continue
		}
		p.todo[i] = true
		n++
	}
	if n == 0 {
		return p
	}
	chunks := (len(changes) + prepChunk - 1) / prepChunk
	p.done = make([]chan struct{}, chunks)
	for i := range p.done {
		p.done[i] = make(chan struct{})
	}
	for range min(runtime.GOMAXPROCS(0), chunks) {
		p.wg.Go(p.work)
	}
	return p
}

func (p *preparer) work() {
	var b prepBuffers
	for !p.stop.Load() {
		k := int(p.next.Add(1) - 1)
		if k >= len(p.done) {
			return
		}
		for i := k * prepChunk; i < min((k+1)*prepChunk, len(p.changes)); i++ {
			if p.todo[i] {
				p.out[i] = b.prepare(&p.changes[i], p.me)
			}
		}
		close(p.done[k])
	}
}

// take returns change i prepared, nil when it was not to be. The caller
// takes each change once, in order.
func (p *preparer) take(i int) *prepared {
	if !p.todo[i] {
		return nil
	}
	<-p.done[i/prepChunk]
	out := p.out[i]
	p.out[i] = prepared{} // the page's values need not all stay alive
	return &out
}

// close stops the workers and waits for them: they read the page, which
// is the caller's once ApplyPull returns.
func (p *preparer) close() {
	p.stop.Store(true)
	p.wg.Wait()
}

// prepBuffers are a worker's scratch space, reused from record to record.
type prepBuffers struct {
	obj   []byte
	data  []byte
	enc   []byte
	names []string
}

// prepare decodes, normalises and encodes a record exactly as the applier
// does with merged fields, for a change without pending edits: its fields
// with "id" set, and the server's versions.
func (b *prepBuffers) prepare(c *Change, me string) prepared {
	codec := recordCodecs[c.Kind]
	var value any
	ok := false
	if codec != nil {
		value, ok = codec.decode(c.Fields, c.ID)
	}
	if !ok {
		b.obj = appendObject(b.obj[:0], c.Fields, c.ID)
		var err error
		if value, err = decodeValue(c.Kind, b.obj); err != nil {
			return prepared{err: err}
		}
	}
	normalize(value)
	var data []byte
	ok = false
	if codec != nil {
		data, ok = codec.encode(b.data[:0], value)
		b.data = data
	}
	if !ok {
		var err error
		if data, err = json.Marshal(value); err != nil {
			return prepared{err: err}
		}
	}
	b.names = b.names[:0]
	for name := range c.Versions {
		b.names = append(b.names, name)
	}
	slices.Sort(b.names)
	b.enc = append(append(b.enc[:0], `{"d":`...), data...)
	for i, name := range b.names {
		v := c.Versions[name]
		b.enc = appendFieldVersion(b.enc, i, name, fieldVersion{HLC: v.HLC, Seq: v.Seq, Mine: v.Device == me})
	}
	if len(b.names) > 0 {
		b.enc = append(b.enc, '}')
	}
	b.enc = appendEnvelopeTail(b.enc, 0, c.Seq, false)
	return prepared{value: value, to: placeOf(c.Kind, c.ID, value), enc: bytes.Clone(b.enc)}
}

// appendObject writes fields as one JSON object, like rawObject, with "id"
// last, set to id (a checked id, which JSON quoting leaves as it is).
func appendObject(b []byte, fields map[string]json.RawMessage, id string) []byte {
	b = append(b, '{')
	for k, v := range fields {
		if k == "id" {
			continue
		}
		b = appendKey(b, k)
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		b = append(b, v...)
		b = append(b, ',')
	}
	b = append(b, `"id":"`...)
	b = append(b, id...)
	return append(b, `"}`...)
}
