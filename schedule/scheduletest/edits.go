// Package scheduletest makes a schedule of sessions and random edits of
// it, written as events.toml, for the generated tests of what is kept
// from one reload to the next (the mailer's window of meetings, the
// landing page's index).
package scheduletest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Session is one generated session.
type Session struct {
	ID, Title string
	Day       int // days from 2030-01-01; it starts at 18:00
	Cancelled bool
	Recorded  bool
}

// Sessions is a schedule of generated sessions after a head (the
// calendar and any series), edited at random.
type Sessions struct {
	Head string
	List []Session
	Days int // a session moved or added starts on a day in [0, Days)
	next int // the number of the next session added
}

// New returns n sessions, s0, s1, ..., one every spacing days from
// 2030-01-01, after head; moved and added ones fall within days.
func New(head string, n, spacing, days int) *Sessions {
	ss := &Sessions{Head: head, Days: days, next: n}
	for i := range n {
		ss.List = append(ss.List, Session{ID: fmt.Sprint("s", i), Title: fmt.Sprint("Session ", i), Day: i * spacing})
	}
	return ss
}

// Text returns the schedule as events.toml.
func (ss *Sessions) Text() string {
	var b strings.Builder
	b.WriteString(ss.Head)
	for _, s := range ss.List {
		start := time.Date(2030, 1, 1, 18, 0, 0, 0, time.UTC).AddDate(0, 0, s.Day).Format("2006-01-02T15:04:05")
		fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = %s\n", s.ID, s.Title, start)
		if s.Cancelled {
			b.WriteString("status = \"cancelled\"\n")
		}
		if s.Recorded {
			fmt.Fprintf(&b, "recording = { url = \"https://example.org/%s.mp3\", type = \"audio/mpeg\", length = 1000 }\n", s.ID)
		}
	}
	return b.String()
}

// Edit makes one random edit of a session, round numbering it: its
// title (twice as often as each other edit), its day, its cancellation
// or its recording, a session added before it, or it removed (while
// more than 10 are left). One time in 8 it changes nothing and returns
// false: the caller lets time move on instead.
func (ss *Sessions) Edit(rng *rand.Rand, round int) bool {
	i := rng.IntN(len(ss.List))
	s := &ss.List[i]
	switch rng.IntN(8) {
	case 0, 1:
		s.Title = fmt.Sprint("Title ", round)
	case 2:
		s.Day = rng.IntN(ss.Days)
	case 3:
		s.Cancelled = !s.Cancelled
	case 4:
		s.Recorded = !s.Recorded
	case 5:
		ss.List = slices.Insert(ss.List, i, Session{ID: fmt.Sprint("a", ss.next), Title: "Added", Day: rng.IntN(ss.Days)})
		ss.next++
	case 6:
		if len(ss.List) > 10 {
			ss.List = slices.Delete(ss.List, i, i+1)
		}
	case 7:
		return false
	}
	return true
}
