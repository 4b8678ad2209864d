package feed

// The text of the events a Set holds, kept compressed: at 10,000
// sessions it was most of what serve keeps (6.7 MB as text, 0.33 MB
// packed), and it is read only to write a document out.

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"
	"sync"
	"unsafe"
)

// The events a render makes are compressed (DEFLATE, RFC 1951) in
// groups of packGroup, in the order of the full feed, each group alone,
// against a preset dictionary: an event of the first schedule the
// process packs. Events differ from each other in a few words: a group
// compresses to a twentieth of its size. Alone, an event would cost a
// compressor's reset, which clears 640 KB of tables (30 µs), where a
// group of 16 costs 10 µs an event; a document writes a group's events
// one after the other, and a session's feed unpacks its group up to its
// event. The dictionary never changes once set: an event packed by one
// render is unpacked after many others.
const packGroup = 16

var (
	packDict     []byte
	packDictOnce sync.Once
)

// packLevel is the level events are compressed at. flate.BestSpeed
// ignores a preset dictionary (an event stays at half its size).
const packLevel = flate.DefaultCompression

// packAll compresses the print of the events of cs, on every core, in
// groups of consecutive events, where that makes them shorter. The
// groups of a core are held in one string, not one each, so that what
// a render keeps is in a few large objects rather than strewn among its
// garbage.
func packAll(cs []*component) {
	if len(cs) == 0 {
		return
	}
	packDictOnce.Do(func() { packDict = []byte(cs[0].print) })
	parallelRanges(len(cs), func(from, to int) {
		// One compressor per core, dropped after: each holds 1 MB of
		// tables, which a pool would keep after the render.
		var b bytes.Buffer
		zw, _ := flate.NewWriterDict(&b, packLevel, packDict)
		var out []byte
		type group struct {
			cs         []*component
			start, end int // in out
		}
		var groups []group
		for i := from; i < to; i += packGroup {
			g := group{cs: cs[i:min(i+packGroup, to)]}
			b.Reset()
			zw.Reset(&b)
			n := 0
			for _, c := range g.cs {
				io.WriteString(zw, c.print)
				n += len(c.print)
			}
			zw.Close()
			if b.Len() >= n {
				continue // kept as it is
			}
			g.start = len(out)
			out = append(out, b.Bytes()...)
			g.end = len(out)
			groups = append(groups, g)
		}
		all := string(out)
		for _, g := range groups {
			at := 0
			for _, c := range g.cs {
				c.print, c.at, c.packed = all[g.start:g.end], int32(at), true
				at += int(c.size)
			}
		}
	})
}

// unpacker writes out the print of packed events into a buffer it
// reuses: documents are written to an io.Writer, which must not keep
// what it is given. It keeps the group it unpacked last, so that the
// events of a group, in order, cost one pass.
type unpacker struct {
	src   strings.Reader
	zr    io.ReadCloser
	group string // whose text buf holds, unpacked so far
	buf   []byte
}

var unpackers = sync.Pool{New: func() any { return new(unpacker) }}

// text returns the VEVENT of c as serialized for its fingerprint,
// without its END line (which stamped writes): the bytes of print,
// which documents refer to rather than copy, or unpacked into u's
// buffer, valid until the next call.
func (u *unpacker) text(c *component) []byte {
	n := int(c.size) - len(eventEnd)
	if !c.packed {
		return unsafe.Slice(unsafe.StringData(c.print), n)
	}
	if unsafe.StringData(u.group) != unsafe.StringData(c.print) || len(u.group) != len(c.print) {
		u.group = c.print
		u.src.Reset(c.print)
		if u.zr == nil {
			u.zr = flate.NewReaderDict(&u.src, packDict)
		} else {
			u.zr.(flate.Resetter).Reset(&u.src, packDict)
		}
		u.buf = u.buf[:0]
	}
	if end := int(c.at) + int(c.size); end > len(u.buf) {
		if end > cap(u.buf) {
			u.buf = append(u.buf[:cap(u.buf)], make([]byte, end-cap(u.buf))...)[:len(u.buf)]
		}
		if _, err := io.ReadFull(u.zr, u.buf[len(u.buf):end]); err != nil {
			// Only a change of packDict after packing could do it.
			panic(fmt.Sprintf("feed: the event %s does not unpack: %v", c.key, err))
		}
		u.buf = u.buf[:end]
	}
	return u.buf[c.at : int(c.at)+n]
}
