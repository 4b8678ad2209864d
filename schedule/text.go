package schedule

// What a schedule keeps of the text it was read from, in place of the
// text (30 MB at 100,000 sessions): the hashes of its blocks. A new
// version of the file is read in small pieces and hashed as it comes;
// compared with the kept hashes, they say where it changed, and only
// that part is read again to be decoded.

import (
	"encoding/binary"
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

// blocks are the hashes of a text of size bytes, in blocks of blockSize
// from its start (the last one may be short).
type blocks struct {
	size int
	sums []uint64
}

// blocksOf returns the blocks of data.
func blocksOf(data []byte) blocks {
	h := newBlockHasher(0, len(data))
	h.write(data)
	return blocks{len(data), h.sums}
}

// sum is a fingerprint of the text: equal texts have equal sums, and
// different ones, by chance, the same in 2^64.
func (b blocks) sum() uint64 {
	var h maphash.Hash
	h.SetSeed(blockSeed)
	h.Write(binary.LittleEndian.AppendUint64(nil, uint64(b.size)))
	if len(b.sums) > 0 {
		h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&b.sums[0])), 8*len(b.sums)))
	}
	return h.Sum64()
}

// blockHasher hashes the blocks of blockSize of a text of size bytes
// that begin at start, start+blockSize, ... (the last one may be
// short), from the bytes of the text written to it in order from start.
type blockHasher struct {
	off        int    // where the next byte written is
	start, end int    // of the block being read
	size       int    // of the text
	carry      []byte // the block being read, when it began in an earlier piece
	sums       []uint64
}

func newBlockHasher(start, size int) *blockHasher {
	return &blockHasher{off: start, start: start, end: min(start+blockSize, size), size: size,
		sums: make([]uint64, 0, (size-start+blockSize-1)/blockSize)}
}

func (h *blockHasher) write(p []byte) {
	for len(p) > 0 && h.off < h.size {
		n := min(len(p), h.end-h.off)
		if h.off == h.start && n == h.end-h.start { // the whole block is in p
			h.sums = append(h.sums, maphash.Bytes(blockSeed, p[:n]))
		} else {
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

// comparison finds, while a new version of the text old describes is
// read in order, how many bytes it begins with that old begins with,
// and how many of the rest it ends with that old ends with, to the
// precision of a block: at most the exact counts, and at most a block
// less. The start is found from the blocks of the new text; the end, by
// hashing the new text, after the start, where each block of old would
// be if it had only moved: only the new text after the start is hashed
// again, and none when it moved by whole blocks (an edit that keeps the
// size of the file).
type comparison struct {
	old    *blocks
	size   int  // of the new text
	common int  // blocks whole in both texts
	found  bool // the prefix: prefix is set, and first and moved
	prefix int
	first  int          // the first block of old hashed where it moved to
	moved  *blockHasher // those hashes, unless the text moved by whole blocks
}

func newComparison(old *blocks, size int) *comparison {
	return &comparison{old: old, size: size, common: min(old.size, size) / blockSize}
}

// write reads piece, the bytes of the new text from off, whose blocks
// from its start are sums, up to the end of piece.
func (c *comparison) write(sums []uint64, piece []byte, off int) {
	if c.found {
		c.writeMoved(piece, off)
		return
	}
	i := c.prefix / blockSize
	for i < c.common && i < len(sums) && sums[i] == c.old.sums[i] {
		i++
	}
	c.prefix = i * blockSize
	if i < c.common && i == len(sums) {
		return // the next piece may go on as old does
	}
	c.found = true
	delta := c.size - c.old.size
	c.first = (max(c.prefix, c.prefix-delta) + blockSize - 1) / blockSize
	if at := c.first*blockSize + delta; delta%blockSize != 0 && at < c.size {
		c.moved = newBlockHasher(at, c.size)
		c.writeMoved(piece, off)
	}
}

// writeMoved writes to moved what piece, at off, holds from where moved
// begins.
func (c *comparison) writeMoved(piece []byte, off int) {
	if c.moved != nil && c.moved.off < off+len(piece) {
		c.moved.write(piece[c.moved.off-off:])
	}
}

// unchanged returns what c found once the whole new text, whose blocks
// are sums, was written.
func (c *comparison) unchanged(sums []uint64) (prefix, suffix int) {
	if c.size == c.old.size && slices.Equal(sums, c.old.sums) {
		return c.size, 0
	}
	delta := c.size - c.old.size
	moved := func(i int) uint64 { // the hash of old's block i where it moved to
		if c.moved == nil {
			return sums[i+delta/blockSize]
		}
		return c.moved.sums[i-c.first]
	}
	i := len(c.old.sums)
	for i > c.first && moved(i-1) == c.old.sums[i-1] {
		i--
	}
	if i == len(c.old.sums) {
		return c.prefix, 0
	}
	return c.prefix, c.old.size - i*blockSize
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
	// What did not change against the text of a cut (against), found
	// as it was read.
	against        *cutText
	prefix, suffix int
}

// textPiece is the size of the pieces a text is first read in.
const textPiece = 64 << 10

// OpenText opens the events.toml at path and reads it in pieces of 64
// KiB, hashing its blocks, and comparing them with those of the text
// prev was read from, if any, to find what changed: nothing as large as
// the file is allocated. A file over MaxFileSize is read whole, up to
// one byte past the limit (ReadFile), for ReparseText to refuse. The
// caller closes it.
func OpenText(path string, prev *Schedule) (*Text, error) {
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
	t := &Text{f: f}
	h := newBlockHasher(0, size)
	var c *comparison
	if prev != nil && prev.cut != nil {
		t.against = prev.cut
		c = newComparison(&prev.cut.sums, size)
	}
	buf := make([]byte, textPiece)
	off := 0
	for {
		n, err := io.ReadFull(f, buf)
		if off+n > size {
			f.Close()
			return nil, ErrChanged // grew since Stat
		}
		h.write(buf[:n])
		if c != nil {
			c.write(h.sums, buf[:n], off)
		}
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
	t.sums = blocks{size, h.sums}
	if c != nil {
		t.prefix, t.suffix = c.unchanged(t.sums.sums)
	}
	return t, nil
}

// unchanged returns how many bytes t begins with that the text c was
// cut from begins with, and how many of the rest it ends with that that
// text ends with, to the precision of a block (comparison): as found
// while t was read, or else from t read whole.
func (t *Text) unchanged(c *cutText) (prefix, suffix int, err error) {
	if t.against != c {
		data, err := t.Bytes()
		if err != nil {
			return 0, 0, err
		}
		cmp := newComparison(&c.sums, len(data))
		cmp.write(t.sums.sums, data, 0)
		t.against = c
		t.prefix, t.suffix = cmp.unchanged(t.sums.sums)
	}
	return t.prefix, t.suffix, nil
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
		if maphash.Bytes(blockSeed, data[i:min(i+blockSize, len(data))]) != t.sums.sums[(start+i)/blockSize] {
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
