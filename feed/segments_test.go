package feed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// TestGapSeriesGenerated renders generated series whose wall clock falls
// in spring-forward gaps (02:xx in New York and Berlin, 00:xx in Santiago
// and Beirut, Lord Howe's half hour), with random skips and changes, and
// reads the feed back as RFC 5545 says. It checks that no RRULE, walked
// from its DTSTART, meets a wall clock in a gap (where libical's
// iterator goes wrong), that the feed's instances (RRULE, RDATE, EXDATE,
// overrides) are exactly schedule.Expand's, with the UIDs the reminders'
// attachments use, and that skips and changes leave the UIDs alone.
func TestGapSeriesGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 10))
	const cases = 80
	gapSeries := 0
	for i := range cases {
		base, edits, name := genGapSeries(t, rng, "s")
		s0, plain := renderTOML(t, stampless{}, genHeader+base, fixedNow)
		s, set := renderTOML(t, stampless{}, genHeader+base+edits, fixedNow)
		name = fmt.Sprintf("case %d (%s)", i, name)
		masters := checkGapLayout(t, name, s, set)
		if len(masters) > 1 {
			gapSeries++
		}
		if plainMasters := checkGapLayout(t, name+" unedited", s0, plain); !slices.Equal(plainMasters, masters) {
			t.Errorf("%s: skips and changes changed the series' UIDs from %v to %v", name, plainMasters, masters)
		}
	}
	t.Logf("%d generated series, %d of them written as several VEVENTs", cases, gapSeries)
	if gapSeries < cases/3 {
		t.Errorf("only %d of %d generated series meet a gap; the generator misses its point", gapSeries, cases)
	}
}

const genHeader = "[calendar]\nname = \"Gen\"\ntimezone = \"America/New_York\"\nurl = \"https://gen.example.org\"\n"

// genGapSeries returns a generated [[series]] called id whose wall clock
// meets spring-forward gaps (02:xx in New York and Berlin, 00:xx in
// Santiago and Beirut, Lord Howe's half hour), and its random skips and
// changes (appended to it, they make the edited series), and a name for
// messages.
func genGapSeries(t *testing.T, rng *rand.Rand, id string) (base, edits, name string) {
	zones := []string{"America/New_York", "Europe/Berlin", "America/Santiago", "Asia/Beirut", "Australia/Lord_Howe"}
	rules := []string{"FREQ=DAILY;COUNT={n}", "FREQ=WEEKLY;COUNT={n}", "FREQ=WEEKLY", "FREQ=DAILY;INTERVAL=3;COUNT={n}",
		"FREQ=MONTHLY;COUNT={n}", "FREQ=YEARLY", "FREQ=MONTHLY;BYDAY={day};COUNT={n}", "FREQ=WEEKLY;BYDAY={day},{other};COUNT={n}"}
	days := []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}
	zone := zones[rng.IntN(len(zones))]
	start := gapStart(t, rng, mustZone(t, zone))
	wd := int(start.Weekday())
	rule := strings.NewReplacer("{n}", fmt.Sprint(2+rng.IntN(400)), "{day}", days[wd], "{other}", days[(wd+3)%7]).
		Replace(rules[rng.IntN(len(rules))])
	base = fmt.Sprintf("\n[[series]]\nid = %q\ntitle = \"Series\"\ntimezone = %q\nstart = %s\nrrule = %q\nduration = \"%dm\"\n",
		id, zone, start.Format("2006-01-02T15:04:05"), rule, 30+rng.IntN(180))
	s0, _ := renderTOML(t, stampless{}, genHeader+base, fixedNow)
	occ := s0.Expand(time.Time{}, horizon)
	var b strings.Builder
	var skips []string
	for _, o := range occ {
		if rng.IntN(40) == 0 {
			skips = append(skips, o.Original.Format("2006-01-02T15:04:05"))
		}
	}
	if len(skips) > 0 {
		fmt.Fprintf(&b, "skip = [%s]\n", strings.Join(skips, ", "))
	}
	for _, o := range occ {
		if rng.IntN(40) == 0 && !slices.Contains(skips, o.Original.Format("2006-01-02T15:04:05")) {
			fmt.Fprintf(&b, "\n[[series.changes]]\noccurrence = %s\ntitle = \"Changed\"\n", o.Original.Format("2006-01-02T15:04:05"))
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, "start = %s\n", o.Original.Add(time.Duration(rng.IntN(5)-2)*time.Hour).Format("2006-01-02T15:04:05"))
			}
		}
	}
	return base, b.String(), fmt.Sprintf("%s %s %s", zone, start.Format("2006-01-02T15:04"), rule)
}

