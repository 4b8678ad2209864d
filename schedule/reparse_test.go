package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// TestReparseMatchesParse: over random rounds of edits, ReparseText of
// the file from the previous result gives what Parse gives: the same
// schedule, or the same problems. The edits change titles, move, add
// and remove sessions, give one the id of another or of a series,
// change a series and the calendar's defaults, break and fix a value,
// put a header inside a multi-line string, move a table after the
// sessions, change the multi-line descriptions (some holding a line
// that looks like a header) anywhere and exactly on the edges of the
// blocks the file is hashed in, grow and shrink a comment at the very
// start of the file (every byte after it moves) and at its very end, and
// leave it as it was. Between opening the file and reparsing it, some
// rounds rename another file over it (what is read does not change),
// and some write into it in place, grow it or shrink it (ErrChanged,
// or what was opened when the change is not where it reads). The edit
// is found to a block: the bytes outside it did not change. Most edits
// read only a part of the file again, and a schedule spliced from the
// one before holds its sessions, less those replaced.
func TestReparseMatchesParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type session struct{ id, title, desc string }
	sessions := make([]session, 120)
	for i := range sessions {
		sessions[i] = session{fmt.Sprint("s", i), fmt.Sprint("Session ", i), words(rng, rng.IntN(40))}
	}
	duration, zone, broken, trailing, tricky, series := "1h", "Europe/Berlin", -1, false, false, "Weekly"
	first, last := "", "" // comments at the very start and end
	var descAt []int      // where each session's description begins in the text
	text := func() string {
		var b strings.Builder
		descAt = make([]int, len(sessions))
		fmt.Fprintf(&b, "%s[calendar]\nname = \"G\"\ntimezone = %q\nduration = %q\n", first, zone, duration)
		if !trailing {
			b.WriteString("\n[reminders]\nbefore = [\"1h\"]\n")
		}
		fmt.Fprintf(&b, "\n[[series]]\nid = \"weekly\"\ntitle = %q\nstart = 2030-03-03T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=5\"\n\n[[series.changes]]\noccurrence = 2030-03-10\ntitle = \"Changed\"\n", series)
		for i, ss := range sessions {
			start := fmt.Sprintf("2030-%02d-%02dT18:00:00", 1+i%12, 1+i%28)
			if i == broken {
				start = `"tomorrow"`
			}
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = %s\n", ss.id, ss.title, start)
			desc := ss.desc
			if tricky && i == 3 {
				desc += "\n[[sessions]]\nnot a header\n"
			}
			if desc != "" {
				b.WriteString("description = \"\"\"\n")
				descAt[i] = b.Len()
				b.WriteString(desc + "\"\"\"\n")
			}
			if i == len(sessions)/2 {
				b.WriteString("\n[[series]]\nid = \"monthly\"\ntitle = \"Monthly\"\nstart = 2030-03-05T19:00:00\nrrule = \"FREQ=MONTHLY;COUNT=3\"\n")
			}
		}
		if trailing {
			b.WriteString("\n[reminders]\nbefore = [\"1h\"]\n")
		}
		b.WriteString(last)
		return b.String()
	}
	// editDesc changes the description that holds the byte at, if one
	// does: a word inserted, a few bytes removed, or one replaced.
	editDesc := func(at int) bool {
		for i, ss := range sessions {
			if off := at - descAt[i]; ss.desc != "" && off >= 0 && off < len(ss.desc) {
				// Whole characters: one may begin in a block and end in
				// the next.
				for !utf8.RuneStart(ss.desc[off]) {
					off--
				}
				end := min(len(ss.desc), off+1+rng.IntN(6))
				for end < len(ss.desc) && !utf8.RuneStart(ss.desc[end]) {
					end++
				}
				switch rng.IntN(3) {
				case 0:
					sessions[i].desc = ss.desc[:off] + words(rng, 1) + ss.desc[off:]
				case 1:
					sessions[i].desc = ss.desc[:off] + ss.desc[end:]
				default:
					sessions[i].desc = ss.desc[:off] + "x" + ss.desc[end:]
				}
				return true
			}
		}
		return false
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "events.toml")
	var prev *Schedule
	var prevData []byte
	kept, spliced, partial, changed := 0, 0, 0, 0
	var restore func() // undoes this round's edit after it is read
	for round := range 400 {
		size := len(text())
		switch k := rng.IntN(50); {
		case k < 14:
			sessions[rng.IntN(len(sessions))].title = fmt.Sprint("Title ", round)
		case k < 20: // on the edge of a block, or next to it
			at := (1+rng.IntN(max(1, size/blockSize)))*blockSize + rng.IntN(5) - 2
			if !editDesc(at) {
				sessions[rng.IntN(len(sessions))].title = fmt.Sprint("Title ", round)
			}
		case k < 23: // inside a multi-line string, anywhere
			editDesc(rng.IntN(size))
		case k < 25: // moved
			i, j := rng.IntN(len(sessions)), rng.IntN(len(sessions))
			sessions[i], sessions[j] = sessions[j], sessions[i]
		case k < 27:
			sessions = slices.Insert(sessions, rng.IntN(len(sessions)+1), session{fmt.Sprint("added-", round), "Added", words(rng, rng.IntN(20))})
		case k < 29 && len(sessions) > 60:
			i := rng.IntN(len(sessions))
			sessions = slices.Delete(sessions, i, i+1)
		case k < 31: // an id twice, or a series' id, for a round
			i := rng.IntN(len(sessions))
			saved := sessions[i].id
			sessions[i].id = []string{sessions[rng.IntN(len(sessions))].id, "weekly", "monthly"}[rng.IntN(3)]
			restore = func() { sessions[i].id = saved }
		case k < 33:
			series = fmt.Sprint("Weekly ", round)
		case k == 33:
			duration = fmt.Sprintf("%dm", 30+rng.IntN(60))
		case k == 34:
			saved := zone
			zone = []string{"Europe/Berlin", "Asia/Tokyo", "Europe/Berlin", "Nowhere/City"}[rng.IntN(4)]
			if zone == "Nowhere/City" { // for a round
				restore = func() { zone = saved }
			}
		case k == 35 || k == 36:
			if broken >= 0 {
				broken = -1
			} else {
				broken = rng.IntN(len(sessions))
			}
		case k == 37:
			tricky = !tricky
		case k == 38: // for a round
			trailing = true
			restore = func() { trailing = false }
		case k == 39 || k == 40: // every byte moves
			first = strings.Repeat("#\n", rng.IntN(4))
		case k == 41 || k == 42:
			last = strings.Repeat("# end\n", rng.IntN(3))
		case k == 43:
			sessions[len(sessions)-1].title = fmt.Sprint("Last ", round)
		case k == 44: // the same bytes
		default:
			sessions[rng.IntN(len(sessions))].title = fmt.Sprint("Title ", round)
		}
		data, trailed := []byte(text()), trailing
		if restore != nil {
			restore()
			restore = nil
		}
		writeRenamed(t, path, data)
		tx, err := OpenText(path, prev)
		if err != nil {
			t.Fatal(err)
		}
		race := rng.IntN(12)
		switch race {
		case 0: // renamed over: what is read stays what was opened
			writeRenamed(t, path, []byte(strings.Repeat("x", rng.IntN(2*len(data)))))
		case 1, 2, 3: // written in place, grown, shrunk
			writeInPlace(t, path, rng, race)
		}
		got, gerr := ReparseText(prev, "events.toml", tx)
		if !tx.whole {
			partial++
		}
		tx.Close()
		if race >= 1 && race <= 3 && errors.Is(gerr, ErrChanged) {
			changed++
			continue
		}
		want, werr := Parse("events.toml", data)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("round %d: Reparse error\n%v\nParse error\n%v", round, gerr, werr)
		}
		if werr != nil {
			continue
		}
		if p, q, ok := got.EditOf(prev); ok {
			checkEdit(t, round, prevData, data, p, q)
		} else if prev != nil && prev.cut != nil && got.cut != nil {
			t.Fatalf("round %d: no edit of the schedule it was reparsed from", round)
		}
		cut, gen, splice, edit := got.cut, got.gen, got.splice, got.edit
		if (cut == nil) != trailed {
			t.Fatalf("round %d: cut %v with a table after the sessions %v", round, cut != nil, trailed)
		}
		if h, c, ok := splitTables(string(data)); ok && (cut == nil || !reflect.DeepEqual(cut.sums, blocksOf(data)) ||
			!reflect.DeepEqual(cut.texts(string(data)), c) || len(h) != cut.starts[0]) {
			t.Fatalf("round %d: the text was cut otherwise than splitTables cuts it", round)
		}
		if cut != nil {
			checkCut(t, round, cut, got)
		}
		if sp, ok := got.SpliceOf(prev); ok {
			spliced++
			checkSplice(t, round, prev, got, sp)
		}
		got.cut, got.gen, got.splice, got.edit = nil, 0, nil, nil
		// A session that keeps its Origin is the one it was.
		before := map[*Session]Session{}
		if prev != nil {
			for _, ss := range prev.Sessions {
				if ss.origin != nil {
					before[ss.origin] = *ss
				}
			}
		}
		sessions := got.Sessions
		got.Sessions = make([]*Session, len(sessions))
		for i, ss := range sessions {
			if old, ok := before[ss.origin]; ok {
				kept++
				if !reflect.DeepEqual(old, *ss) {
					t.Fatalf("round %d: session %s keeps its Origin but changed", round, ss.ID)
				}
			}
			plain := *ss
			plain.origin = nil
			got.Sessions[i] = &plain
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: Reparse and Parse differ", round)
		}
		got.Sessions, got.cut, got.gen, got.splice, got.edit = sessions, cut, gen, splice, edit
		prev, prevData = got, data
	}
	t.Logf("%d sessions kept their Origin, %d schedules were spliced, %d read in part, %d changed while read", kept, spliced, partial, changed)
	if kept == 0 || spliced < 150 || partial < 150 || changed == 0 {
		t.Errorf("%d sessions kept their Origin, %d schedules were spliced, %d read in part, %d changed while read", kept, spliced, partial, changed)
	}
}

