package schedule

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestReparseMatchesParse: over random rounds of edits, Reparse from the
// previous result gives what Parse gives: the same schedule, or the same
// problems. The edits change titles, move, add and remove sessions,
// give one the id of another or of a series, change a series and the
// calendar's defaults, break and fix a value, put a header inside a
// multi-line string, and move a table after the sessions. A schedule
// spliced from the one before holds its sessions, less those replaced.
func TestReparseMatchesParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type session struct{ id, title string }
	sessions := make([]session, 20)
	for i := range sessions {
		sessions[i] = session{fmt.Sprint("s", i), fmt.Sprint("Session ", i)}
	}
	duration, zone, broken, trailing, tricky, series := "1h", "Europe/Berlin", -1, false, false, "Weekly"
	text := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "[calendar]\nname = \"G\"\ntimezone = %q\nduration = %q\n", zone, duration)
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
			if tricky && i == 3 {
				b.WriteString("description = \"\"\"\n[[sessions]]\nnot a header\n\"\"\"\n")
			}
			if i == len(sessions)/2 {
				b.WriteString("\n[[series]]\nid = \"monthly\"\ntitle = \"Monthly\"\nstart = 2030-03-05T19:00:00\nrrule = \"FREQ=MONTHLY;COUNT=3\"\n")
			}
		}
		if trailing {
			b.WriteString("\n[reminders]\nbefore = [\"1h\"]\n")
		}
		return b.String()
	}
	var prev *Schedule
	kept, spliced := 0, 0 // sessions that kept their Origin, schedules spliced
	var restore func()    // undoes this round's edit after it is read
	for round := range 500 {
		switch k := rng.IntN(40); {
		case k < 20:
			sessions[rng.IntN(len(sessions))].title = fmt.Sprint("Title ", round)
		case k < 23: // moved
			i, j := rng.IntN(len(sessions)), rng.IntN(len(sessions))
			sessions[i], sessions[j] = sessions[j], sessions[i]
		case k < 26:
			sessions = slices.Insert(sessions, rng.IntN(len(sessions)+1), session{fmt.Sprint("added-", round), "Added"})
		case k < 29 && len(sessions) > 5:
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
			zone = []string{"Europe/Berlin", "Asia/Tokyo", "Europe/Berlin", "Nowhere/City"}[rng.IntN(4)]
		case k == 35 || k == 36:
			if broken >= 0 {
				broken = -1
			} else {
				broken = rng.IntN(len(sessions))
			}
		case k == 37:
			tricky = !tricky
		case k == 38:
			trailing = !trailing
		}
		data := []byte(text())
		if restore != nil {
			restore()
			restore = nil
		}
		want, werr := Parse("events.toml", data)
		got, gerr := Reparse(prev, "events.toml", data)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("round %d: Reparse error\n%v\nParse error\n%v", round, gerr, werr)
		}
		if werr != nil {
			continue
		}
		if prev != nil && prev.Text() != "" {
			p, q := got.Unchanged(prev.Text())
			if wp, wq := Unchanged(prev.Text(), got.Text()); p != wp || q != wq {
				t.Fatalf("round %d: Unchanged = %d, %d, want %d, %d", round, p, q, wp, wq)
			}
		}
		cut, gen, splice, edit := got.cut, got.gen, got.splice, got.edit
		if (cut == nil) != trailing {
			t.Fatalf("round %d: cut %v with a table after the sessions %v", round, cut != nil, trailing)
		}
		if h, c, ok := splitTables(string(data)); ok && (cut == nil || cut.text != string(data) || !reflect.DeepEqual(cut.texts(), c) || h != cut.text[:len(h)]) {
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
		prev = got
	}
	t.Logf("%d sessions kept their Origin, %d schedules were spliced", kept, spliced)
	if kept == 0 || spliced < 150 {
		t.Errorf("%d sessions kept their Origin, %d schedules were spliced", kept, spliced)
	}
}

// texts returns the tables of c as splitTables gives them.
func (c *cutText) texts() []tableText {
	var out []tableText
	for i, pt := range c.tables {
		out = append(out, tableText{pt.kind, c.tableText(i)})
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
// long or not).
func TestSplitAgainMatchesSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{
		"[[sessions]]\nid = \"a\"\n", "[[series]]\nid = \"b\"\n", "[[series.changes]]\nx = 1\n",
		"title = \"t\"\n", "description = \"\"\"\n", "\"\"\"\n", "d = '''\n[[sessions]]\n'''\n",
		"# [[sessions]]\n", "\n", "[reminders]\n", "links = [\n", "]\n", "x", "[[", "sessions]]\n", "'",
	}
	text := "[calendar]\nname = \"G\"\n"
	for range 30 {
		text += pieces[rng.IntN(3)] + pieces[3]
	}
	for round := range 3000 {
		head, tables, ok := splitTables(text)
		var cut *cutText
		if ok {
			cut = (*cutText)(nil).splice(text, len(head), edit{head: head, mid: tables}, parsed(tables))
		}
		next := text
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(next) + 1)
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
		e, gok := splitAgain(cut, next)
		var gt []tableText
		if gok {
			gt = cut.splice(next, len(e.head), e, parsed(e.mid)).texts()
		}
		if gok != wok || wok && (e.head != wh || !reflect.DeepEqual(gt, wt)) {
			t.Fatalf("round %d: splitAgain differs from splitTables\nbefore:\n%s\nafter:\n%s", round, text, next)
		}
		if wok && len(wt) > 3 || rng.IntN(8) == 0 {
			text = next
		}
		if len(text) > 4000 || len(wt) < 2 && rng.IntN(4) == 0 {
			text = "[calendar]\nname = \"G\"\n"
			for range 30 {
				text += pieces[rng.IntN(3)] + pieces[3]
			}
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
		if s, err = Reparse(s, "events.toml", []byte(text)); err != nil {
			t.Fatal(err)
		}
		from := uintptr(unsafe.Pointer(unsafe.StringData(s.cut.text)))
		for j, pt := range s.cut.tables {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(pt.kind))); p >= from && p < from+uintptr(len(s.cut.text)) {
				t.Errorf("edit %d: table %d's kind %q is a part of the text", i, j, pt.kind)
			}
		}
	}
}

// TestReparseKeepsNotThePreviousText: a schedule reparsed from another
// finds the bytes the edit left unchanged without comparing the texts
// while the caller holds the other's text, and does not keep that text
// alive once nothing else does.
func TestReparseKeepsNotThePreviousText(t *testing.T) {
	text := sessionsText(50)
	first := []byte(text)
	prev, err := Reparse(nil, "events.toml", first)
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(prev.Text()) != &first[0] {
		t.Fatal("the schedule's text is not the bytes it was given")
	}
	s, err := Reparse(prev, "events.toml", []byte(strings.Replace(text, `"Session 30"`, `"Session 30 edited"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if s.edit == nil || s.edit.base.Value() != &first[0] {
		t.Fatal("the edit is not known against the previous text")
	}
	p, q := s.Unchanged(prev.Text())
	if wp, wq := Unchanged(prev.Text(), s.Text()); p != wp || q != wq {
		t.Fatalf("Unchanged = %d, %d, want %d, %d", p, q, wp, wq)
	}
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
	t.Error("the previous text is still alive while the schedule reparsed from it is")
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
