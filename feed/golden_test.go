package feed

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden renders every testdata/golden/NAME.toml with a fresh store at
// a fixed time and compares each document with testdata/golden/NAME/PATH.
// Run `go test ./feed -run TestGolden -update` and review the diff after
// a deliberate change to the output.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.toml"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".toml")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			_, set := renderTOML(t, tempStore(t), string(text), fixedNow)
			dir := filepath.Join("testdata", "golden", name)
			docs := set.Docs()
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			for path, d := range docs {
				file := filepath.Join(dir, filepath.FromSlash(path))
				want = append(want, file)
				checkLines(t, d.Bytes())
				if *update {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, d.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				golden, err := os.ReadFile(file)
				if err != nil {
					t.Errorf("%s: %v (run go test ./feed -run TestGolden -update)", path, err)
					continue
				}
				if !bytes.Equal(d.Bytes(), golden) {
					t.Errorf("%s differs from %s:\n%s", path, file, firstDiff(string(golden), string(d.Bytes())))
				}
			}
			// No stale golden files.
			var have []string
			filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					have = append(have, p)
				}
				return nil
			})
			slices.Sort(have)
			slices.Sort(want)
			if !slices.Equal(have, want) {
				t.Errorf("golden files %v, want %v", have, want)
			}
		})
	}
}

// firstDiff shows the first line where got differs from want.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\r\n"), strings.Split(got, "\r\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + gl + "\n want " + wl
		}
	}
	return "(same lines, different bytes)"
}

// comp is one parsed component: its name, content lines and children.
type comp struct {
	name  string
	lines []string
	subs  []*comp
}

// parseComps reads unfolded content lines into the VCALENDAR component.
func parseComps(t testing.TB, lines []string) *comp {
	t.Helper()
	var stack []*comp
	var root *comp
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "BEGIN:"):
			c := &comp{name: l[6:]}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.subs = append(top.subs, c)
			} else if root == nil {
				root = c
			} else {
				t.Fatalf("second top-level component %s", l)
			}
			stack = append(stack, c)
		case strings.HasPrefix(l, "END:"):
			if len(stack) == 0 || stack[len(stack)-1].name != l[4:] {
				t.Fatalf("%s does not close the open component", l)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				t.Fatalf("content line %q outside any component", l)
			}
			top := stack[len(stack)-1]
			top.lines = append(top.lines, l)
		}
	}
	if root == nil || root.name != "VCALENDAR" || len(stack) != 0 {
		t.Fatalf("not one closed VCALENDAR")
	}
	return root
}