// gapStart returns a start for a series that meets one of loc's gaps:
// on, or whole weeks before, a spring-forward day of 2024 to 2026, at a
// wall clock in the gap or near it.
func gapStart(t *testing.T, rng *rand.Rand, loc *time.Location) time.Time {
	var gaps []time.Time
	for at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2027; {
		_, end := at.In(loc).ZoneBounds()
		if end.IsZero() {
			break
		}
		if !end.After(at) { // see transitions: Go repeats a period
			at = at.Add(time.Hour)
			continue
		}
		_, before := end.Add(-time.Second).In(loc).Zone()
		if _, after := end.In(loc).Zone(); after > before {
			gaps = append(gaps, schedule.Wall(end, time.FixedZone("", before)))
		}
		at = end
	}
	if len(gaps) == 0 {
		t.Fatalf("%s has no gap in 2024-2026", loc)
	}
	g := gaps[rng.IntN(len(gaps))]
	return g.AddDate(0, 0, -7*rng.IntN(4)).Add(time.Duration(rng.IntN(6)-1) * 15 * time.Minute)
}

// stampless is a State that keeps nothing: every key is new at now.
type stampless struct{}

func (stampless) Stamp(_ context.Context, now time.Time, prints map[string]string) (map[string]store.Version, error) {
	out := make(map[string]store.Version, len(prints))
	for k := range prints {
		out[k] = store.Version{Created: now, Modified: now}
	}
	return out, nil
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := schedule.LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// instance is one start and end, as the feed states them.
type instance struct {
	uid        string
	start, end time.Time
}

// checkGapLayout reads set's feed of s and compares it with Expand. It
// returns the UIDs of the series' VEVENTs that recur, sorted.
func checkGapLayout(t *testing.T, name string, s *schedule.Schedule, set *Set) []string {
	t.Helper()
	cal := parseComps(t, checkLines(t, set.All.Bytes()))
	var masters []string
	var got []instance
	overrides := map[string]*comp{}
	for _, c := range cal.subs {
		if c.name == "VEVENT" && c.get("RECURRENCE-ID") != "" {
			overrides[c.get("UID")+" "+utcString(dateValue(t, c.get("RECURRENCE-ID")))] = c
		}
	}
	span := func(c *comp) (time.Time, time.Duration) {
		start := dateValue(t, c.get("DTSTART"))
		if d := c.get("DURATION"); d != "" {
			dur, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(d, "PT")))
			if err != nil {
				t.Fatalf("%s: DURATION %s: %v", name, d, err)
			}
			return start, dur
		}
		return start, dateValue(t, c.get("DTEND")).Sub(start)
	}
	for _, c := range cal.subs {
		if c.name != "VEVENT" || c.get("RECURRENCE-ID") != "" {
			continue
		}
		uid := c.get("UID")
		masters = append(masters, uid)
		start, length := span(c)
		var at []time.Time
		if r := c.get("RRULE"); r != "" {
			at = walkRule(t, name, c.get("DTSTART"), r)
		}
		for _, v := range values(c.lines, "RDATE") {
			at = append(at, dateValue(t, v))
		}
		if len(at) == 0 {
			at = []time.Time{start}
		}
		for _, a := range at {
			if slices.ContainsFunc(values(c.lines, "EXDATE"), func(v string) bool { return dateValue(t, v).Equal(a) }) {
				continue
			}
			if o := overrides[uid+" "+utcString(a)]; o != nil {
				os, ol := span(o)
				got = append(got, instance{uid, os, os.Add(ol)})
				continue
			}
			got = append(got, instance{uid, a, a.Add(length)})
		}
	}
	r := &renderer{s: s, segs: set.segs}
	var want []instance
	for _, o := range s.Expand(time.Time{}, horizon) {
		want = append(want, instance{r.uid(o), o.Start, o.End})
		// The reminder's attachment names the same VEVENT.
		if ev := string(set.Event(o)); !strings.Contains(ev, "\r\nUID:"+r.uid(o)+"\r\n") {
			t.Errorf("%s: the attachment of %s has not UID %s", name, o.Key(), r.uid(o))
		}
	}
	key := func(x instance) string { return x.uid + " " + utcString(x.start) + " " + utcString(x.end) }
	g, w := mapSlice(got, key), mapSlice(want, key)
	slices.Sort(g)
	slices.Sort(w)
	// Occurrences moved past the horizon, or walked to it by the feed's
	// last RRULE, are beyond what either side lists in full.
	g = slices.DeleteFunc(g, func(k string) bool {
		return !strings.Contains(k, " ") || k[strings.Index(k, " ")+1:] >= utcString(horizon.AddDate(-1, 0, 0))
	})
	w = slices.DeleteFunc(w, func(k string) bool { return k[strings.Index(k, " ")+1:] >= utcString(horizon.AddDate(-1, 0, 0)) })
	if !slices.Equal(g, w) {
		t.Errorf("%s: the feed's instances differ from Expand's:\n%s", name, listDiff(w, g))
	}
	slices.Sort(masters)
	return slices.Compact(masters)
}

