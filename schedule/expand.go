package schedule

import (
	"sort"
	"time"
)

// Occurrence is one meeting, with exact instants and every field resolved
// against the series and calendar defaults.
type Occurrence struct {
	ID     string // the session's or series' id
	Series bool
	// Original is, for a series, the original start as wall clock in
	// the series' zone (UTC for a series with an offset start), which
	// the feed writes as RECURRENCE-ID.
	Original time.Time
	Start    time.Time // exact instants, in Zone
	End      time.Time
	Zone     *time.Location
	Fit      Fit  // how the original start fit the zone
	Changed  bool // a [[series.changes]] entry applies
	Details
}

// Key identifies an occurrence across reloads: the id, and for a series
// the original start.
func (o Occurrence) Key() string {
	if !o.Series {
		return o.ID
	}
	return o.ID + "/" + o.Original.Format("20060102T150405")
}

// MeetingPath is the path of the page of one meeting, given its Key, or
// of a series, given its id, on the web page: /meetings/{key}. The
// feed's URL property, the reminders and the page's archive all link to
// it.
func MeetingPath(key string) string { return "/meetings/" + key }

// Expand returns the occurrences that overlap [from, to), sorted by start.
// It is the one place where instants are computed: the feed, the page and
// the reminders all use it.
func (s *Schedule) Expand(from, to time.Time) []Occurrence {
	var out []Occurrence
	for i := range s.Sessions {
		ss := s.Sessions[i]
		if end := ss.End(); !end.IsZero() && !(end.After(from) && end.Add(-ss.Duration).Before(to)) {
			continue // known to be outside without building it
		}
		if o := s.Single(ss); overlaps(o, from, to) {
			out = append(out, o)
		}
	}
	return sorted(append(out, s.expandSeries(from, to)...))
}

// ExpandSeries is Expand for the series alone.
func (s *Schedule) ExpandSeries(from, to time.Time) []Occurrence {
	return sorted(s.expandSeries(from, to))
}

func (s *Schedule) expandSeries(from, to time.Time) []Occurrence {
	var out []Occurrence
	keep := func(o Occurrence) {
		if overlaps(o, from, to) {
			out = append(out, o)
		}
	}
	for i := range s.Series {
		sr := &s.Series[i]
		if sr.rule.r == nil {
			continue
		}
		wallZone := sr.wallZone()
		skip := map[time.Time]bool{}
		for _, w := range sr.Skip {
			skip[w] = true
		}
		for _, o := range s.Changed(sr) {
			skip[o.Original] = true
			keep(o)
		}
		a := Wall(from, wallZone).Add(-sr.Duration - 48*time.Hour)
		b := Wall(to, wallZone).Add(48 * time.Hour)
		for _, w := range sr.rule.between(a, b) {
			if !skip[w] {
				keep(sr.occurrence(s, Change{Original: w, Duration: sr.Duration}))
			}
		}
	}
	return out
}

func overlaps(o Occurrence, from, to time.Time) bool {
	return o.End.After(from) && o.Start.Before(to)
}

// sorted sorts occurrences by start, then by key.
func sorted(out []Occurrence) []Occurrence {
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Key() < out[j].Key()
	})
	return out
}

func (sr *Series) wallZone() *time.Location {
	if sr.Start.Fixed {
		return time.UTC
	}
	return sr.Zone
}

// occurrence builds one occurrence of sr, changed by c.
func (sr *Series) occurrence(s *Schedule, c Change) Occurrence {
	orig, fit := Resolve(c.Original, sr.wallZone())
	var at time.Time
	switch {
	case !c.Start.Wall.IsZero():
		at = c.Start.instant(sr.Zone)
	case sr.Start.Fixed:
		at = Time{Wall: c.Original, Fixed: true}.instant(sr.Zone)
	default: // at its original wall clock, in the zone just resolved
		at = orig
	}
	o := s.occurrenceAt(sr.ID, true, sr.Zone, at, c.Duration, sr.Details.merge(c.Details))
	o.Original, o.Fit = c.Original, fit
	return o
}

func (s *Schedule) occurrence(id string, series bool, zone *time.Location, start Time, dur time.Duration, d Details) Occurrence {
	return s.occurrenceAt(id, series, zone, start.instant(zone), dur, d)
}

func (s *Schedule) occurrenceAt(id string, series bool, zone *time.Location, at time.Time, dur time.Duration, d Details) Occurrence {
	if d.Location == "" {
		d.Location = s.Calendar.Location
	}
	if d.Status == "" {
		d.Status = Confirmed
	}
	return Occurrence{ID: id, Series: series, Start: at, End: at.Add(dur), Zone: zone, Details: d}
}

// Single returns the occurrence of a one-off session.
func (s *Schedule) Single(ss *Session) Occurrence {
	end := ss.End()
	if end.IsZero() { // not read from a file
		return s.occurrence(ss.ID, false, ss.Zone, ss.Start, ss.Duration, ss.Details)
	}
	// The start's instant was found when the file was read (End is it
	// plus Duration): the zone's rules need not be searched again, for
	// each session, on each Expand.
	return s.occurrenceAt(ss.ID, false, ss.Zone, end.Add(-ss.Duration), ss.Duration, ss.Details)
}

// Master returns the occurrence that a series' own fields describe, at
// its first start: what the feed writes as the series' VEVENT.
func (s *Schedule) Master(sr *Series) Occurrence {
	return sr.occurrence(s, Change{Original: sr.Start.Wall, Duration: sr.Duration})
}

// Changed returns the occurrences of sr that its changes alter.
func (s *Schedule) Changed(sr *Series) []Occurrence {
	out := make([]Occurrence, len(sr.Changes))
	for i, c := range sr.Changes {
		out[i] = sr.occurrence(s, c)
		out[i].Changed = true
	}
	return out
}

// Originals returns the original starts of sr's rule up to to, as wall
// clock like Series.Skip, skipped and changed ones included: what a
// client's RRULE iterator walks through.
func (sr *Series) Originals(to time.Time) []time.Time {
	if sr.rule.r == nil {
		return nil
	}
	return sr.rule.between(sr.Start.Wall, Wall(to, sr.wallZone()))
}
