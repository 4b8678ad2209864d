package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

// packTestSchedule is a random schedule that rounds of edits change:
// sessions with texts of many lengths and scripts, some with a link to
// join by, in many zones, and a series with a change.
type packTestSchedule struct {
	rng      *rand.Rand
	name     string
	url      string
	sessions []packTestSession
	next     int
}

type packTestSession struct {
	id, title, zone, description, location string
	day, hour                              int
}

var packTestWords = []string{"reading", "group", "Kapitel", "naïve", "漢字", "🎉", "a;b", "x,y", "back\\slash", "line\nbreak",
	strings.Repeat("long ", 40), "https://example.org/notes", ""}

// words returns up to n random words; a line break among them only if
// lines.
func (p *packTestSchedule) words(n int, lines bool) string {
	var b strings.Builder
	for i := range p.rng.IntN(n) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(packTestWords[p.rng.IntN(len(packTestWords))])
	}
	if !lines {
		return strings.ReplaceAll(b.String(), "\n", " ")
	}
	return b.String()
}

func (p *packTestSchedule) session() packTestSession {
	p.next++
	ss := packTestSession{id: fmt.Sprint("s", p.next), title: "Session " + p.words(4, false), zone: fuzzZones[p.rng.IntN(len(fuzzZones))],
		description: p.words(30, true), day: p.rng.IntN(700), hour: 6 + p.rng.IntN(14)}
	switch p.rng.IntN(3) {
	case 0:
		ss.location = "https://meet.example.org/" + ss.id
	case 1:
		ss.location = "Room " + p.words(2, false)
	}
	return ss
}

// edit changes the schedule at random: mostly one session, sometimes
// the calendar's name or URL (which every event writes), or nothing.
func (p *packTestSchedule) edit() {
	i := p.rng.IntN(len(p.sessions))
	switch p.rng.IntN(10) {
	case 0, 1, 2:
		p.sessions[i].title = "Session " + p.words(4, false)
	case 3:
		p.sessions[i].description = p.words(30, true)
	case 4:
		p.sessions = append(p.sessions, p.session())
	case 5:
		p.sessions = slices.Delete(p.sessions, i, i+1)
	case 6:
		p.sessions[i].hour = 6 + p.rng.IntN(14)
	case 7:
		p.name = "Group " + p.words(3, false)
	case 8:
		p.url = fmt.Sprintf("https://%c.example.org", 'a'+p.rng.IntN(3))
	}
}

func (p *packTestSchedule) text() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "[calendar]\nname = %q\ntimezone = \"Europe/Berlin\"\nurl = %q\n", p.name, p.url)
	fmt.Fprintf(&b, "\n[[series]]\nid = \"weekly\"\ntitle = \"Weekly\"\nstart = 2030-03-03T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=10\"\n")
	fmt.Fprintf(&b, "\n[[series.changes]]\noccurrence = 2030-03-17\nstart = 2030-03-17T20:00:00\n")
	for _, ss := range p.sessions {
		start := time.Date(2030, 1, 1, ss.hour, 0, 0, 0, time.UTC).AddDate(0, 0, ss.day)
		fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = %s\ntimezone = %q\ndescription = %q\n",
			ss.id, ss.title, start.Format("2006-01-02T15:04:05"), ss.zone, ss.description)
		if ss.location != "" {
			fmt.Fprintf(&b, "location = %q\n", ss.location)
		}
	}
	return []byte(b.String())
}

func newPackTestSchedule(seed uint64, n int) *packTestSchedule {
	p := &packTestSchedule{rng: rand.New(rand.NewPCG(11, seed)), name: "Group", url: "https://a.example.org"}
	for range n {
		p.sessions = append(p.sessions, p.session())
	}
	return p
}

// TestPackedServesSameBytes: over random schedules and rounds of edits
// (each reparsed from the one before, as a reload does), a Set whose
// events are kept compressed serves every document, as it is and
// gzip-compressed, with the bytes, ETags and Last-Modified of a Set
// rendered alike whose events were never compressed.
func TestPackedServesSameBytes(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { packedServesSameBytes(t, seed) })
	}
}

