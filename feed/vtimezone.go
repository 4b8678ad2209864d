package feed

import (
	"fmt"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/schedule"
)

// transition is one change of a zone's UTC offset, name or DST flag.
type transition struct {
	at       time.Time // the instant of the change
	from, to int       // UTC offsets in seconds
	name     string    // TZNAME after the change
	dst      bool
}

// local is the onset as wall clock in the offset in force before it,
// which is how an observance's DTSTART is written.
func (t transition) local() time.Time {
	return t.at.In(time.FixedZone("", t.from))
}

// transitions lists loc's changes in [from, to), preceded by the one
// that set the rules in force at from. Go reports period bounds at each
// new year where a zone follows its POSIX rule; bounds that change
// nothing are not transitions and are passed over.
func transitions(loc *time.Location, from, to time.Time) []transition {
	state := func(t time.Time) (string, int, bool) {
		name, off := t.In(loc).Zone()
		return name, off, t.In(loc).IsDST()
	}
	// Walk back to the real onset of the rules in force at from.
	onset, _ := from.In(loc).ZoneBounds()
	for !onset.IsZero() {
		n0, o0, d0 := state(onset)
		n1, o1, d1 := state(onset.Add(-time.Second))
		if n0 != n1 || o0 != o1 || d0 != d1 {
			break
		}
		onset, _ = onset.Add(-time.Second).ZoneBounds()
	}
	name, off, dst := state(from)
	var out []transition
	if onset.IsZero() {
		// No change before from: an observance from long ago.
		out = append(out, transition{at: time.Date(1601, 1, 1, 0, 0, 0, 0, time.FixedZone("", off)), from: off, to: off, name: name, dst: dst})
	} else {
		_, prev, _ := state(onset.Add(-time.Second))
		out = append(out, transition{at: onset, from: prev, to: off, name: name, dst: dst})
	}
	for t := from; ; {
		_, next := t.In(loc).ZoneBounds()
		if !next.IsZero() && !next.After(t) {
			// Go (1.26) reports the last explicit transition's period
			// as ending at a new year, and for up to a day after that
			// instant reports the same period again. Step an hour at
			// a time until it reports the periods its POSIX rule
			// describes.
			next = t.Add(time.Hour)
			if start, _ := next.In(loc).ZoneBounds(); start.After(t) {
				next = start
			}
		}
		if next.IsZero() || !next.Before(to) {
			return out
		}
		n, o, d := state(next)
		if n != name || o != off || d != dst {
			out = append(out, transition{at: next, from: off, to: o, name: n, dst: d})
			name, off, dst = n, o, d
		}
		t = next
	}
}

// run is a set of transitions that one yearly RRULE describes.
type run struct {
	first, last transition
	n           int
	rules       []string // the BYDAY or BYMONTHDAY parts that fit every one
}

// yearlyRules returns the RRULE parts that place t's local date within
// its month: nth weekday, last weekday, day of month.
func yearlyRules(t transition) []string {
	d := t.local()
	wd := [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[d.Weekday()]
	rules := []string{fmt.Sprintf("BYDAY=%d%s", (d.Day()-1)/7+1, wd)}
	if d.AddDate(0, 0, 7).Month() != d.Month() {
		rules = append(rules, "BYDAY=-1"+wd)
	}
	return append(rules, fmt.Sprintf("BYMONTHDAY=%d", d.Day()))
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}

// same reports whether a and b are the same kind of change, such that a
// yearly rule may hold both.
func same(a, b transition) bool {
	la, lb := a.local(), b.local()
	return a.from == b.from && a.to == b.to && a.name == b.name && a.dst == b.dst &&
		la.Month() == lb.Month() && la.Hour() == lb.Hour() && la.Minute() == lb.Minute() && la.Second() == lb.Second()
}

// runs groups ts into yearly runs: a transition joins the latest run of
// its kind when it falls in the next year on a day the run's rule names.
func runs(ts []transition) []*run {
	var out []*run
	open := map[string]*run{} // kind -> run still open
	for _, t := range ts {
		key := fmt.Sprintf("%d/%d/%s/%v/%s", t.from, t.to, t.name, t.dst, t.local().Format("01 15:04:05"))
		if r := open[key]; r != nil && same(r.last, t) && t.local().Year() == r.last.local().Year()+1 {
			if rules := intersect(r.rules, yearlyRules(t)); len(rules) > 0 {
				r.last, r.n, r.rules = t, r.n+1, rules
				continue
			}
		}
		r := &run{first: t, last: t, n: 1, rules: yearlyRules(t)}
		open[key] = r
		out = append(out, r)
	}
	return out
}

// Timezone builds the VTIMEZONE for loc from Go's zone data, correct for
// every instant in [from, to). Where changes follow a yearly rule they
// are written as one observance with RRULE, the form Outlook reads; a
// rule still in force at to is left open, as the zone data continues it.
func Timezone(loc *time.Location, from, to time.Time) *ics.VTimezone {
	tz := ics.NewTimezone(tzid(loc))
	ts := transitions(loc, from, to)
	// Changes after to tell which rules continue past it.
	ahead := transitions(loc, to, to.AddDate(2, 0, 0))
	for _, r := range runs(ts) {
		var c *ics.ComponentBase
		if r.first.dst {
			d := &ics.Daylight{}
			tz.Components = append(tz.Components, d)
			c = &d.ComponentBase
		} else {
			s := ics.NewStandard()
			tz.Components = append(tz.Components, s)
			c = &s.ComponentBase
		}
		c.AddProperty(ics.ComponentPropertyDtStart, r.first.local().Format(localFormat))
		c.AddProperty(ics.ComponentProperty("TZOFFSETFROM"), offset(r.first.from))
		c.AddProperty(ics.ComponentProperty("TZOFFSETTO"), offset(r.first.to))
		c.AddProperty(ics.ComponentProperty("TZNAME"), r.first.name)
		if r.n < 2 {
			continue
		}
		rrule := fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;%s", int(r.first.local().Month()), r.rules[0])
		if !continues(r, ahead) {
			rrule += ";UNTIL=" + r.last.at.Add(untilSlack).UTC().Format(utcFormat)
		}
		c.AddProperty(ics.ComponentPropertyRrule, rrule)
	}
	return tz
}

// untilSlack is how far past a rule's last onset its UNTIL is written.
// RFC 5545 makes UNTIL a UTC time, but dateutil's tzical (python vobject,
// the parser of Radicale) compares it with the onset's local wall clock,
// so east of Greenwich an UNTIL at the onset itself drops the last change
// (Asia/Shanghai would stay on +09 after 1991). A day later is as correct,
// as the rule's next onset would be a year on.
const untilSlack = 24 * time.Hour

// continues reports whether the zone data keeps following r's rule in
// the changes after the window.
func continues(r *run, ahead []transition) bool {
	if len(ahead) < 2 {
		return false
	}
	next := r.last
	for _, t := range ahead[1:] {
		if t.at.After(next.at) && same(next, t) {
			return t.local().Year() == next.local().Year()+1 && len(intersect(r.rules, yearlyRules(t))) > 0
		}
	}
	return false
}

// unambiguous reports whether t's wall-clock time in zone names t alone.
func unambiguous(t time.Time, zone *time.Location) bool {
	at, fit := schedule.Resolve(schedule.Wall(t, zone), zone)
	return fit == schedule.Exact && at.Equal(t)
}
