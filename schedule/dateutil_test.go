package schedule

// This test needs python-dateutil (Debian python3-dateutil) run by
// /usr/bin/python3. Without it the test is skipped with a message, unless
// CONVENE_REQUIRE_INTEROP=1 (as in .ci/run), which makes it fail.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dateutilScript prints, for each rule it reads, the occurrences from its
// start to its end, both included, as python-dateutil expands them.
const dateutilScript = `
import json, sys
from datetime import datetime
from dateutil.rrule import rrulestr
f = "%Y%m%dT%H%M%S"
out = []
for c in json.load(sys.stdin):
    start = datetime.strptime(c["start"], f)
    try:
        r = rrulestr(c["rule"], dtstart=start)
        got = []
        for d in r.xafter(start, count=c["max"], inc=True):
            if d > datetime.strptime(c["end"], f):
                break
            got.append(d.strftime(f))
        out.append(got)
    except Exception as e:
        out.append(["error: %s" % e])
json.dump(out, sys.stdout)
`

type dateutilCase struct {
	Rule  string `json:"rule"`
	Start string `json:"start"`
	End   string `json:"end"`
	Max   int    `json:"max"`
}

const basicFormat = "20060102T150405"

// TestRuleMatchesDateutil compares convene's expansion of a large set of
// generated valid rules with python-dateutil's, the reference
// implementation that rrule-go was ported from. The seed is fixed, so CI
// runs the same rules; CONVENE_RULE_SEED=n runs others.
func TestRuleMatchesDateutil(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import dateutil.rrule").Run(); err != nil {
		msg := fmt.Sprintf("%s with python-dateutil (Debian python3-dateutil) is missing: %v", python, err)
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s, and CONVENE_REQUIRE_INTEROP=1 requires it", msg)
		}
		t.Skipf("skipped: %s (set CONVENE_REQUIRE_INTEROP=1 to fail instead)", msg)
	}
	seed := uint64(1)
	if s := os.Getenv("CONVENE_RULE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CONVENE_RULE_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	const want, max = 2000, 200
	var cases []dateutilCase
	var gots [][]string
	tried := 0
	for len(cases) < want && tried < 50*want {
		tried++
		text, start := randomRule(rng)
		r, err := newRule(text, Time{Wall: start}, time.UTC)
		if err != nil {
			continue // refused as forbidden or unclear: not a valid rule
		}
		end := start.AddDate(2, 0, 0)
		got := []string{}
		for _, w := range r.between(start, end) {
			if len(got) == max {
				break
			}
			got = append(got, w.Format(basicFormat))
		}
		cases = append(cases, dateutilCase{Rule: text, Start: start.Format(basicFormat), End: end.Format(basicFormat), Max: max})
		gots = append(gots, got)
	}
	if len(cases) < want {
		t.Fatalf("only %d valid rules in %d tries", len(cases), tried)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "expand.py")
	if err := os.WriteFile(script, []byte(dateutilScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python-dateutil: %v\n%s", err, stderr.String())
	}
	var wants [][]string
	if err := json.Unmarshal(out, &wants); err != nil || len(wants) != len(cases) {
		t.Fatalf("python-dateutil printed %d results (%v), want %d", len(wants), err, len(cases))
	}
	bad, total := 0, 0
	for i, c := range cases {
		total += len(wants[i])
		if g, w := strings.Join(gots[i], " "), strings.Join(wants[i], " "); g != w {
			if bad++; bad <= 10 {
				t.Errorf("RRULE:%s from %s:\nconvene  %.200s\ndateutil %.200s", c.Rule, c.Start, g, w)
			}
		}
	}
	t.Logf("%d rules (%d generated), %d occurrences, %d differences", len(cases), tried, total, bad)
}

// randomRule returns a random rule that RFC 5545 allows and a start that
// is meant to be one of its occurrences: each BYxxx part lists the
// start's value among random others. (A rule with no occurrence at all
// would make rrule-go search until the year 9999.)
func randomRule(rng *rand.Rand) (string, time.Time) {
	start := time.Date(1995+rng.IntN(40), time.Month(1+rng.IntN(12)), 1+rng.IntN(31), rng.IntN(24), 15*rng.IntN(4), 0, 0, time.UTC)
	freqs := []string{"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
	freq := freqs[rng.IntN(len(freqs))]
	days := []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
	chance := func(p float64) bool { return rng.Float64() < p }
	// list returns own and up to two random values from lo to hi,
	// each negated (counted from the end) at times.
	list := func(own, ownNeg, lo, hi int, signed bool) string {
		vs := []int{own}
		if signed && chance(0.3) {
			vs[0] = ownNeg
		}
		for range rng.IntN(3) {
			v := lo + rng.IntN(hi-lo+1)
			if signed && chance(0.3) {
				v = -v
			}
			if !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strconv.Itoa(v)
		}
		return strings.Join(out, ",")
	}
	monthLen := time.Date(start.Year(), start.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	yearLen := time.Date(start.Year(), 12, 31, 0, 0, 0, 0, time.UTC).YearDay()
	parts := []string{"FREQ=" + freq}
	add := func(name, value string) { parts = append(parts, name+"="+value) }
	if chance(0.4) {
		add("INTERVAL", strconv.Itoa(1+rng.IntN(4)))
	}
	byMonth := chance(0.3)
	if byMonth {
		add("BYMONTH", list(int(start.Month()), 0, 1, 12, false))
	}
	weekno := freq == "YEARLY" && chance(0.15)
	if weekno {
		_, w := start.ISOWeek()
		add("BYWEEKNO", strconv.Itoa(w))
	}
	if freq == "YEARLY" && chance(0.15) {
		add("BYYEARDAY", list(start.YearDay(), start.YearDay()-yearLen-1, 1, 366, true))
	}
	if freq != "WEEKLY" && chance(0.25) {
		add("BYMONTHDAY", list(start.Day(), start.Day()-monthLen-1, 1, 31, true))
	}
	if chance(0.5) {
		own := days[(int(start.Weekday())+6)%7]
		vs := []string{own}
		for range rng.IntN(3) {
			if d := days[rng.IntN(7)]; !slices.Contains(vs, d) {
				vs = append(vs, d)
			}
		}
		if (freq == "MONTHLY" || freq == "YEARLY") && !weekno && chance(0.5) {
			// Numbered days only: mixed with plain ones they are refused.
			vs = vs[:1]
			n, neg := (start.Day()-1)/7+1, -((monthLen-start.Day())/7 + 1)
			if freq == "YEARLY" && !byMonth {
				n, neg = (start.YearDay()-1)/7+1, -((yearLen-start.YearDay())/7 + 1)
			}
			if chance(0.3) {
				n = neg
			}
			vs[0] = strconv.Itoa(n) + own
			if chance(0.5) {
				vs = append(vs, fmt.Sprintf("%d%s", 1+rng.IntN(4), days[rng.IntN(7)]))
			}
		}
		rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
		add("BYDAY", strings.Join(vs, ","))
	}
	if chance(0.15) {
		add("BYHOUR", list(start.Hour(), 0, 0, 23, false))
	}
	if chance(0.1) {
		add("BYMINUTE", list(start.Minute(), 0, 0, 59, false))
	}
	if len(parts) > 1 && strings.Contains(strings.Join(parts[1:], ";"), "BY") && chance(0.15) {
		// Not 2 or more: a set of one meeting a day would have no
		// second, and a rule without meetings is slow to refuse.
		add("BYSETPOS", []string{"1", "-1", "1,-1"}[rng.IntN(3)])
	}
	if chance(0.15) {
		add("WKST", days[rng.IntN(7)])
	}
	if chance(0.05) {
		add("BYSECOND", "0")
	}
	switch rng.IntN(3) {
	case 0:
		add("COUNT", strconv.Itoa(1+rng.IntN(30)))
	case 1:
		add("UNTIL", start.AddDate(rng.IntN(3), rng.IntN(12), rng.IntN(28)).Format(basicFormat))
	}
	rng.Shuffle(len(parts)-1, func(i, j int) { parts[i+1], parts[j+1] = parts[j+1], parts[i+1] })
	return strings.Join(parts, ";"), start
}
