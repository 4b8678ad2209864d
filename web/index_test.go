package web

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/schedule/scheduletest"
)

// TestIndexMatchesAnew: over random edits of the sessions (titles,
// times moved into the past and the future, cancellations, recordings,
// sessions added and removed), read by Reparse as a reload does, and
// time moving on, the landing page built from the index kept from the
// schedule before is the page built from an index made anew, and the
// page built from every session.
func TestIndexMatchesAnew(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	sessions := scheduletest.New("[calendar]\nname = \"G\"\ntimezone = \"Europe/Berlin\"\n\n[[series]]\nid = \"monthly\"\ntitle = \"Monthly\"\nstart = 2030-01-05T19:00:00\nrrule = \"FREQ=MONTHLY;COUNT=20\"\n", 40, 20, 800)
	now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	var prev *schedule.Schedule
	var idx *index
	kept := 0
	for round := range 300 {
		if !sessions.Edit(rng, round) {
			now = now.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
		}
		s, err := schedule.Reparse(prev, "events.toml", []byte(sessions.Text()))
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