// words returns n words of a description, in lines, one of which may
// look like a header.
func words(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		switch rng.IntN(12) {
		case 0:
			b.WriteString("\n")
		case 1:
			b.WriteString("\n[[sessions]]\n")
		default:
			b.WriteString([]string{"mutual ", "aid ", "reading ", "group ", "chapter ", "été ", "κ "}[rng.IntN(7)])
		}
	}
	return b.String()
}

// writeRenamed writes data to a new file renamed over path, as editors
// save.
func writeRenamed(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// writeInPlace changes the file at path where it is: kind 1 writes a
// few bytes somewhere, 2 appends, 3 truncates.
func writeInPlace(t *testing.T, path string, rng *rand.Rand, kind int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	switch kind {
	case 1:
		_, err = f.WriteAt([]byte("#!"), rng.Int64N(fi.Size()))
	case 2:
		_, err = f.WriteAt([]byte("# more\n"), fi.Size())
	default:
		err = f.Truncate(rng.Int64N(fi.Size()))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// checkEdit checks an edit from old to new found to the precision of a
// block, p and q: new begins with the first p bytes of old and, after
// those, ends with the last q bytes of old, and they are at most two
// blocks fewer than the exact counts.
func checkEdit(t *testing.T, round int, old, new []byte, p, q int) {
	t.Helper()
	wp, wq := exactUnchanged(old, new)
	if p > wp || p+q > min(len(old), len(new)) || !bytes.Equal(old[len(old)-q:], new[len(new)-q:]) || p+q <= wp+wq-2*blockSize {
		t.Fatalf("round %d: edit found as %d, %d; exactly %d, %d (of %d and %d bytes)", round, p, q, wp, wq, len(old), len(new))
	}
}

// exactUnchanged returns how many bytes new begins with that old begins
// with too, and how many of the rest it ends with that old ends with.
func exactUnchanged(old, new []byte) (prefix, suffix int) {
	n := min(len(old), len(new))
	for prefix < n && old[prefix] == new[prefix] {
		prefix++
	}
	for suffix < n-prefix && old[len(old)-1-suffix] == new[len(new)-1-suffix] {
		suffix++
	}
	return prefix, suffix
}

// texts returns the tables of c as splitTables gives them from text,
// the text c was cut from.
func (c *cutText) texts(text string) []tableText {
	var out []tableText
	for i, pt := range c.tables {
		out = append(out, tableText{pt.kind, c.tableText(text, i)})
	}
	return out
}

// checkCut checks what c holds besides its text: the series' tables,
// the sessions' ids, and that a kept session is the schedule's.
func checkCut(t *testing.T, round int, c *cutText, s *Schedule) {
	t.Helper()
	var series []int
	n := 0
	for i, pt := range c.tables {
		if pt.kind == "series" {
			series = append(series, i)
			continue
		}
		if c.sessionIndex(i) != n {
			t.Fatalf("round %d: table %d is session %d, sessionIndex says %d", round, i, n, c.sessionIndex(i))
		}
		if pt.session != nil && pt.session != s.Sessions[n] {
			t.Fatalf("round %d: the kept session of table %d is not sessions[%d]", round, i, n)
		}
		n++
	}
	if !slices.Equal(series, c.series) {
		t.Fatalf("round %d: series at %v, the cut says %v", round, series, c.series)
	}
	if c.ids.Len() != len(s.Sessions) {
		t.Fatalf("round %d: %d ids for %d sessions", round, c.ids.Len(), len(s.Sessions))
	}
	for _, ss := range s.Sessions {
		if _, ok := c.ids.Get(ss.ID); !ok {
			t.Fatalf("round %d: id %s missing", round, ss.ID)
		}
	}
}

// checkSplice checks that s is prev with the sessions sp says replaced,
// and every other session prev's own.
func checkSplice(t *testing.T, round int, prev, s *Schedule, sp Splice) {
	t.Helper()
	if len(s.Sessions) != len(prev.Sessions)-(sp.To-sp.From)+sp.N || s.Calendar != prev.Calendar {
		t.Fatalf("round %d: splice %+v of %d sessions gives %d", round, sp, len(prev.Sessions), len(s.Sessions))
	}
	for i := range sp.From {
		if s.Sessions[i] != prev.Sessions[i] {
			t.Fatalf("round %d: session %d before the splice %+v is not prev's", round, i, sp)
		}
	}
	for i := sp.To; i < len(prev.Sessions); i++ {
		if s.Sessions[i-sp.To+sp.From+sp.N] != prev.Sessions[i] {
			t.Fatalf("round %d: session %d after the splice %+v is not prev's", round, i, sp)
		}
	}
}

// TestSplitTables: the text is cut at each session's and series' header,
// not at one inside a multi-line string, and a file with another table
// after them is not cut.
func TestSplitTables(t *testing.T) {
	text := "[calendar]\nname = \"x\"\n\n[[sessions]]\nid = \"a\"\ndescription = '''\n[[series]]\n'''\n\n[[series]]\nid = \"b\"\n\n[[series.changes]]\nx = 1\n"
	head, tables, ok := splitTables(text)
	if !ok || head != "[calendar]\nname = \"x\"\n\n" || len(tables) != 2 ||
		tables[0].kind != "sessions" || !strings.HasSuffix(tables[0].text, "'''\n\n") || tables[1].kind != "series" ||
		!strings.HasSuffix(tables[1].text, "x = 1\n") || head+tables[0].text+tables[1].text != text {
		t.Errorf("splitTables = %q, %q, %v", head, tables, ok)
	}
	if _, _, ok := splitTables(text + "[reminders]\nbefore = []\n"); ok {
		t.Error("a [reminders] table after the series was cut")
	}
}

// TestSplitAgainMatchesSplit: cutting a text again from the cut of its
// previous version gives what cutting it anew gives, over random edits
// at random places: lines, headers, multi-line strings opened and
// closed, other tables, text inserted, removed and replaced (by text as
// long or not), on the edges of blocks or not. The bytes found
// unchanged at the start and the end are the exact counts less up to a
// block each (as blocks find them), or as blocks find them in texts of
// one block or of several.
func TestSplitAgainMatchesSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{
		"[[sessions]]\nid = \"a\"\n", "[[series]]\nid = \"b\"\n", "[[series.changes]]\nx = 1\n",
		"title = \"t\"\n", "description = \"\"\"\n", "\"\"\"\n", "d = '''\n[[sessions]]\n'''\n",
		"# [[sessions]]\n", "\n", "[reminders]\n", "links = [\n", "]\n", "x", "[[", "sessions]]\n", "'",
	}
	fresh := func() string {
		text := "[calendar]\nname = \"G\"\n"
		for range 30 + rng.IntN(2)*300 { // one block, or several
			text += pieces[rng.IntN(3)] + pieces[3] + strings.Repeat("# padding\n", rng.IntN(4))
		}
		return text
	}
	text := fresh()
	for round := range 4000 {
		head, tables, ok := splitTables(text)
		var cut *cutText
		if ok {
			cut = (*cutText)(nil).splice(blocksOf([]byte(text)), len(head), edit{head: head, mid: tables}, parsed(tables))
		}
		next := text
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(next) + 1)
			if rng.IntN(4) == 0 { // on the edge of a block
				i = min(len(next), max(0, i/blockSize*blockSize+rng.IntN(3)-1))
			}
			j := min(len(next), i+rng.IntN(40))
			switch piece := pieces[rng.IntN(len(pieces))]; rng.IntN(4) {
			case 0:
				next = next[:i] + piece + next[i:]
			case 1:
				next = next[:i] + next[j:]
			case 2: // as long as what it replaces: the tables after do not move
				next = next[:i] + piece + next[min(len(next), i+len(piece)):]
			default:
				next = next[:i] + pieces[rng.IntN(len(pieces))] + next[j:]
			}
		}
		wh, wt, wok := splitTables(next)
		var e edit
		var gok bool
		var err error
		if cut == nil || rng.IntN(2) == 0 {
			e, gok, err = splitAgain(cut, TextOf([]byte(next)))
		} else {
			p, q := exactUnchanged([]byte(text), []byte(next))
			p, q = p-rng.IntN(min(p, blockSize)+1), q-rng.IntN(min(q, blockSize)+1)
			e, gok, err = splitAt(cut, TextOf([]byte(next)), p, q)
		}
		if err != nil {
			t.Fatal(err)
		}
		var gt []tableText
		if gok {
			gt = cut.splice(blocksOf([]byte(next)), len(e.head), e, parsed(e.mid)).texts(next)
		}
		if gok != wok || wok && (e.head != wh || !reflect.DeepEqual(gt, wt)) {
			t.Fatalf("round %d: splitAgain differs from splitTables\nbefore:\n%s\nafter:\n%s", round, text, next)
		}
		if wok && len(wt) > 3 || rng.IntN(8) == 0 {
			text = next
		}
		if len(text) > 40000 || len(wt) < 2 && rng.IntN(4) == 0 {
			text = fresh()
		}
	}
}

