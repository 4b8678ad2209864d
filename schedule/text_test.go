package schedule

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestOpenText: a file read in pieces has the blocks of its bytes read
// whole, for sizes on and around the edges of blocks and of pieces;
// any range of it, and all of it, read again are its bytes. Renamed
// over, it still reads as it was opened; written in place, a range
// read again in a block that changed is refused (ErrChanged), and one
// in a block that did not is its bytes.
func TestOpenText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	path := filepath.Join(dir, "events.toml")
	for _, size := range []int{0, 1, blockSize - 1, blockSize, blockSize + 1, textPiece - 1, textPiece, textPiece + 1,
		3*textPiece + blockSize/2, 5*textPiece + 7} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		writeRenamed(t, path, data)
		tx, err := OpenText(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Size() != size || !reflect.DeepEqual(tx.sums.sums, blocksOf(data).sums) || tx.Sum() != blocksOf(data).sum() {
			t.Fatalf("size %d: the blocks of a file read in pieces are not those of its bytes", size)
		}
		writeRenamed(t, path, bytes.Repeat([]byte("x"), size)) // renamed over: not what is read
		for range 20 {
			from := rng.IntN(size + 1)
			to := from + rng.IntN(size-from+1)
			if got, err := tx.Range(from, to); err != nil || !bytes.Equal(got, data[from:to]) {
				t.Fatalf("size %d: Range(%d, %d) = %v, not the bytes", size, from, to, err)
			}
		}
		if got, err := tx.Bytes(); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: Bytes = %v, not the bytes", size, err)
		}
		tx.Close()
		if size < 3*blockSize {
			continue
		}
		writeRenamed(t, path, data)
		if tx, err = OpenText(path, nil); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		at := blockSize + rng.IntN(blockSize) // in the second block
		if _, err := f.WriteAt([]byte{^data[at]}, int64(at)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if got, err := tx.Range(2*blockSize, 3*blockSize); err != nil || !bytes.Equal(got, data[2*blockSize:3*blockSize]) {
			t.Fatalf("size %d: a block that did not change reads as %v", size, err)
		}
		if _, err := tx.Range(at, at+1); !errors.Is(err, ErrChanged) {
			t.Fatalf("size %d: a block written in place reads as %v, want ErrChanged", size, err)
		}
		if _, err := tx.Bytes(); !errors.Is(err, ErrChanged) {
			t.Fatalf("size %d: the file written in place reads whole as %v, want ErrChanged", size, err)
		}
		tx.Close()
	}
}
