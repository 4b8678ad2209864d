package schedule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// rule is a series' RRULE, expanded in wall-clock time: its times carry
// the wall-clock fields of the series' zone (or UTC for a series whose
// start has an offset) in time.UTC.
type rule struct {
	r     *rrule.RRule
	text  string // the RRULE for the feed, with UNTIL in UTC
	parts ruleParts
}

var floating = time.FixedZone("floating", 0)

// trialCount bounds the meetings that prove expands.
const trialCount = 400

func newRule(text string, start Time, zone *time.Location) (rule, error) {
	text = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(text)), "RRULE:")
	parts, err := splitRule(text)
	if err != nil {
		return rule{}, err
	}
	if parts.has("DTSTART") {
		return rule{}, fmt.Errorf("must not hold DTSTART: the series' start is its DTSTART")
	}
	opt, err := rrule.StrToROptionInLocation(text, floating)
	if err != nil {
		return rule{}, fmt.Errorf("%q is not an RFC 5545 RRULE: %v", text, err)
	}
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY, rrule.MONTHLY, rrule.YEARLY:
	default:
		return rule{}, fmt.Errorf("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
	}
	if err := checkRule(opt, parts); err != nil {
		return rule{}, err
	}
	if !opt.Until.IsZero() {
		wallZone := zone
		if start.Fixed {
			wallZone = time.UTC
		}
		var wall, instant time.Time
		if opt.Until.Location() == floating {
			u := opt.Until
			wall = time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, time.UTC)
			if until, _ := parts.get("UNTIL"); !strings.Contains(until, "T") {
				wall = wall.AddDate(0, 0, 1).Add(-time.Second) // a date includes its whole day
			}
			instant, _ = Resolve(wall, wallZone)
		} else {
			instant = opt.Until
			wall = Wall(instant, wallZone)
		}
		if wall.Before(start.Wall) {
			return rule{}, fmt.Errorf("UNTIL is before the series' start %s", start)
		}
		opt.Until = wall
		parts = parts.set("UNTIL", instant.UTC().Format("20060102T150405Z"))
	}
	opt.Dtstart = start.Wall
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return rule{}, fmt.Errorf("%q is not an RFC 5545 RRULE: %v", text, err)
	}
	first, more, err := prove(*opt)
	switch {
	case err != nil:
		return rule{}, fmt.Errorf("%q cannot be expanded (%v); write the meetings another way, or as sessions", text, err)
	case !first.Equal(start.Wall):
		return rule{}, fmt.Errorf("start %s (%s) is not an occurrence of %q; make them agree",
			start.Wall.Format("2006-01-02T15:04"), start.Wall.Weekday(), text)
	case !more && opt.Count != 1:
		return rule{}, fmt.Errorf("%q has no meeting after the start for centuries; write it as a session, or add COUNT=1", text)
	}
	// FREQ goes first, as RFC 2445 required and some clients still expect.
	return rule{r: r, text: parts.freqFirst().String(), parts: parts}, nil
}

// prove expands the rule in opt, without COUNT and UNTIL, and returns its
// first start, whether another follows, and a panic of rrule-go as an
// error, so that a rule it cannot expand is a problem in events.toml and
// never an empty series. rrule-go fails on the masks it builds for a
// month of a year, so it fails within the first year; it expands a year,
// or trialCount meetings if they come first.
//
// rrule-go looks for a meeting up to the year 9999, which takes seconds
// for a rule that has none. So prove moves the rule by whole 400-year
// Gregorian cycles, which repeat every weekday and leap day, to start in
// the years 9200 to 9599: there the search ends within 800 years.
func prove(opt rrule.ROption) (first time.Time, more bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rrule-go: %v", p)
		}
	}()
	shift := (9599 - opt.Dtstart.Year()) / 400 * 400
	opt.Dtstart = opt.Dtstart.AddDate(shift, 0, 0)
	opt.Count, opt.Until = 0, time.Time{}
	r, err := rrule.NewRRule(opt)
	if err != nil {
		return time.Time{}, false, err
	}
	next := r.Iterator()
	first, ok := next()
	if !ok {
		return time.Time{}, false, nil
	}
	end := first.AddDate(1, 0, 0)
	for range trialCount {
		t, ok := next()
		if !ok {
			break
		}
		more = true
		if t.After(end) {
			break
		}
	}
	return first.AddDate(-shift, 0, 0), more, nil
}

// between returns the wall-clock starts from a to b, both included.
// newRule has proved that the rule expands (see prove).
func (r rule) between(a, b time.Time) []time.Time { return r.r.Between(a, b, true) }

func (r rule) occursAt(wall time.Time) bool { return len(r.between(wall, wall)) == 1 }

// Rule returns the series' RRULE as the feed writes it: as written, but
// upper case, FREQ first and with UNTIL as a UTC date-time.
func (s *Series) Rule() string { return s.rule.text }