// TestUnchangedBlocks: the bytes found unchanged at the start and at the
// end of a new version of a text are the exact counts rounded down to
// whole blocks of the old text, found while the new one is read in
// pieces or from it whole, over random edits of texts of up to a few
// pieces, many on the edges of blocks: bytes inserted, removed and
// replaced (by as many or not: the text moves by whole blocks or not),
// and the same text. Equal texts have equal sums, and others not.
func TestUnchangedBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	path := filepath.Join(t.TempDir(), "events.toml")
	for round := range 2000 {
		old := make([]byte, rng.IntN([]int{5 * blockSize, 3 * textPiece}[rng.IntN(2)]))
		for i := range old {
			old[i] = "ab\n"[rng.IntN(3)]
		}
		next := slices.Clone(old)
		for range rng.IntN(3) {
			i := rng.IntN(len(next) + 1)
			if rng.IntN(2) == 0 {
				i = min(len(next), i/blockSize*blockSize+rng.IntN(3))
			}
			j := min(len(next), i+rng.IntN(3*blockSize/2))
			n := rng.IntN(2) * rng.IntN(2*blockSize)
			if rng.IntN(3) == 0 { // moves what follows by whole blocks
				n = j - i + blockSize*(rng.IntN(3)-1)
				if n < 0 {
					n = j - i
				}
			}
			next = slices.Concat(next[:i], bytes.Repeat([]byte("c"), n), next[j:])
		}
		cut := &cutText{sums: blocksOf(old)}
		var tx *Text
		if rng.IntN(2) == 0 {
			writeRenamed(t, path, next)
			var err error
			if tx, err = OpenText(path, &Schedule{cut: cut}); err != nil {
				t.Fatal(err)
			}
		} else {
			tx = TextOf(next)
		}
		p, q, err := tx.unchanged(cut)
		if err != nil {
			t.Fatal(err)
		}
		if tx.f != nil && tx.whole {
			t.Fatalf("round %d: a text compared while read in pieces was read whole to compare", round)
		}
		tx.Close()
		wp, _ := exactUnchanged(old, next)
		ws := 0 // the exact common suffix, overlapping the prefix or not
		for ws < min(len(old), len(next)) && old[len(old)-1-ws] == next[len(next)-1-ws] {
			ws++
		}
		// The first block of old whole in the common end and not
		// before the start found, where it is in next.
		delta := len(next) - len(old)
		first := max((len(old)-ws+blockSize-1)/blockSize, (max(wp/blockSize*blockSize, wp/blockSize*blockSize-delta)+blockSize-1)/blockSize)
		wq := 0
		if first*blockSize < len(old) {
			wq = len(old) - first*blockSize
		}
		switch {
		case bytes.Equal(old, next):
			if p != len(next) || q != 0 {
				t.Fatalf("round %d: the same text is found changed: %d, %d", round, p, q)
			}
		case p != wp/blockSize*blockSize || q != wq:
			t.Fatalf("round %d: unchanged = %d, %d; want %d, %d (exactly %d, %d; of %d and %d bytes)", round, p, q, wp/blockSize*blockSize, wq, wp, ws, len(old), len(next))
		}
		if p+q > min(len(old), len(next)) && !bytes.Equal(old, next) {
			t.Fatalf("round %d: unchanged = %d, %d overlap in texts of %d and %d bytes", round, p, q, len(old), len(next))
		}
		if (blocksOf(old).sum() == blocksOf(next).sum()) != bytes.Equal(old, next) {
			t.Fatalf("round %d: sums equal %v, texts equal %v", round, blocksOf(old).sum() == blocksOf(next).sum(), bytes.Equal(old, next))
		}
	}
}