// walkRule returns the instants of rule walked from dtstart (a
// DTSTART value) up to the horizon, and fails t where a wall clock it
// walks through falls in a gap of the zone.
func walkRule(t *testing.T, name, dtstart, rule string) []time.Time {
	t.Helper()
	params, value, _ := strings.Cut(dtstart, ":")
	loc := mustZone(t, strings.TrimPrefix(params, "TZID="))
	wall, err := time.Parse(localFormat, value)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := rrule.StrToROptionInLocation(rule, time.UTC)
	if err != nil {
		t.Fatalf("%s: RRULE %s: %v", name, rule, err)
	}
	until := opt.Until
	opt.Until, opt.Dtstart = time.Time{}, wall
	rr, err := rrule.NewRRule(*opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, w := range rr.Between(wall, schedule.Wall(horizon, loc), true) {
		at, fit := schedule.Resolve(w, loc)
		if !until.IsZero() && at.After(until) {
			break
		}
		if fit == schedule.Gap {
			t.Errorf("%s: RRULE %s from %s meets %s, in a gap", name, rule, dtstart, w.Format(localFormat))
		}
		out = append(out, at)
	}
	return out
}

// dateValue reads a DATE-TIME property value with its TZID parameter.
func dateValue(t *testing.T, v string) time.Time {
	t.Helper()
	params, value, _ := strings.Cut(v, ":")
	wall, err := time.Parse(localFormat, value)
	if err != nil {
		t.Fatalf("DATE-TIME %q: %v", v, err)
	}
	at, _ := schedule.Resolve(wall, mustZone(t, strings.TrimPrefix(params, "TZID=")))
	return at
}

func mapSlice[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// listDiff lists what is only in want and only in got, a few of each.
func listDiff(want, got []string) string {
	var b strings.Builder
	n := 0
	for _, w := range want {
		if !slices.Contains(got, w) && n < 5 {
			b.WriteString("  missing " + w + "\n")
			n++
		}
	}
	n = 0
	for _, g := range got {
		if !slices.Contains(want, g) && n < 5 {
			b.WriteString("  extra   " + g + "\n")
			n++
		}
	}
	return b.String()
}
