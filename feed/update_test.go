package feed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// TestUpdateMatchesRender: over random rounds of edits (a title, a
// description, a time, a zone, a session added, removed or moved, a
// series' title or changes, the calendar's name, description, URL,
// organizer or default location, or nothing), a render that reuses the
// previous one, of the schedule Reparse gives from the previous one as
// a reload does, gives every document byte for byte, with the same ETag
// and Last-Modified, and every occurrence's event and SEQUENCE, as a
// render from scratch of the file parsed anew, against the same
// versions; and the handler, swapped to each render in turn, serves
// those documents and no other.
func TestUpdateMatchesRender(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { updateMatchesRender(t, seed) })
	}
}

func updateMatchesRender(t *testing.T, seed uint64) {
	ctx := context.Background()
	dir := t.TempDir()
	incr, err := store.OpenExclusive(filepath.Join(dir, "incremental.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer incr.Close()
	full, err := store.Open(filepath.Join(dir, "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()

	rng := rand.New(rand.NewPCG(5, seed))
	type session struct {
		id, title, zone, description string
		hour                         int
	}
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"}
	var sessions []session
	for i := range 30 {
		sessions = append(sessions, session{fmt.Sprint("s", i), fmt.Sprint("Session ", i), zones[i%3], "", 18})
	}
	name, description, url, organizer, location := "Group", "", "https://a.example.org", "", ""
	seriesTitle, moved := "Weekly", []int{2}
	text := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "[calendar]\nname = %q\ntimezone = \"Europe/Berlin\"\nurl = %q\n", name, url)
		if description != "" {
			fmt.Fprintf(&b, "description = %q\n", description)
		}
		if organizer != "" {
			fmt.Fprintf(&b, "organizer = { name = \"Org\", email = %q }\n", organizer)
		}
		if location != "" {
			fmt.Fprintf(&b, "location = %q\n", location)
		}
		fmt.Fprintf(&b, "\n[[series]]\nid = \"weekly\"\ntitle = %q\nstart = 2030-03-03T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=10\"\n", seriesTitle)
		for _, k := range moved {
			day := time.Date(2030, 3, 3, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*k).Format("2006-01-02")
			fmt.Fprintf(&b, "\n[[series.changes]]\noccurrence = %s\nstart = %sT20:00:00\n", day, day)
		}
		for i, ss := range sessions {
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = 2030-%02d-%02dT%02d:00:00\ntimezone = %q\n",
				ss.id, ss.title, 1+i%12, 1+i%28, ss.hour, ss.zone)
			if ss.description != "" {
				fmt.Fprintf(&b, "description = %q\n", ss.description)
			}
		}
		return b.String()
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var prev *Set
	var prevSched *schedule.Schedule
	next := 30
	var h Handler
	var served map[string]Doc // by the handler, the round before
	spliced := 0
	for round := range 60 {
		switch k := rng.IntN(16); {
		case k < 4:
			i := rng.IntN(len(sessions))
			sessions[i].title = fmt.Sprintf("Session %d, round %d", i, round)
		case k == 4:
			sessions[rng.IntN(len(sessions))].hour = 10 + rng.IntN(10)
		case k == 5:
			sessions[rng.IntN(len(sessions))].zone = zones[rng.IntN(len(zones))]
		case k == 6:
			sessions = append(sessions, session{fmt.Sprint("s", next), fmt.Sprint("Added ", next), zones[next%4], "", 12})
			next++
		case k == 7:
			i := rng.IntN(len(sessions))
			sessions = append(sessions[:i], sessions[i+1:]...)
		case k == 8:
			name = fmt.Sprint("Group ", round)
		case k == 9:
			url = fmt.Sprintf("https://%c.example.org", 'a'+rune(round%3))
		case k == 10:
			sessions[rng.IntN(len(sessions))].description = fmt.Sprint("Round ", round)
		case k == 11: // a session moved to the end of the file
			i := rng.IntN(len(sessions))
			sessions = append(append(sessions[:i:i], sessions[i+1:]...), sessions[i])
		case k == 12:
			description, organizer = fmt.Sprint("About round ", round), fmt.Sprintf("org%d@example.org", rng.IntN(2))
		case k == 13:
			location = fmt.Sprint("Room ", rng.IntN(3))
		case k == 14:
			seriesTitle, moved = fmt.Sprint("Weekly ", rng.IntN(2)), []int{rng.IntN(9) + 1}
		}
		now = now.Add(time.Duration(rng.IntN(2)) * time.Second)
		data := []byte(text())
		s, err := schedule.Reparse(prevSched, "events.toml", data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Update(ctx, prev, s, incr, now)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := schedule.Parse("events.toml", data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Render(ctx, fresh, full, now)
		if err != nil {
			t.Fatal(err)
		}
		gd, wd := got.Docs(), want.Docs()
		if len(gd) != len(wd) {
			t.Fatalf("round %d: %d documents, want %d", round, len(gd), len(wd))
		}
		for path, w := range wd {
			g := gd[path]
			if string(g.Bytes()) != string(w.Bytes()) || g.ETag != w.ETag || !g.Modified.Equal(w.Modified) {
				t.Fatalf("round %d: %s differs from a render from scratch", round, path)
			}
		}
		for _, o := range fresh.Expand(time.Time{}, horizon) {
			if rng.IntN(4) > 0 {
				continue // a sample is enough
			}
			if string(got.Event(o)) != string(want.Event(o)) || got.Sequence(o) != want.Sequence(o) {
				t.Fatalf("round %d: the event of %s differs from a render from scratch", round, o.Key())
			}
		}
		if _, ok := s.SpliceOf(prevSched); ok {
			spliced++
		}
		// The handler, swapped from set to set as serve does, serves
		// the documents of the render from scratch, and no others.
		h.Swap(got)
		for path, w := range wd {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Body.String() != string(w.Bytes()) || rec.Header().Get("Etag") != w.ETag {
				t.Fatalf("round %d: the handler serves %s otherwise than a render from scratch", round, path)
			}
		}
		for path := range served {
			if _, ok := wd[path]; !ok {
				rec := httptest.NewRecorder()
				if h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil)); rec.Code != 404 {
					t.Fatalf("round %d: the handler answers %d for %s, which is gone", round, rec.Code, path)
				}
			}
		}
		served = wd
		prev, prevSched = got, s
	}
	if spliced < 20 {
		t.Errorf("%d of 60 schedules were spliced from the one before", spliced)
	}
}