// parsed returns a table of each kind of tables, not decoded.
func parsed(tables []tableText) []*parsedTable {
	out := make([]*parsedTable, len(tables))
	for i, t := range tables {
		out[i] = &parsedTable{kind: t.kind}
	}
	return out
}

// TestReparseTablesHoldNoText: the tables a schedule keeps for the next
// Reparse hold no part of the text they were read from: a table is kept
// over many edits, and a part of one edit's text would keep all of it
// alive after the next edit replaced it.
func TestReparseTablesHoldNoText(t *testing.T) {
	text := sessionsText(20) + "\n[[series]]\nid = \"weekly\"\ntitle = \"Weekly\"\nstart = 2030-03-03T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=4\"\n"
	s, err := Reparse(nil, "events.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for i, edit := range []string{"Session 3", "Session 12", "Weekly"} {
		text = strings.Replace(text, `"`+edit+`"`, `"`+edit+` edited"`, 1)
		data := []byte(text)
		if s, err = Reparse(s, "events.toml", data); err != nil {
			t.Fatal(err)
		}
		from := uintptr(unsafe.Pointer(&data[0]))
		for j, pt := range s.cut.tables {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(pt.kind))); p >= from && p < from+uintptr(len(data)) {
				t.Errorf("edit %d: table %d's kind %q is a part of the text", i, j, pt.kind)
			}
		}
	}
}