// rulePart is one NAME=VALUE of an RRULE.
type rulePart struct{ name, value string }

// ruleParts is an RRULE's parts in the order written.
type ruleParts []rulePart

// splitRule splits an RRULE into its parts and refuses a part written
// twice, which RFC 5545 forbids and clients resolve differently.
func splitRule(text string) (ruleParts, error) {
	var ps ruleParts
	split := strings.Split(text, ";")
	for i, p := range split {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q is not an RFC 5545 RRULE: %q is not NAME=VALUE%s", text, p, freqFix(split, i))
		}
		if prev, ok := ps.get(k); ok {
			fix := "keep one"
			if strings.HasPrefix(k, "BY") {
				fix = fmt.Sprintf("write it once with every value: %s=%s,%s", k, prev, v)
			}
			return nil, fmt.Errorf("%s appears twice (RFC 5545 section 3.3.10 allows each rule part once); %s", k, fix)
		}
		ps = append(ps, rulePart{k, v})
	}
	return ps, nil
}

func (ps ruleParts) get(name string) (string, bool) {
	for _, p := range ps {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

func (ps ruleParts) has(name string) bool { _, ok := ps.get(name); return ok }

// set returns a copy of ps with the part name set to value, or removed
// when value is empty.
func (ps ruleParts) set(name, value string) ruleParts {
	out := make(ruleParts, 0, len(ps)+1)
	found := false
	for _, p := range ps {
		if p.name == name {
			found = true
			if value == "" {
				continue
			}
			p.value = value
		}
		out = append(out, p)
	}
	if !found && value != "" {
		out = append(out, rulePart{name, value})
	}
	return out
}

func (ps ruleParts) freqFirst() ruleParts {
	out := make(ruleParts, 0, len(ps))
	for _, p := range ps {
		if p.name == "FREQ" {
			out = append(ruleParts{p}, out...)
		} else {
			out = append(out, p)
		}
	}
	return out
}

func (ps ruleParts) String() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.name + "=" + p.value
	}
	return strings.Join(s, ";")
}

// byParts are the rule parts that build the set BYSETPOS picks from.
var byParts = []string{"BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND"}

