package feed

import (
	"slices"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/schedule"
)

// A series whose rule gives a wall clock in a spring-forward gap is
// written as segments, so that no client's RRULE iterator meets the gap:
// libical (Evolution, GNOME Calendar) moves such a wall clock past the
// gap and carries it on to the next occurrence, an hour late, and matches
// no RECURRENCE-ID or EXDATE to the moved instance. Its iterator builds
// each period of a rule (the year of a YEARLY rule, the month of a
// MONTHLY one, ...) whole, so a gap anywhere in the period spoils the
// period's other occurrences too; and it steps across a day that a zone
// skips (Samoa, 30 December 2011) a day late, spoiling the periods on
// both sides of it.
//
// So the occurrences of a spoilt period are written as RDATEs that state
// their instants (a gap one as the wall clock after the gap, which names
// it alone), and each run of the others as a VEVENT whose RRULE ends
// (UNTIL) at the run's last occurrence, followed by the RDATEs after it.
// The first VEVENT keeps the series' UID, so existing subscribers keep
// the series; later ones have a UID derived from it and from their first
// occurrence, stable as long as the rule, start and zone are: skips and
// changes do not move them.

// segment is one VEVENT of a series.
type segment struct {
	uid    string
	first  time.Time          // original start of its first occurrence: DTSTART
	rule   string             // its RRULE
	rdates []time.Time        // original starts it adds as RDATE
	rdate  map[time.Time]bool // the same, as a set
}

// oneRule is the RRULE of a segment whose other occurrences are all
// RDATEs: it keeps the VEVENT recurring, so that overrides and EXDATE
// apply to it as to the others.
const oneRule = "FREQ=DAILY;COUNT=1"

// segments returns the VEVENTs sr is written as: one, unless its rule
// meets a spring-forward gap or a skipped day before the horizon.
func (r *renderer) segments(sr *schedule.Series) []segment {
	if segs, ok := r.segs[sr.ID]; ok {
		return segs
	}
	uid := r.s.UID(sr.ID)
	whole := []segment{{uid: uid, first: sr.Start.Wall, rule: sr.Rule()}}
	if sr.Start.Fixed {
		r.segs[sr.ID] = whole
		return whole
	}
	walls := sr.Originals(horizon)
	at := make([]time.Time, len(walls))
	gap := make([]bool, len(walls))
	var spoilt []time.Time   // walls whose period libical gets wrong
	var jumps [][2]time.Time // the offsets that follow a skipped day
	for i, w := range walls {
		var fit schedule.Fit
		at[i], fit = schedule.Resolve(w, sr.Zone)
		gap[i] = fit == schedule.Gap
		if gap[i] {
			spoilt = append(spoilt, w)
		}
		if i > 0 {
			_, a := at[i-1].Zone()
			_, b := at[i].Zone()
			if b-a >= 24*3600 { // a skipped day lies between them
				spoilt = append(spoilt, walls[i-1], w)
				_, end := at[i].ZoneBounds()
				jumps = append(jumps, [2]time.Time{at[i], end})
			}
		}
	}
	if len(spoilt) == 0 {
		r.segs[sr.ID] = whole
		return whole
	}
	// loose: an occurrence the feed states as an RDATE, as its period
	// holds a gap occurrence or a skipped day.
	loose := make([]bool, len(walls))
	for i, w := range walls {
		// dateutil (python vobject) cannot take a DTSTART under the
		// offset after a skipped day: it takes the day as that
		// offset's DST, and a DST of a day raises.
		loose[i] = gap[i] ||
			slices.ContainsFunc(jumps, func(j [2]time.Time) bool { return !at[i].Before(j[0]) && at[i].Before(j[1]) }) ||
			slices.ContainsFunc(spoilt, func(x time.Time) bool { return samePeriod(sr.Rule(), x, w) })
	}
	var segs []segment
	for i := 0; i < len(walls); {
		seg := segment{uid: uid, first: walls[i], rdate: map[time.Time]bool{}}
		if i > 0 {
			seg.uid = r.s.UID(sr.ID + "." + walls[i].Format(localFormat))
		}
		j := i // a run the RRULE states, then a run of RDATEs
		for j < len(walls) && !loose[j] {
			j++
		}
		if j == i {
			j++ // DTSTART states a loose first occurrence
		}
		k := j
		for k < len(walls) && loose[k] {
			k++
		}
		switch {
		case loose[i]:
			seg.rule = oneRule
		case j == len(walls): // the rest of the series
			seg.rule = restRule(sr.Rule(), i)
		default:
			seg.rule = untilRule(sr.Rule(), at[j-1])
		}
		seg.rdates = walls[j:k]
		for _, w := range seg.rdates {
			seg.rdate[w] = true
		}
		segs = append(segs, seg)
		i = k
	}
	r.segs[sr.ID] = segs
	return segs
}

