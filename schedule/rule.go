package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// rule is a series' RRULE, expanded in wall-clock time: its times carry
// the wall-clock fields of the series' zone (or UTC for a series whose
// start has an offset) in time.UTC.
type rule struct {
	r    *rrule.RRule
	text string // the RRULE for the feed, with UNTIL in UTC
}

var floating = time.FixedZone("floating", 0)

func newRule(text string, start Time, zone *time.Location) (rule, error) {
	text = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(text)), "RRULE:")
	if strings.Contains(text, "DTSTART") {
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
	if err := checkRule(opt, text); err != nil {
		return rule{}, err
	}
	if opt.Count > 0 && !opt.Until.IsZero() {
		return rule{}, fmt.Errorf("COUNT and UNTIL must not both be set (RFC 5545 section 3.3.10)")
	}
	parts := strings.Split(text, ";")
	if !opt.Until.IsZero() {
		wallZone := zone
		if start.Fixed {
			wallZone = time.UTC
		}
		var wall, instant time.Time
		if opt.Until.Location() == floating {
			u := opt.Until
			wall = time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, time.UTC)
			if !strings.Contains(strings.SplitN(text[strings.Index(text, "UNTIL=")+6:], ";", 2)[0], "T") {
				wall = wall.AddDate(0, 0, 1).Add(-time.Second) // a date includes its whole day
			}
			instant, _ = Resolve(wall, wallZone)
		} else {
			instant = opt.Until
			wall = Wall(instant, wallZone)
		}
		opt.Until = wall
		for i, p := range parts {
			if strings.HasPrefix(p, "UNTIL=") {
				parts[i] = "UNTIL=" + instant.UTC().Format("20060102T150405Z")
			}
		}
	}
	opt.Dtstart = start.Wall
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return rule{}, fmt.Errorf("%q is not an RFC 5545 RRULE: %v", text, err)
	}
	ru := rule{r: r, text: strings.Join(parts, ";")}
	if !ru.occursAt(start.Wall) {
		return rule{}, fmt.Errorf("start %s (%s) is not an occurrence of %q; make them agree",
			start.Wall.Format("2006-01-02T15:04"), start.Wall.Weekday(), text)
	}
	return ru, nil
}

// between returns the wall-clock starts from a to b, both included.
func (r rule) between(a, b time.Time) (walls []time.Time) {
	// checkRule refuses every rule known to make rrule-go panic; should
	// another get through, the series has no occurrences rather than
	// taking the daemon down.
	defer func() {
		if recover() != nil {
			walls = nil
		}
	}()
	return r.r.Between(a, b, true)
}

// checkRule refuses what RFC 5545 section 3.3.10 forbids, which rrule-go
// accepts and then panics or loops on (BYDAY=0SA, INTERVAL=-1), and
// rules that yield more than a few meetings a day.
func checkRule(o *rrule.ROption, text string) error {
	for _, p := range strings.Split(text, ";") {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "INTERVAL", "COUNT":
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return fmt.Errorf("%s must be a positive integer", k)
			}
		case "BYDAY":
			for _, d := range strings.Split(v, ",") {
				if len(d) <= 2 {
					continue
				}
				n, err := strconv.Atoi(strings.TrimPrefix(d[:len(d)-2], "+"))
				if err != nil || n == 0 || n < -53 || n > 53 {
					return fmt.Errorf("BYDAY %s: the number before the day must be 1 to 53 or -53 to -1", d)
				}
			}
		case "BYSECOND", "BYEASTER":
			return fmt.Errorf("%s is not supported", k)
		}
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
		for _, v := range r.vs {
			if (v < r.lo || v > r.hi) && !(r.signed && v <= -r.lo && v >= -r.hi) {
				return fmt.Errorf("%s value %d is out of range", r.name, v)
			}
		}
	}
	if len(o.Byhour)*max(len(o.Byminute), 1) > 24 {
		return fmt.Errorf("BYHOUR and BYMINUTE give more than 24 meetings a day")
	}
	return nil
}

func (r rule) occursAt(wall time.Time) bool { return len(r.between(wall, wall)) == 1 }

// Rule returns the series' RRULE as the feed writes it: as written, but
// upper case and with UNTIL as a UTC date-time.
func (s *Series) Rule() string { return s.rule.text }
