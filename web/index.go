package web

import (
	"maps"
	"slices"
	"time"

	"github.com/convene/convene/schedule"
)

// index is what the landing page reads of a schedule's one-off sessions,
// kept from one schedule to the next so that an edit of a few sessions
// does not cost a pass over all of them: the sessions that had not ended
// at the time the index was made (they may have since), the latest
// meetings that had, the count by year of the others, and the sessions
// with recordings. The page reads these as a schedule of those sessions
// alone (sub), with the same functions as for a whole schedule.
type index struct {
	sched    *schedule.Schedule
	at       time.Time
	ahead    []*schedule.Session // not ended at at, or not read from a file
	latest   []*schedule.Session // the latest maxArchive ended at at, newest first
	years    map[int]int         // the others ended at at and not cancelled, by year
	recorded []*schedule.Session
}

// indexAt returns the index of s at time now, from prev (the index of
// the schedule served, or nil) when s was spliced from prev's schedule
// and the splice left the latest meetings alone, else made anew.
func indexAt(prev *index, s *schedule.Schedule, now time.Time) *index {
	if prev == nil || now.Before(prev.at) || stale(prev, now) {
		return newIndex(s, now)
	}
	if prev.sched == s {
		return prev
	}
	sp, ok := s.SpliceOf(prev.sched)
	if !ok {
		return newIndex(s, now)
	}
	removed := map[*schedule.Session]bool{}
	for _, ss := range prev.sched.Sessions[sp.From:sp.To] {
		if slices.Contains(prev.latest, ss) {
			return newIndex(s, now) // the latest are found again
		}
		removed[ss] = true
	}
	idx := &index{sched: s, at: prev.at, latest: slices.Clone(prev.latest), years: maps.Clone(prev.years)}
	keep := func(ss *schedule.Session) bool { return !removed[ss] }
	idx.ahead = filter(prev.ahead, keep)
	idx.recorded = filter(prev.recorded, keep)
	for ss := range removed {
		if y, ok := idx.year(ss); ok && !idx.isAhead(ss) {
			idx.years[y]--
		}
	}
	for _, ss := range s.Sessions[sp.From : sp.From+sp.N] {
		idx.add(ss)
	}
	return idx
}

// stale reports whether most of what idx holds as ahead has ended by
// now: the index is then made anew rather than read through.
func stale(idx *index, now time.Time) bool {
	ended := 0
	for _, ss := range idx.ahead {
		if end := ss.End(); !end.IsZero() && !end.After(now) {
			ended++
		}
	}
	return ended > 64 && ended > len(idx.ahead)/2
}

// newIndex makes the index of s at now, from every session.
func newIndex(s *schedule.Schedule, now time.Time) *index {
	idx := &index{sched: s, at: now, years: map[int]int{}}
	for _, ss := range s.Sessions {
		idx.add(ss)
	}
	return idx
}

// isAhead reports whether ss belongs in ahead.
func (idx *index) isAhead(ss *schedule.Session) bool {
	end := ss.End()
	return end.IsZero() || end.After(idx.at)
}

// year returns the archive's year of ss, read from a file, and whether
// ss is in the archive at all (not cancelled), as yearOf does.
func (idx *index) year(ss *schedule.Session) (int, bool) {
	end := ss.End()
	if end.IsZero() || ss.Status == schedule.Cancelled {
		return 0, false
	}
	return end.Add(-ss.Duration).In(idx.sched.Calendar.Zone).Year(), true
}

// add puts ss, a session of idx.sched, where it belongs.
func (idx *index) add(ss *schedule.Session) {
	if len(ss.Recordings) > 0 {
		idx.recorded = append(idx.recorded, ss)
	}
	if idx.isAhead(ss) {
		idx.ahead = append(idx.ahead, ss)
		return
	}
	if _, ok := idx.year(ss); !ok {
		return
	}
	// Among the latest, newest first; the one it pushes out is counted.
	i := len(idx.latest)
	for i > 0 && newerSession(idx.sched, ss, idx.latest[i-1]) {
		i--
	}
	idx.latest = slices.Insert(idx.latest, i, ss)
	if len(idx.latest) > maxArchive {
		out := idx.latest[maxArchive]
		idx.latest = idx.latest[:maxArchive]
		y, _ := idx.year(out)
		idx.years[y]++
	}
}

// newerSession reports whether a comes before b in the archive.
func newerSession(s *schedule.Schedule, a, b *schedule.Session) bool {
	return newer(s.Single(a), s.Single(b))
}

// sub returns idx.sched with the sessions given instead of all of its
// own.
func (idx *index) sub(sessions ...[]*schedule.Session) *schedule.Schedule {
	sub := *idx.sched
	sub.Sessions = slices.Concat(sessions...)
	return &sub
}

func filter(l []*schedule.Session, keep func(*schedule.Session) bool) []*schedule.Session {
	out := make([]*schedule.Session, 0, len(l))
	for _, ss := range l {
		if keep(ss) {
			out = append(out, ss)
		}
	}
	return out
}