// checkRule refuses every rule part combination that RFC 5545 section
// 3.3.10 forbids, which rrule-go accepts and then panics on, loops on or
// reads its own way while each calendar app reads it another, and rules
// that yield more than a few meetings a day. Each message says the fix.
func checkRule(o *rrule.ROption, ps ruleParts) error {
	const rfc = "(RFC 5545 section 3.3.10)"
	mean := func(name, value string) string {
		return "did you mean " + ps.set(name, value).freqFirst().String() + "?"
	}
	freq := o.Freq.String()
	for _, p := range ps {
		switch p.name {
		case "INTERVAL", "COUNT":
			if n, err := strconv.Atoi(p.value); err != nil || n < 1 {
				return fmt.Errorf("%s must be a positive integer", p.name)
			}
		case "BYSECOND":
			if p.value != "0" {
				return fmt.Errorf("BYSECOND=%s: meetings start on a whole minute; remove BYSECOND (BYSECOND=0 is accepted)", p.value)
			}
		case "BYEASTER":
			return fmt.Errorf("BYEASTER is not an RFC 5545 rule part; list the meetings as sessions")
		case "WKST":
			if o.Wkst.N() != 0 {
				return fmt.Errorf("WKST=%s must be a day without a number: MO, TU, WE, TH, FR, SA or SU", p.value)
			}
		}
	}
	byday, _ := ps.get("BYDAY")
	var numbered, plain []string
	inYear := false // a day numbered beyond a month's five: of the year
	inMonth := o.Freq == rrule.MONTHLY || o.Freq == rrule.YEARLY && ps.has("BYMONTH")
	for _, d := range strings.Split(byday, ",") {
		if len(d) <= 2 {
			plain = append(plain, d)
			continue
		}
		n, err := strconv.Atoi(d[:len(d)-2])
		if err != nil || n == 0 || n < -53 || n > 53 {
			return fmt.Errorf("BYDAY %s: the number before the day must be 1 to 53 or -53 to -1", d)
		}
		if inMonth && (n > 5 || n < -5) {
			return fmt.Errorf("BYDAY %s: a month has at most five of each weekday, so %s never comes; use 1 to 5, or -1 to -5 counted from the month's end (-1%s is the last)", d, d, d[len(d)-2:])
		}
		numbered = append(numbered, d)
		plain = append(plain, d[len(d)-2:])
		if n > 5 || n < -5 {
			inYear = true
		}
	}
	mixed := len(numbered) > 0 && len(numbered) < len(plain)
	switch {
	case mixed && (o.Freq == rrule.MONTHLY || o.Freq == rrule.YEARLY):
		return fmt.Errorf("BYDAY=%s mixes numbered days (%s) and plain ones, which rrule-go and python-dateutil read as days "+
			"that are both at once (none) and calendar apps as either; make one series for the numbered days and one for the others", byday, numbered[0])
	case len(numbered) > 0 && (o.Freq == rrule.DAILY || o.Freq == rrule.WEEKLY):
		freq := "MONTHLY"
		if inYear {
			freq = "YEARLY"
		}
		return fmt.Errorf("BYDAY=%s: a numbered day (%s) is allowed only with FREQ=MONTHLY or FREQ=YEARLY %s; %s",
			byday, numbered[0], rfc, mean("FREQ", freq))
	case len(numbered) > 0 && ps.has("BYWEEKNO"):
		return fmt.Errorf("BYDAY=%s: a numbered day (%s) must not be used with BYWEEKNO %s; %s",
			byday, numbered[0], rfc, mean("BYDAY", strings.Join(plain, ",")))
	case ps.has("BYWEEKNO") && o.Freq != rrule.YEARLY:
		return fmt.Errorf("BYWEEKNO is allowed only with FREQ=YEARLY, not %s %s; %s", freq, rfc, mean("FREQ", "YEARLY"))
	case ps.has("BYYEARDAY") && o.Freq != rrule.YEARLY:
		return fmt.Errorf("BYYEARDAY must not be used with FREQ=%s %s; %s", freq, rfc, mean("FREQ", "YEARLY"))
	case ps.has("BYMONTHDAY") && o.Freq == rrule.WEEKLY:
		return fmt.Errorf("BYMONTHDAY must not be used with FREQ=WEEKLY %s; %s", rfc, mean("FREQ", "MONTHLY"))
	case ps.has("COUNT") && ps.has("UNTIL"):
		return fmt.Errorf("COUNT and UNTIL must not both be set %s; keep one: %s or %s", rfc,
			ps.set("UNTIL", "").freqFirst(), ps.set("COUNT", "").freqFirst())
	case ps.has("BYSETPOS") && !hasAny(ps, byParts):
		return fmt.Errorf("BYSETPOS picks from the meetings that another BYxxx rule part makes and must not be used alone %s; add one, e.g. %s (the last weekday of the month)",
			rfc, "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1")
	}
	ranges := []struct {
		name   string
		vs     []int
		lo, hi int
		signed bool // -hi..-1 allowed too
	}{
		{"BYSETPOS", o.Bysetpos, 1, 366, true},
		{"BYMONTH", o.Bymonth, 1, 12, false},
		{"BYMONTHDAY", o.Bymonthday, 1, 31, true},
		{"BYYEARDAY", o.Byyearday, 1, 366, true},
		{"BYWEEKNO", o.Byweekno, 1, 53, true},
		{"BYHOUR", o.Byhour, 0, 23, false},
		{"BYMINUTE", o.Byminute, 0, 59, false},
	}
	for _, r := range ranges {
		for i, v := range r.vs {
			if (v < r.lo || v > r.hi) && !(r.signed && v <= -r.lo && v >= -r.hi) {
				return fmt.Errorf("%s value %d is out of range", r.name, v)
			}
			// rrule-go makes a meeting per listed BYHOUR or BYMINUTE,
			// twice for a value listed twice; other programs once.
			if slices.Contains(r.vs[:i], v) {
				return fmt.Errorf("%s lists %d twice; list it once", r.name, v)
			}
		}
	}
	for i, d := range o.Byweekday {
		if slices.Contains(o.Byweekday[:i], d) {
			return fmt.Errorf("BYDAY lists %s twice; list it once", d)
		}
	}
	if perDay(o) > 24 {
		return fmt.Errorf("BYHOUR and BYMINUTE give more than 24 meetings a day")
	}
	return nil
}

func hasAny(ps ruleParts, names []string) bool {
	for _, n := range names {
		if ps.has(n) {
			return true
		}
	}
	return false
}

// perDay is how many meetings a day BYHOUR and BYMINUTE make.
func perDay(o *rrule.ROption) int { return max(len(o.Byhour), 1) * max(len(o.Byminute), 1) }

// warnings says what some calendar apps show differently from what the
// rule means, with the fix.
func (r rule) warnings() []string {
	var ws []string
	o := r.r.OrigOptions
	if n := perDay(&o); n > 1 {
		ws = append(ws, fmt.Sprintf("%s makes %d meetings a day, and calendars built on recurring-ical-events "+
			"show only the last meeting of a day of one series; make one series per time of day", r.text, n))
	}
	byday, _ := r.parts.get("BYDAY")
	for _, d := range strings.Split(byday, ",") {
		if n, err := strconv.Atoi(strings.TrimSuffix(d, d[max(len(d)-2, 0):])); err == nil && (n >= 10 || n <= -10) {
			ws = append(ws, fmt.Sprintf("BYDAY %s has a two-digit number, and python icalendar 4.0.3 silently drops such a rule; "+
				"use a different rule (such as BYMONTH with a number from 1 to 5) or two series", d))
			break
		}
	}
	return ws
}
