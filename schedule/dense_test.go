package schedule

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"unsafe"

	"github.com/BurntSushi/toml"
)

// TestEditsKeepHeapBounded: a first load keeps its sessions in blocks
// (slabs), which stay alive while any session in them does. 200 edits,
// of one title each and, one in 20, of the calendar's defaults (which
// read every session again), leave a live heap no larger than the first
// load's and what the sessions edited since the last full read need: no
// block per edit, no old text, no old blocks after every session was
// read again (nothing dropped by an edit that holds a session of an
// older read). So do 200 edits of one title each that also change a
// comment at the start of the file (a generated file's date), and no
// defaults: each reads again, in bulk, every table from the first to the
// one edited, and all but the edited one are dropped for the previous
// schedule's own (each edited session held a block of 32 KiB of those
// dropped, and one of their text: 13 MB live after the 200 edits, 1.3
// MB after the first load).
func TestEditsKeepHeapBounded(t *testing.T) {
	for _, comment := range []bool{false, true} {
		t.Run(fmt.Sprint("comment=", comment), func(t *testing.T) { editsKeepHeapBounded(t, comment) })
	}
}

func editsKeepHeapBounded(t *testing.T, comment bool) {
	const n = 2000
	text := sessionsText(n)
	if comment {
		text = "# edit 0\n" + text
	}
	s, err := Reparse(nil, "events.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := uintptr(unsafe.Pointer(s.Sessions[0])), uintptr(unsafe.Pointer(s.Sessions[1])); b-a != unsafe.Sizeof(Session{}) {
		t.Fatal("a first load's sessions are not kept next to each other")
	}
	loaded := liveHeap()
	rng := rand.New(rand.NewPCG(9, 9))
	titles := make([]string, n)
	for i := range titles {
		titles[i] = fmt.Sprint("Session ", i)
	}
	for edit := range 200 {
		if edit%20 == 10 && !comment { // every session is read again
			long := "name = \"Group\"\nduration = \"2h\"\n"
			if strings.Contains(text, long) {
				text = strings.Replace(text, long, "name = \"Group\"\n", 1)
			} else {
				text = strings.Replace(text, "name = \"Group\"\n", long, 1)
			}
		} else {
			i := rng.IntN(n)
			title := fmt.Sprintf("Session %d, edit %d", i, edit)
			text = strings.Replace(text, fmt.Sprintf("title = %q\n", titles[i]), fmt.Sprintf("title = %q\n", title), 1)
			titles[i] = title
		}
		if comment {
			text = fmt.Sprintf("# edit %d\n", edit+1) + text[strings.IndexByte(text, '\n')+1:]
		}
		if s, err = Reparse(s, "events.toml", []byte(text)); err != nil {
			t.Fatalf("edit %d: %v", edit, err)
		}
	}
	after := liveHeap()
	runtime.KeepAlive(s)
	// The sessions edited since the last full read, read one by one,
	// with the text of their tables; and room for the maps and lists an
	// edit makes anew.
	bound := loaded + 20*2<<10 + loaded/10
	t.Logf("live heap %d KiB after the first load, %d KiB after 200 edits", loaded>>10, after>>10)
	if after > bound {
		t.Errorf("live heap after 200 edits = %d KiB, want at most %d KiB (%d KiB after the first load)", after>>10, bound>>10, loaded>>10)
	}
}

// liveHeap returns the bytes of the heap's objects found live by a
// collection run now.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestSessionSize: a Session, one per meeting held in memory for as long
// as the schedule is served, keeps its start's instant in 8 bytes (at),
// not as a time.Time of 24 with its End.
func TestSessionSize(t *testing.T) {
	if got := unsafe.Sizeof(Session{}); got > 248 {
		t.Errorf("a Session is %d bytes, want at most 248", got)
	}
}

// TestFirstLoadReadsAsDecoded: a first load reads each session as soon
// as its batch of tables is decoded, on the core that decoded it, so that
// the decoded tables are not all held at once: a session with nothing to
// report is kept (its table's decoded value dropped), one with something
// to report keeps its decoded value, to be read again in order, with its
// messages (TestLoadManyMatchesParse: as Parse gives them).
func TestFirstLoadReadsAsDecoded(t *testing.T) {
	text := sessionsText(300)
	text = strings.Replace(text, "title = \"Session 7\"\n", "title = \"Session 7\"\ncolour = \"red\"\n", 1)
	head, chunks, ok := splitTables(text)
	if !ok {
		t.Fatal("not cut")
	}
	d := &decoder{file: "events.toml", text: []byte(text)}
	var raw map[string]any
	if _, err := toml.Decode(head, &raw); err != nil {
		t.Fatal(err)
	}
	s, _ := d.head(raw)
	tables, ok := decodeTables(chunks, d.bulkReader(len(chunks), &s.Calendar))
	if !ok {
		t.Fatal("not decoded")
	}
	for i, pt := range tables {
		if kept := pt.session != nil && pt.raw == nil; kept != (i != 7) {
			t.Errorf("table %d: session kept %v, decoded value kept %v", i, pt.session != nil, pt.raw != nil)
		}
	}
	if _, err := Reparse(nil, "events.toml", []byte(text)); err == nil || !strings.Contains(err.Error(), "sessions[7].colour") {
		t.Errorf("Reparse = %v, want the unknown key of sessions[7]", err)
	}
}
