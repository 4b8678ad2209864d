package feed

// The text of the events a Set holds, kept compressed: at 10,000
// sessions it is most of what serve keeps (7.5 MB as text, about 0.7 MB
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

// Each event is compressed alone (DEFLATE, RFC 1951), so that it is
// packed and unpacked without its neighbours and shared by the documents
// that hold it, against a preset dictionary: an event of the first
// schedule the process packs. Events differ from each other in a few
// words, so that one compresses to a tenth of its size (70 bytes for an
// event of 750), where it would keep half of it alone. The dictionary
// never changes once set: an event packed by one render is unpacked
// after many others.
var (
	packDict     []byte
	packDictOnce sync.Once
)

// packLevel is the level events are compressed at. flate.BestSpeed
// ignores a preset dictionary (an event stays at half its size); the
// default level takes 30 µs an event, most of it to clear the
// compressor's tables.
const packLevel = flate.DefaultCompression

// packed reports whether c's print is kept compressed.
func (c *component) packed() bool { return len(c.print) != int(c.size) }

// packAll compresses the print of each event of cs, on every core, and
// keeps it compressed where that is shorter (an event of a few bytes
// may not be).
func packAll(cs []*component) {
	if len(cs) == 0 {
		return
	}
	packDictOnce.Do(func() { packDict = []byte(cs[0].print) })
	// One compressor per worker, dropped after: each holds 1 MB of
	// tables, which a pool would keep after the render.
	parallelRanges(len(cs), func(from, to int) {
		var b bytes.Buffer
		zw, _ := flate.NewWriterDict(&b, packLevel, packDict)
		for _, c := range cs[from:to] {
			b.Reset()
			zw.Reset(&b)
			io.WriteString(zw, c.print)
			zw.Close()
			if b.Len() < len(c.print) {
				c.print = string(b.Bytes())
			}
		}
	})
}

// unpacker writes out the print of packed events, one at a time, into
// a buffer it reuses: documents are written to an io.Writer, which must
// not keep what it is given.
type unpacker struct {
	src strings.Reader
	zr  io.ReadCloser
	buf []byte
}

var unpackers = sync.Pool{New: func() any { return new(unpacker) }}

// text returns the VEVENT of c as serialized for its fingerprint,
// without its END line (which stamped writes): the bytes of print,
// which documents refer to rather than copy, or unpacked into u's
// buffer, valid until the next call.
func (u *unpacker) text(c *component) []byte {
	n := int(c.size) - len(eventEnd)
	if !c.packed() {
		return unsafe.Slice(unsafe.StringData(c.print), n)
	}
	u.src.Reset(c.print)
	if u.zr == nil {
		u.zr = flate.NewReaderDict(&u.src, packDict)
	} else {
		u.zr.(flate.Resetter).Reset(&u.src, packDict)
	}
	if cap(u.buf) < int(c.size) {
		u.buf = make([]byte, c.size)
	}
	if _, err := io.ReadFull(u.zr, u.buf[:c.size]); err != nil {
		// Only a change of packDict after packing could do it.
		panic(fmt.Sprintf("feed: the event %s does not unpack: %v", c.key, err))
	}
	return u.buf[:n]
}
