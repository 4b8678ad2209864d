package schedule

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestReparseMatchesParse: over random rounds of edits, Reparse from the
// previous result gives what Parse gives: the same schedule, or the same
// problems. The edits change titles, the calendar's defaults, add and
// remove sessions, break and fix a value, put a header inside a
// multi-line string, and move a table after the sessions.
func TestReparseMatchesParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	titles := make([]string, 20)
	for i := range titles {
		titles[i] = fmt.Sprint("Session ", i)
	}
	duration, zone, broken, trailing, tricky := "1h", "Europe/Berlin", -1, false, false
	text := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "[calendar]\nname = \"G\"\ntimezone = %q\nduration = %q\n", zone, duration)
		if !trailing {
			b.WriteString("\n[reminders]\nbefore = [\"1h\"]\n")
		}
		b.WriteString("\n[[series]]\nid = \"weekly\"\ntitle = \"Weekly\"\nstart = 2030-03-03T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=5\"\n\n[[series.changes]]\noccurrence = 2030-03-10\ntitle = \"Changed\"\n")
		for i, title := range titles {
			start := fmt.Sprintf("2030-%02d-%02dT18:00:00", 1+i%12, 1+i%28)
			if i == broken {
				start = `"tomorrow"`
			}
			fmt.Fprintf(&b, "\n[[sessions]]\nid = \"s%d\"\ntitle = %q\nstart = %s\n", i, title, start)
			if tricky && i == 3 {
				b.WriteString("description = \"\"\"\n[[sessions]]\nnot a header\n\"\"\"\n")
			}
		}
		if trailing {
			b.WriteString("\n[reminders]\nbefore = [\"1h\"]\n")
		}
		return b.String()
	}
	var prev *Schedule
	kept := 0 // sessions that kept their Origin
	for round := range 120 {
		switch k := rng.IntN(12); {
		case k < 5:
			titles[rng.IntN(len(titles))] = fmt.Sprint("Title ", round)
		case k == 5:
			duration = fmt.Sprintf("%dm", 30+rng.IntN(60))
		case k == 6:
			zone = []string{"Europe/Berlin", "Asia/Tokyo", "Nowhere/City"}[rng.IntN(3)]
		case k == 7:
			titles = append(titles, fmt.Sprint("Added ", round))
		case k == 8 && len(titles) > 5:
			i := rng.IntN(len(titles))
			titles = append(titles[:i], titles[i+1:]...)
		case k == 9:
			if broken >= 0 {
				broken = -1
			} else {
				broken = rng.IntN(len(titles))
			}
		case k == 10:
			tricky = !tricky
		case k == 11:
			trailing = !trailing
		}
		data := []byte(text())
		want, werr := Parse("events.toml", data)
		got, gerr := Reparse(prev, "events.toml", data)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("round %d: Reparse error\n%v\nParse error\n%v", round, gerr, werr)
		}
		if werr != nil {
			continue
		}
		tables := got.tables
		if (tables == nil) != trailing {
			t.Fatalf("round %d: tables kept %v with a table after the sessions %v", round, tables != nil, trailing)
		}
		cut := got.cut
		if h, c, ok := splitTables(string(data)); ok && (cut == nil || cut.text != string(data) || !reflect.DeepEqual(cut.tables, c) || h != cut.text[:len(h)]) {
			t.Fatalf("round %d: the text was cut otherwise than splitTables cuts it", round)
		}
		got.tables, want.tables, got.cut, want.cut = nil, nil, nil, nil
		// A session that keeps its Origin is the one it was.
		before := map[*Session]Session{}
		if prev != nil {
			for _, ss := range prev.Sessions {
				if ss.origin != nil {
					before[ss.origin] = ss
				}
			}
		}
		sessions := slices.Clone(got.Sessions)
		for i, ss := range got.Sessions {
			if old, ok := before[ss.origin]; ok {
				kept++
				if !reflect.DeepEqual(old, ss) {
					t.Fatalf("round %d: session %s keeps its Origin but changed", round, ss.ID)
				}
			}
			got.Sessions[i].origin = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: Reparse and Parse differ", round)
		}
		got.tables, got.Sessions, got.cut = tables, sessions, cut
		prev = got
	}
	if kept == 0 {
		t.Error("no session kept its Origin")
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
			cut = newCut(text, head, tables)
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
		gh, gt, gok := splitAgain(cut, next)
		if gok != wok || wok && (gh != wh || !reflect.DeepEqual(gt, wt)) {
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
