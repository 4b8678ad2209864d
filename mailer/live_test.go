package mailer

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/schedule/scheduletest"
)

// TestLiveAtMatchesExpand: over random edits of the sessions (titles,
// times moved near and far, cancellations, recordings, sessions added
// and removed: scheduletest.Sessions.Edit), read by Reparse
// as a reload does, and time moving on, the occurrences a snapshot holds
// as live, found from the snapshot before, are those Expand finds in
// the window.
func TestLiveAtMatchesExpand(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	sessions := scheduletest.New("[calendar]\nname = \"G\"\ntimezone = \"Europe/Berlin\"\n\n[[series]]\nid = \"weekly\"\ntitle = \"Weekly\"\nstart = 2030-01-06T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=200\"\n", 40, 30, 1500)
	now := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	const span = 200 * 24 * time.Hour // shorter than liveSpan, for sessions to come into it
	var prev *snapshot
	var prevSched *schedule.Schedule
	kept := 0
	for round := range 300 {
		if !sessions.Edit(rng, round) {
			now = now.Add(time.Duration(rng.IntN(20*24)) * time.Hour)
		}
		s, err := schedule.Reparse(prevSched, "events.toml", []byte(sessions.Text()))
		if err != nil {
			t.Fatal(err)
		}
		from, to := now.Add(-time.Hour), now.Add(span)
		sn := liveAt(prev, s, from, to)
		if _, spliced := s.SpliceOf(prevSched); spliced && (prev.beyond.IsZero() || !prev.beyond.Before(to)) {
			kept++ // found from prev
		}
		want := map[string]schedule.Occurrence{}
		for _, o := range s.Expand(from, to) {
			want[o.Key()] = o
		}
		if !maps.EqualFunc(sn.live, want, func(a, b schedule.Occurrence) bool { return reflect.DeepEqual(a, b) }) {
			t.Fatalf("round %d: %d live occurrences, Expand finds %d (or others)", round, len(sn.live), len(want))
		}
		prev, prevSched = sn, s
	}
	if kept < 100 {
		t.Errorf("the live occurrences were found from the snapshot before %d times of 300", kept)
	}
}