func (c *comp) get(name string) string {
	if v := values(c.lines, name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// events returns the VEVENTs by UID plus RECURRENCE-ID.
func events(cal *comp) map[string]*comp {
	out := map[string]*comp{}
	for _, c := range cal.subs {
		if c.name == "VEVENT" {
			out[c.get("UID")+"|"+c.get("RECURRENCE-ID")] = c
		}
	}
	return out
}

func goldenInput(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".toml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRenderByteIdentical(t *testing.T) {
	for _, name := range []string{"sample", "edge"} {
		text := goldenInput(t, name)
		st := tempStore(t)
		_, a := renderTOML(t, st, text, fixedNow)
		_, b := renderTOML(t, st, text, fixedNow.Add(48*time.Hour))
		for path, d := range a.Docs() {
			e := b.Docs()[path]
			if !bytes.Equal(d.Bytes(), e.Bytes()) || d.ETag != e.ETag || !d.Modified.Equal(e.Modified) {
				t.Errorf("%s %s: re-render of the same schedule differs:\n%s", name, path, firstDiff(string(d.Bytes()), string(e.Bytes())))
			}
		}
	}
}

// TestRenderEdit changes one session and one occurrence: only their
// components get a higher SEQUENCE and a new LAST-MODIFIED.
func TestRenderEdit(t *testing.T) {
	text := goldenInput(t, "edge")
	st := tempStore(t)
	_, a := renderTOML(t, st, text, fixedNow)
	later := fixedNow.Add(3 * time.Hour)
	edited := strings.Replace(text, `title = "Called off"`, `title = "Called off, really"`, 1)
	edited = strings.Replace(edited, "title = \"Retitled\"", "title = \"Retitled again\"", 1)
	if edited == text {
		t.Fatal("edit did nothing")
	}
	_, b := renderTOML(t, st, edited, later)

	before, after := events(parseComps(t, checkLines(t, a.All.Bytes()))), events(parseComps(t, checkLines(t, b.All.Bytes())))
	changed := map[string]bool{
		"cancelled@edge.example.org|":                                   true,
		"weekly@edge.example.org|TZID=America/New_York:20240421T200000": true,
	}
	if len(before) != len(after) {
		t.Fatalf("%d VEVENTs before the edit, %d after", len(before), len(after))
	}
	stamp := later.Format(utcFormat)
	for key, e := range after {
		old := before[key]
		if old == nil {
			t.Errorf("%s: new after the edit", key)
			continue
		}
		if changed[key] {
			if e.get("SEQUENCE") != "1" || old.get("SEQUENCE") != "0" {
				t.Errorf("%s: SEQUENCE %s -> %s, want 0 -> 1", key, old.get("SEQUENCE"), e.get("SEQUENCE"))
			}
			if e.get("LAST-MODIFIED") != stamp || e.get("CREATED") != old.get("CREATED") {
				t.Errorf("%s: LAST-MODIFIED %s, CREATED %s -> %s; want %s and CREATED kept", key, e.get("LAST-MODIFIED"), old.get("CREATED"), e.get("CREATED"), stamp)
			}
			continue
		}
		if !slices.Equal(e.lines, old.lines) {
			t.Errorf("%s: changed although its session did not:\n%v\n%v", key, old.lines, e.lines)
		}
	}
	// The documents that hold no changed component are byte-identical.
	for path, d := range a.Docs() {
		same := bytes.Equal(d.Bytes(), b.Docs()[path].Bytes())
		want := path != "/calendar.ics" && path != "/sessions/cancelled.ics" && path != "/series/weekly.ics"
		if same != want {
			t.Errorf("%s: unchanged = %v, want %v", path, same, want)
		}
		if !same && !b.Docs()[path].Modified.After(d.Modified) {
			t.Errorf("%s: changed but Modified did not move: %v -> %v", path, d.Modified, b.Docs()[path].Modified)
		}
	}
}

// TestRenderCancel cancels a session and an occurrence: both stay in the
// feed with STATUS:CANCELLED and a higher SEQUENCE.
func TestRenderCancel(t *testing.T) {
	text := goldenInput(t, "edge")
	st := tempStore(t)
	renderTOML(t, st, text, fixedNow)
	cancelled := strings.Replace(text, `title = "An offset start: 漢字 and 🎉"`, "title = \"An offset start: 漢字 and 🎉\"\nstatus = \"cancelled\"", 1)
	cancelled = strings.Replace(cancelled, "title = \"Retitled\"", "title = \"Retitled\"\nstatus = \"cancelled\"", 1)
	_, set := renderTOML(t, st, cancelled, fixedNow.Add(time.Hour))
	evs := events(parseComps(t, checkLines(t, set.All.Bytes())))
	for _, key := range []string{"utc-offset@edge.example.org|", "weekly@edge.example.org|TZID=America/New_York:20240421T200000"} {
		e := evs[key]
		if e == nil {
			t.Errorf("%s: gone from the feed, want it kept as cancelled", key)
			continue
		}
		if e.get("STATUS") != "CANCELLED" || e.get("SEQUENCE") != "1" {
			t.Errorf("%s: STATUS %s SEQUENCE %s, want CANCELLED 1", key, e.get("STATUS"), e.get("SEQUENCE"))
		}
		if !strings.HasPrefix(e.get("DESCRIPTION"), "CANCELLED") {
			t.Errorf("%s: DESCRIPTION %q does not say it is cancelled", key, e.get("DESCRIPTION"))
		}
	}
}

func TestCalendarProperties(t *testing.T) {
	_, set := renderTOML(t, tempStore(t), goldenInput(t, "edge"), fixedNow)
	for path, d := range set.Docs() {
		cal := parseComps(t, checkLines(t, d.Bytes()))
		want := map[string]string{
			"VERSION":          "2.0",
			"PRODID":           "-//convene//convene//EN",
			"CALSCALE":         "GREGORIAN",
			"METHOD":           "PUBLISH",
			"X-WR-TIMEZONE":    "America/New_York",
			"REFRESH-INTERVAL": "VALUE=DURATION:PT1H",
			"X-PUBLISHED-TTL":  "PT1H",
			"X-WR-CALDESC":     `Zones\\rules\; and text\, with escapes.\nSecond line.`,
		}
		for k, v := range want {
			if got := values(cal.lines, k); len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q, want %q once", path, k, got, v)
			}
		}
		name, xname := values(cal.lines, "NAME"), values(cal.lines, "X-WR-CALNAME")
		if len(name) != 1 || len(xname) != 1 || name[0] != xname[0] || !strings.HasPrefix(name[0], `Edge cases\, all\; at "once"`) {
			t.Errorf("%s: NAME %q, X-WR-CALNAME %q", path, name, xname)
		}
	}
}

// TestEvents checks the properties of every VEVENT and the VTIMEZONEs of
// every document.
func TestEvents(t *testing.T) {
	for _, name := range []string{"sample", "edge"} {
		_, set := renderTOML(t, tempStore(t), goldenInput(t, name), fixedNow)
		for path, d := range set.Docs() {
			cal := parseComps(t, checkLines(t, d.Bytes()))
			zones := map[string]int{}
			seenEvent := false
			for _, c := range cal.subs {
				switch c.name {
				case "VTIMEZONE":
					if seenEvent {
						t.Errorf("%s %s: VTIMEZONE %s after a VEVENT", name, path, c.get("TZID"))
					}
					zones[c.get("TZID")]++
					if len(c.subs) == 0 {
						t.Errorf("%s %s: VTIMEZONE %s has no STANDARD or DAYLIGHT", name, path, c.get("TZID"))
					}
				case "VEVENT":
					seenEvent = true
					for _, p := range []string{"UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "DTSTART", "SUMMARY", "STATUS", "ORGANIZER"} {
						if len(values(c.lines, p)) != 1 {
							t.Errorf("%s %s %s: %d %s, want 1", name, path, c.get("UID"), len(values(c.lines, p)), p)
						}
					}
					if len(values(c.lines, "DTEND"))+len(values(c.lines, "DURATION")) != 1 {
						t.Errorf("%s %s %s: want one DTEND or DURATION", name, path, c.get("UID"))
					}
					if len(values(c.lines, "ATTENDEE")) > 0 {
						t.Errorf("%s %s %s: has ATTENDEE", name, path, c.get("UID"))
					}
					if loc := c.get("LOCATION"); (schedule.Details{Location: unescape(loc)}).JoinURL() != "" && len(values(c.lines, "CONFERENCE")) != 1 {
						t.Errorf("%s %s %s: join link %s without CONFERENCE", name, path, c.get("UID"), loc)
					}
					// EXDATE is written as DTSTART is: same TZID, local time.
					start, _, _ := strings.Cut(c.get("DTSTART"), ":")
					for _, ex := range values(c.lines, "EXDATE") {
						if p, _, _ := strings.Cut(ex, ":"); p != start {
							t.Errorf("%s %s: EXDATE %s, DTSTART %s", name, path, ex, c.get("DTSTART"))
						}
					}
				default:
					t.Errorf("%s %s: unexpected %s", name, path, c.name)
				}
			}
			for tzid, n := range zones {
				if n != 1 {
					t.Errorf("%s %s: %d VTIMEZONEs for %s, want 1", name, path, n, tzid)
				}
			}
			// Every TZID used has its VTIMEZONE, and every VTIMEZONE is used.
			used := map[string]bool{}
			for _, c := range cal.subs {
				for _, l := range c.lines {
					if _, rest, ok := strings.Cut(l, ";TZID="); ok {
						tzid, _, _ := strings.Cut(rest, ":")
						used[tzid] = true
						if zones[tzid] == 0 {
							t.Errorf("%s %s: TZID %s without a VTIMEZONE: %s", name, path, tzid, l)
						}
					}
				}
			}
			for tzid := range zones {
				if !used[tzid] {
					t.Errorf("%s %s: VTIMEZONE %s is not used", name, path, tzid)
				}
			}
		}
	}
}

// TestSeriesComponents checks that a series is one master VEVENT with
// RRULE and EXDATE plus one RECURRENCE-ID VEVENT per change.
func TestSeriesComponents(t *testing.T) {
	s, set := renderTOML(t, tempStore(t), goldenInput(t, "edge"), fixedNow)
	cal := parseComps(t, checkLines(t, set.Series["weekly"].Bytes()))
	var masters, overrides []*comp
	for _, c := range cal.subs {
		if c.name != "VEVENT" {
			continue
		}
		if c.get("RECURRENCE-ID") == "" {
			masters = append(masters, c)
		} else {
			overrides = append(overrides, c)
		}
	}
	if len(masters) != 1 {
		t.Fatalf("%d master VEVENTs, want 1", len(masters))
	}
	m := masters[0]
	if got := m.get("RRULE"); got != "FREQ=WEEKLY;UNTIL=20241202T045959Z" {
		t.Errorf("RRULE = %q", got)
	}
	if got := values(m.lines, "EXDATE"); len(got) != 1 || got[0] != "TZID=America/New_York:20240324T200000" {
		t.Errorf("EXDATE = %q", got)
	}
	var ids []string
	for _, o := range overrides {
		ids = append(ids, o.get("RECURRENCE-ID"))
		if o.get("UID") != m.get("UID") {
			t.Errorf("override UID %s, master %s", o.get("UID"), m.get("UID"))
		}
	}
	for _, c := range s.Series[0].Changes {
		want := "TZID=America/New_York:" + c.Original.Format(localFormat)
		if !slices.Contains(ids, want) {
			t.Errorf("no override with RECURRENCE-ID %s (have %v)", want, ids)
		}
	}
}
