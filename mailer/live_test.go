package mailer

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

// TestLiveAtMatchesExpand: over random edits of the sessions (titles,
// times moved near and far, sessions added and removed), read by Reparse
// as a reload does, and time moving on, the occurrences a snapshot holds
// as live, found from the snapshot before, are those Expand finds in
// the window.
func TestLiveAtMatchesExpand(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type session struct {
		id, title string
		day       int // from the start of 2030
	}
	var sessions []session
	for i := range 40 {
		sessions = append(sessions, session{fmt.Sprint("s", i), fmt.Sprint("Session ", i), i * 30})
	}
	text := func() string {
		var b strings.Builder
		b.WriteString("[calendar]\nname = \"G\"\ntimezone = \"Europe/Berlin\"\n\n[[series]]\nid = \"weekly\"\ntitle = \"Weekly\"\nstart = 2030-01-06T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=200\"\n")
		for _, ss := range sessions {
			start := time.Date(2030, 1, 1, 18, 0, 0, 0, time.UTC).AddDate(0, 0, ss.day).Format("2006-01-02T15:04:05")
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = %s\n", ss.id, ss.title, start)
		}
		return b.String()
	}
	now := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	const span = 200 * 24 * time.Hour // shorter than liveSpan, for sessions to come into it
	var prev *snapshot
	var prevSched *schedule.Schedule
	next, kept := 40, 0
	for round := range 300 {
		i := rng.IntN(len(sessions))
		switch rng.IntN(6) {
		case 0, 1:
			sessions[i].title = fmt.Sprint("Title ", round)
		case 2:
			sessions[i].day = rng.IntN(1500)
		case 3:
			sessions = slices.Insert(sessions, i, session{fmt.Sprint("a", next), "Added", rng.IntN(1500)})
			next++
		case 4:
			if len(sessions) > 10 {
				sessions = slices.Delete(sessions, i, i+1)
			}
		case 5:
			now = now.Add(time.Duration(rng.IntN(20*24)) * time.Hour)
		}
		s, err := schedule.Reparse(prevSched, "events.toml", []byte(text()))
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
