package web

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

// TestIndexMatchesAnew: over random edits of the sessions (titles,
// times moved into the past and the future, cancellations, recordings,
// sessions added and removed), read by Reparse as a reload does, and
// time moving on, the landing page built from the index kept from the
// schedule before is the page built from an index made anew, and the
// page built from every session.
func TestIndexMatchesAnew(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	type session struct {
		id, title string
		day       int // days from the start of 2030
		cancelled bool
		recorded  bool
	}
	var sessions []session
	for i := range 40 {
		sessions = append(sessions, session{id: fmt.Sprint("s", i), title: fmt.Sprint("Session ", i), day: i * 20})
	}
	text := func() string {
		var b strings.Builder
		b.WriteString("[calendar]\nname = \"G\"\ntimezone = \"Europe/Berlin\"\n\n[[series]]\nid = \"monthly\"\ntitle = \"Monthly\"\nstart = 2030-01-05T19:00:00\nrrule = \"FREQ=MONTHLY;COUNT=20\"\n")
		for _, ss := range sessions {
			start := time.Date(2030, 1, 1, 18, 0, 0, 0, time.UTC).AddDate(0, 0, ss.day).Format("2006-01-02T15:04:05")
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = %s\n", ss.id, ss.title, start)
			if ss.cancelled {
				b.WriteString("status = \"cancelled\"\n")
			}
			if ss.recorded {
				fmt.Fprintf(&b, "recording = { url = \"https://example.org/%s.mp3\", type = \"audio/mpeg\", length = 1000 }\n", ss.id)
			}
		}
		return b.String()
	}
	now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	var prev *schedule.Schedule
	var idx *index
	next, kept := 40, 0
	for round := range 300 {
		i := rng.IntN(len(sessions))
		switch k := rng.IntN(8); k {
		case 0, 1:
			sessions[i].title = fmt.Sprint("Title ", round)
		case 2:
			sessions[i].day = rng.IntN(800)
		case 3:
			sessions[i].cancelled = !sessions[i].cancelled
		case 4:
			sessions[i].recorded = !sessions[i].recorded
		case 5:
			sessions = slices.Insert(sessions, i, session{id: fmt.Sprint("a", next), title: "Added", day: rng.IntN(800)})
			next++
		case 6:
			if len(sessions) > 10 {
				sessions = slices.Delete(sessions, i, i+1)
			}
		case 7:
			now = now.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
		}
		s, err := schedule.Reparse(prev, "events.toml", []byte(text()))
		if err != nil {
			t.Fatal(err)
		}
		before := idx
		idx = indexAt(idx, s, now)
		if before != nil && idx.at.Equal(before.at) {
			kept++
		}
		got, gotExpires := build(idx, "https://g.example.org", now, zoneList)
		// Every session read, as the page did before it had an index.
		every := &index{sched: s, ahead: s.Sessions, recorded: s.Sessions}
		for _, base := range []*index{newIndex(s, now), every} {
			want, wantExpires := build(base, "https://g.example.org", now, zoneList)
			if !reflect.DeepEqual(got, want) || !gotExpires.Equal(wantExpires) {
				t.Fatalf("round %d: the page from the index kept differs:\n%+v\n%+v", round, got, want)
			}
		}
		prev = s
	}
	if kept < 100 {
		t.Errorf("the index was kept %d times of 300", kept)
	}
}