// TestReparseKeepsNoText: a schedule keeps no part of the text it was
// read from (literal strings, which the decoder could take as parts of
// the text): the text of a first load, read whole, can be freed while
// the schedule reparsed from it, with an edit read in part, is served.
// What changed between them is still known.
func TestReparseKeepsNoText(t *testing.T) {
	text := strings.Replace(sessionsText(200), `name = "Group"`, `name = 'Group'`+"\ndescription = '''\nA literal text\n'''", 1)
	text = strings.Replace(text, `title = "Session 3"`, `title = 'Session 3'`, 1)
	path := filepath.Join(t.TempDir(), "events.toml")
	first := []byte(text)
	prev, err := Reparse(nil, "events.toml", first)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(text, `"Session 130"`, `'Session 130 edited'`, 1)
	writeRenamed(t, path, []byte(edited))
	tx, err := OpenText(path, prev)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReparseText(prev, "events.toml", tx)
	tx.Close()
	if err != nil {
		t.Fatal(err)
	}
	if tx.whole {
		t.Error("an edit of one title read the file whole")
	}
	p, q, ok := s.EditOf(prev)
	if !ok {
		t.Fatal("the edit is not known against the previous schedule")
	}
	checkEdit(t, 0, first, []byte(edited), p, q)
	collected := make(chan struct{})
	runtime.AddCleanup(&first[0], func(c chan struct{}) { close(c) }, collected)
	prev, first = nil, nil
	for range 20 {
		runtime.GC()
		select {
		case <-collected:
			runtime.KeepAlive(s)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Error("the text of the first load is still alive while the schedule reparsed from it is")
}

// sessionsText is an events.toml of n sessions, "Session 0" to "Session
// n-1".
func sessionsText(n int) string {
	var b strings.Builder
	b.WriteString("[calendar]\nname = \"Group\"\ntimezone = \"Europe/Berlin\"\n")
	for i := range n {
		fmt.Fprintf(&b, "\n[[sessions]]\nid = \"s%d\"\ntitle = \"Session %d\"\nstart = 2030-01-%02dT19:00:00\n", i, i, i%28+1)
	}
	return b.String()
}