// samePeriod reports whether a and b fall in one period of rule's
// frequency: year, month, week (from WKST) or day.
func samePeriod(rule string, a, b time.Time) bool {
	freq, wkst := "", time.Monday
	for _, p := range strings.Split(rule, ";") {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "FREQ":
			freq = v
		case "WKST":
			for d, name := range []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"} {
				if v == name {
					wkst = time.Weekday(d)
				}
			}
		}
	}
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	switch freq {
	case "YEARLY":
		return a.Year() == b.Year()
	case "MONTHLY":
		return a.Year() == b.Year() && a.Month() == b.Month()
	case "WEEKLY":
		week := func(t time.Time) time.Time {
			d := day(t)
			return d.AddDate(0, 0, -((int(d.Weekday()) - int(wkst) + 7) % 7))
		}
		return week(a).Equal(week(b))
	}
	return day(a).Equal(day(b))
}

// withoutEnd returns the parts of an RRULE other than COUNT and UNTIL.
func withoutEnd(rule string) []string {
	var parts []string
	for _, p := range strings.Split(rule, ";") {
		if !strings.HasPrefix(p, "COUNT=") && !strings.HasPrefix(p, "UNTIL=") {
			parts = append(parts, p)
		}
	}
	return parts
}

// untilRule returns rule ending at the instant until.
func untilRule(rule string, until time.Time) string {
	return strings.Join(append(withoutEnd(rule), "UNTIL="+until.UTC().Format(utcFormat)), ";")
}

// restRule returns rule for the segment that starts at its occurrence
// number done (from 0): a COUNT counts only the occurrences left.
func restRule(rule string, done int) string {
	for _, p := range strings.Split(rule, ";") {
		if n, ok := strings.CutPrefix(p, "COUNT="); ok {
			count, _ := strconv.Atoi(n)
			return strings.Join(append(withoutEnd(rule), "COUNT="+strconv.Itoa(count-done)), ";")
		}
	}
	return rule
}

// segmentOf returns the segment of sr that holds the occurrence whose
// original start is wall.
func (r *renderer) segmentOf(sr *schedule.Series, wall time.Time) segment {
	segs := r.segments(sr)
	seg := segs[0]
	for _, s := range segs[1:] {
		if !s.first.After(wall) {
			seg = s
		}
	}
	return seg
}

// segmentStart returns the first occurrence of seg, with the series'
// own fields: what its VEVENT describes.
func (r *renderer) segmentStart(sr *schedule.Series, seg segment) schedule.Occurrence {
	o := r.s.Master(sr)
	if !seg.first.Equal(o.Original) {
		at, fit := schedule.Resolve(seg.first, sr.Zone)
		o.Original, o.Start, o.End, o.Fit = seg.first, at, at.Add(sr.Duration), fit
	}
	return o
}

// uid returns the UID of the VEVENT that holds o.
func (r *renderer) uid(o schedule.Occurrence) string {
	if o.Series {
		if sr := r.series(o.ID); sr != nil {
			return r.segmentOf(sr, o.Original).uid
		}
	}
	if r.uidSuffix != "" { // found once per render, not once per event
		return o.ID + r.uidSuffix
	}
	return r.s.UID(o.ID)
}

// inGap reports whether sr's occurrence at wall is in a gap.
func (r *renderer) inGap(sr *schedule.Series, wall time.Time) bool {
	_, fit := schedule.Resolve(wall, sr.Zone)
	return fit == schedule.Gap
}

// originalTime adds a property naming sr's occurrence whose original
// start is wall (DTSTART, RDATE, EXDATE, RECURRENCE-ID), the same way
// wherever it is named: as the wall clock, or, for a DTSTART or RDATE
// that is not in its segment's RRULE, as the instant (see segments).
func (r *renderer) originalTime(c *ics.ComponentBase, name ics.ComponentProperty, sr *schedule.Series, wall time.Time) {
	seg := r.segmentOf(sr, wall)
	if !sr.Start.Fixed && (seg.rdate[wall] || wall.Equal(seg.first) && r.inGap(sr, wall)) {
		at, _ := schedule.Resolve(wall, sr.Zone)
		dateTime(c, name, at, sr.Zone, false)
		return
	}
	wallTime(c, name, wall, sr.Zone, sr.Start.Fixed)
}
