package schedule

// What a schedule keeps of the text it was read from, in place of the
// text (30 MB at 100,000 sessions): the hashes of its blocks. A new
// version of the file is read in small pieces and hashed as it comes;
// its blocks compared with the kept ones say where it changed, and only
// that part is read again to be decoded.

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"unsafe"
)

// blockSize is the size of the blocks a text is hashed in: an edit is
// found to this precision, and the hashes of a text are a 512th of it.
const blockSize = 4 << 10

// blockSeed seeds the hashes of blocks. They are kept only within the
// process, so a fast hash with a seed of its own does: equal blocks
// have equal hashes, and different ones, by chance, the same in 2^64.
var blockSeed = maphash.MakeSeed()

// blocks are the hashes of a text of size bytes, in blocks of
// blockSize: fwd aligned from its start (the last one may be short),
// back from its end (back[0] is its last block, and the last of back
// may be short), so that a text with bytes inserted or removed still
// finds the blocks of its end unchanged.
type blocks struct {
	size      int
	fwd, back []uint64
}

// blocksOf returns the blocks of data.
func blocksOf(data []byte) blocks {
	h := newBlockHashers(len(data))
	h.write(data)
	return h.blocks()
}

// unchanged returns how many bytes n, a new version of the text b
// describes, begins with that b begins with, and how many of the rest
// it ends with that b ends with, as Unchanged does, to the precision of
// a block: at most the exact counts, and at most a block less, unless
// the texts are equal (prefix is then the whole text).
func (b blocks) unchanged(n blocks) (prefix, suffix int) {
	if b.size == n.size && slices.Equal(b.fwd, n.fwd) {
		return n.size, 0
	}
	short := min(b.size, n.size)
	i := 0
	for i < len(b.fwd) && i < len(n.fwd) && (i+1)*blockSize <= short && b.fwd[i] == n.fwd[i] {
		i++
	}
	j := 0
	for j < len(b.back) && j < len(n.back) && (j+1)*blockSize <= short && b.back[j] == n.back[j] {
		j++
	}
	prefix = i * blockSize
	return prefix, min(j*blockSize, short-prefix)
}

// sum is a fingerprint of the text: equal texts have equal sums, and
// different ones, by chance, the same in 2^64.
func (b blocks) sum() uint64 {
	var h maphash.Hash
	h.SetSeed(blockSeed)
	var size [8]byte
	for i := range size {
		size[i] = byte(b.size >> (8 * i))
	}
	h.Write(size[:])
	if len(b.fwd) > 0 {
		h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&b.fwd[0])), 8*len(b.fwd)))
	}
	return h.Sum64()
}

// blockHasher hashes the blocks of one alignment of a text read in
// pieces, in order.
type blockHasher struct {
	off        int    // bytes written
	start, end int    // of the block being read
	size       int    // of the text
	carry      []byte // the block being read, when it began in an earlier piece
	sums       []uint64
}

// blockHashers hash a text of known size in both alignments at once.
type blockHashers struct{ fwd, back blockHasher }

func newBlockHashers(size int) *blockHashers {
	n := (size + blockSize - 1) / blockSize
	first := size % blockSize // the short block that begins the back ones
	if first == 0 {
		first = min(blockSize, size)
	}
	return &blockHashers{
		fwd:  blockHasher{end: min(blockSize, size), size: size, sums: make([]uint64, 0, n)},
		back: blockHasher{end: first, size: size, sums: make([]uint64, 0, n)},
	}
}

func (h *blockHashers) write(p []byte) {
	h.fwd.write(p)
	h.back.write(p)
}

// blocks returns the blocks of the text written, all of it.
func (h *blockHashers) blocks() blocks {
	slices.Reverse(h.back.sums)
	return blocks{size: h.fwd.size, fwd: h.fwd.sums, back: h.back.sums}
}

func (h *blockHasher) write(p []byte) {
	for len(p) > 0 && h.off < h.size {
		n := min(len(p), h.end-h.off)
		switch {
		case h.off == h.start && n == h.end-h.start: // the whole block is in p
			h.sums = append(h.sums, maphash.Bytes(blockSeed, p[:n]))
		default:
			h.carry = append(h.carry, p[:n]...)
			if h.off+n == h.end {
				h.sums = append(h.sums, maphash.Bytes(blockSeed, h.carry))
				h.carry = h.carry[:0]
			}
		}
		h.off += n
		p = p[n:]
		if h.off == h.end {
			h.start, h.end = h.end, min(h.end+blockSize, h.size)
		}
	}
}

