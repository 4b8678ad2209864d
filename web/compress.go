package web

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"sync"

	"github.com/convene/convene/feed"
)

// The landing page is compressed once per rendering, although every
// answer carries its own CSRF value: each part of the page between two
// such values is deflated on its own and flushed to a byte boundary, and
// an answer joins them with the value in a stored (uncompressed) block
// between, under a gzip header and trailer (RFC 1951 section 3.2.4, RFC
// 1952). Deflate blocks may follow one another whatever compressed them.

// deflateParts compresses each part as a run of non-final deflate blocks.
func deflateParts(parts [][]byte) [][]byte {
	out := make([][]byte, len(parts))
	fw := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(fw)
	for i, p := range parts {
		var b bytes.Buffer
		fw.Reset(&b)
		fw.Write(p)
		fw.Flush() // a sync flush: byte-aligned, no final block
		out[i] = b.Bytes()
	}
	return out
}

// flateWriters reuse compressors, each of which holds several hundred
// kilobytes of tables: a page rendered after each edit need not
// allocate them again.
var flateWriters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return fw
}}

// gzipHeader is a gzip member header: deflate, no name, no time, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// writeGzipParts writes, gzip-compressed, the page whose parts are
// parts (deflated: their deflateParts) joined by sep.
func writeGzipParts(w io.Writer, parts, deflated [][]byte, sep string) {
	crc := uint32(0)
	size := 0
	w.Write(gzipHeader)
	for i := range parts {
		if i > 0 {
			// A stored block, not final: BFINAL 0, BTYPE 00, then
			// LEN and its complement, then the bytes.
			var hdr [5]byte
			binary.LittleEndian.PutUint16(hdr[1:], uint16(len(sep)))
			binary.LittleEndian.PutUint16(hdr[3:], ^uint16(len(sep)))
			w.Write(hdr[:])
			io.WriteString(w, sep)
			crc = crc32.Update(crc, crc32.IEEETable, []byte(sep))
			size += len(sep)
		}
		w.Write(deflated[i])
		crc = crc32.Update(crc, crc32.IEEETable, parts[i])
		size += len(parts[i])
	}
	var end [13]byte
	copy(end[:], []byte{1, 0, 0, 0xff, 0xff}) // an empty final stored block
	binary.LittleEndian.PutUint32(end[5:], crc)
	binary.LittleEndian.PutUint32(end[9:], uint32(size))
	w.Write(end[:])
}

// wantsGzip reports whether r accepts gzip; the answer varies with it.
func wantsGzip(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("Vary", "Accept-Encoding")
	return feed.AcceptsGzip(r.Header["Accept-Encoding"])
}