func packedServesSameBytes(t *testing.T, seed uint64) {
	ctx := context.Background()
	p := newPackTestSchedule(seed, 30+int(seed)*20)
	packedState, plainState := tempStore(t), tempStore(t)
	noPack := func([]*component) {}
	var packed, plain *Set
	var prevSched *schedule.Schedule
	var hPacked, hPlain Handler
	now := fixedNow
	for round := range 15 {
		if round > 0 {
			p.edit()
		}
		now = now.Add(time.Duration(p.rng.IntN(2)) * time.Second)
		s, err := schedule.Reparse(prevSched, "events.toml", p.text())
		if err != nil {
			t.Fatal(err)
		}
		if packed, err = Update(ctx, packed, s, packedState, now); err != nil {
			t.Fatal(err)
		}
		if plain, err = render(ctx, plain, s, plainState, now, noPack); err != nil {
			t.Fatal(err)
		}
		prevSched = s
		n, kept := 0, 0
		for _, c := range packed.comps.All {
			if n++; c.packed {
				kept++
			}
		}
		if kept < n*9/10 {
			t.Fatalf("round %d: %d of %d events are kept compressed", round, kept, n)
		}
		// Each event alone, in any order, as sessions' feeds are
		// asked for, by one unpacker.
		var keys []string
		for k := range packed.comps.All {
			keys = append(keys, k)
		}
		p.rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		var u unpacker
		for _, k := range keys {
			c, _ := packed.comps.Get(k)
			want, _ := plain.comps.Get(k)
			if got := u.text(c); string(got) != want.print[:len(want.print)-len(eventEnd)] {
				t.Fatalf("round %d: event %s unpacks to\n%s\nwant\n%s", round, k, got, want.print)
			}
		}
		hPacked.Swap(packed)
		hPlain.Swap(plain)
		docs := plain.Docs()
		if len(packed.Docs()) != len(docs) {
			t.Fatalf("round %d: %d documents, want %d", round, len(packed.Docs()), len(docs))
		}
		for path, want := range docs {
			if got, _ := packed.byPath(path); got.Len() != want.Len() || !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("round %d: %s: the packed document differs:\n%s", round, path, firstDiff(string(want.Bytes()), string(got.Bytes())))
			}
			for _, enc := range []string{"", "gzip"} {
				get := func(h *Handler) *httptest.ResponseRecorder {
					r := httptest.NewRequest("GET", path, nil)
					if enc != "" {
						r.Header.Set("Accept-Encoding", enc)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					return w
				}
				got, want := get(&hPacked), get(&hPlain)
				for _, k := range []string{"Etag", "Last-Modified", "Content-Length", "Content-Encoding"} {
					if got.Header().Get(k) != want.Header().Get(k) {
						t.Fatalf("round %d: %s (%q): %s %q, want %q", round, path, enc, k, got.Header().Get(k), want.Header().Get(k))
					}
				}
				if got.Code != 200 || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
					t.Fatalf("round %d: %s (%q): %d, served bytes differ from the never packed render's", round, path, enc, got.Code)
				}
				if got.Header().Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(got.Body)
					if err != nil {
						t.Fatal(err)
					}
					if body, err := io.ReadAll(zr); err != nil || !bytes.Equal(body, docs[path].Bytes()) {
						t.Fatalf("round %d: %s: the gzip form does not decompress to the document (%v)", round, path, err)
					}
				}
			}
		}
	}
}

// TestEditRepacksChanged: an edit compresses the events it changed and
// no others: one session's title, one event; the calendar's name, in
// no event, none; nothing changed, none; the calendar's URL, in every
// event, all of them.
func TestEditRepacksChanged(t *testing.T) {
	ctx := context.Background()
	p := newPackTestSchedule(7, 60)
	st := tempStore(t)
	var packed []string // the keys of the events compressed by the last render
	counting := func(cs []*component) {
		packed = packed[:0]
		for _, c := range cs {
			packed = append(packed, c.key)
		}
		packAll(cs)
	}
	s, err := schedule.Parse("events.toml", p.text())
	if err != nil {
		t.Fatal(err)
	}
	set, err := render(ctx, nil, s, st, fixedNow, counting)
	if err != nil {
		t.Fatal(err)
	}
	if all := set.comps.Len(); len(packed) != all {
		t.Fatalf("a first render compressed %d events of %d", len(packed), all)
	}
	for round, c := range []struct {
		what string
		edit func()
		want func(s *schedule.Schedule) []string
	}{
		{"a title", func() { p.sessions[17].title = "Edited" }, func(s *schedule.Schedule) []string { return []string{s.UID(p.sessions[17].id)} }},
		{"nothing", func() {}, func(*schedule.Schedule) []string { return nil }},
		{"the calendar's name", func() { p.name = "Renamed" }, func(*schedule.Schedule) []string { return nil }},
		{"a description", func() { p.sessions[3].description = "New" }, func(s *schedule.Schedule) []string { return []string{s.UID(p.sessions[3].id)} }},
		{"the calendar's URL", func() { p.url = "https://b.example.org" }, func(*schedule.Schedule) []string {
			var all []string
			for _, c := range set.comps.All {
				all = append(all, c.key)
			}
			return all
		}},
	} {
		c.edit()
		next, err := schedule.Reparse(s, "events.toml", p.text())
		if err != nil {
			t.Fatal(err)
		}
		if set, err = render(ctx, set, next, st, fixedNow.Add(time.Duration(round+1)*time.Second), counting); err != nil {
			t.Fatal(err)
		}
		s = next
		want := c.want(s)
		slices.Sort(want)
		slices.Sort(packed)
		if !slices.Equal(packed, want) {
			t.Errorf("an edit of %s compressed %d events (%.3q), want %d (%.3q)", c.what, len(packed), packed, len(want), want)
		}
	}
}