// ErrChanged is returned when a file changes while it is read: written
// in place after its first reading. (A file renamed over the one open
// does not change what is read.) Reading it again gives its new bytes.
var ErrChanged = errors.New("schedule: the file changed while it was read")

// Text is a version of events.toml as ReparseText reads it: opened and
// hashed in blocks as it is read in pieces (OpenText), or given whole
// (TextOf). Its bytes are then read again only where ReparseText needs
// them, from the same open file, so that a file renamed over it
// meanwhile does not change them; each piece read again is checked
// against the hashes of its first reading (ErrChanged). It is not safe
// for use by several goroutines at once.
type Text struct {
	f     *os.File
	sums  blocks
	whole bool   // data holds the whole text
	data  []byte // the whole text, once read
	err   error  // the first error reading it again
}

// textPiece is the size of the pieces a text is first read in.
const textPiece = 64 << 10

// OpenText opens the events.toml at path and reads it in pieces of 64
// KiB, hashing its blocks: nothing as large as the file is allocated.
// A file over MaxFileSize is read whole, up to one byte past the limit
// (ReadFile), for ReparseText to refuse. The caller closes it.
func OpenText(path string) (*Text, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() > MaxFileSize {
		f.Close()
		data, err := ReadFile(path)
		if err != nil {
			return nil, err
		}
		return TextOf(data), nil
	}
	size := int(fi.Size())
	h := newBlockHashers(size)
	buf := make([]byte, textPiece)
	off := 0
	for {
		n, err := io.ReadFull(f, buf)
		if off+n > size {
			f.Close()
			return nil, ErrChanged // grew since Stat
		}
		h.write(buf[:n])
		off += n
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	if off != size {
		f.Close()
		return nil, ErrChanged // shrank since Stat
	}
	return &Text{f: f, sums: h.blocks()}, nil
}

// TextOf is the text data, whole. data must not change afterwards.
func TextOf(data []byte) *Text {
	return &Text{sums: blocksOf(data), whole: true, data: data}
}

// Close closes the file, if open.
func (t *Text) Close() error {
	if t.f == nil {
		return nil
	}
	return t.f.Close()
}

// Size is the size of the text in bytes.
func (t *Text) Size() int { return t.sums.size }

// Sum is a fingerprint of the text within the process: equal texts have
// equal sums, and different ones, by chance, the same in 2^64.
func (t *Text) Sum() uint64 { return t.sums.sum() }

// Bytes returns the text whole, read once (and then kept by t) and
// checked against its hashes. The caller must not change it.
func (t *Text) Bytes() ([]byte, error) {
	if t.whole || t.err != nil {
		return t.data, t.err
	}
	data := make([]byte, t.Size()+1) // one more, to see growth
	n, err := t.f.ReadAt(data, 0)
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		t.err = err
	case n != t.Size() || !t.same(data[:n], 0):
		t.err = ErrChanged
	default:
		t.data, t.whole = data[:n], true
	}
	return t.data, t.err
}

// same reports whether data, the bytes of the text from start, a
// multiple of blockSize, up to the end of a block or of the text, has
// the hashes of its first reading.
func (t *Text) same(data []byte, start int) bool {
	for i := 0; i < len(data); i += blockSize {
		if maphash.Bytes(blockSeed, data[i:min(i+blockSize, len(data))]) != t.sums.fwd[(start+i)/blockSize] {
			return false
		}
	}
	return true
}

// Range returns the bytes [from, to) of the text, read anew (from the
// whole text once read) and checked against the hashes of the blocks
// they are in.
func (t *Text) Range(from, to int) ([]byte, error) {
	if from < 0 || to > t.Size() || from > to {
		return nil, fmt.Errorf("schedule: bytes %d to %d of a text of %d", from, to, t.Size())
	}
	if t.err != nil {
		return nil, t.err
	}
	if t.whole {
		return t.data[from:to:to], nil
	}
	// Whole blocks, to check them.
	start, end := from/blockSize*blockSize, min(t.Size(), (to+blockSize-1)/blockSize*blockSize)
	buf := make([]byte, end-start)
	if _, err := t.f.ReadAt(buf, int64(start)); err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrChanged // shrank
		}
		t.err = err
		return nil, err
	}
	if !t.same(buf, start) {
		t.err = ErrChanged
		return nil, t.err
	}
	return buf[from-start : to-start : to-start], nil
}

// text returns Range as a string (it is not changed afterwards).
func (t *Text) text(from, to int) (string, error) {
	b, err := t.Range(from, to)
	return unsafe.String(unsafe.SliceData(b), len(b)), err
}
