package feed

// Real parsers as the judge: every schedule in testdata/corpus (and the
// sample events.toml) is rendered, and ical.js, libical, python vobject
// and python icalendar with recurring-ical-events each expand the feed.
// Every occurrence they find must be one that schedule.Expand computed,
// with the same UTC start and end, the same STATUS and the same text.
//
// The parsers live in testdata/parsers. A parser that is missing skips its
// part with a message, unless CONVENE_REQUIRE_INTEROP=1 (as in .ci/run).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

const interopEnv = "CONVENE_REQUIRE_INTEROP"

// interopMissing skips t because an outside program is missing, or fails
// it when the environment requires the interop tests.
func interopMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(interopEnv) == "1" {
		t.Fatalf("%s, and %s=1 requires it", msg, interopEnv)
	}
	t.Skipf("skipped: %s (set %s=1 to fail instead)", msg, interopEnv)
}

// interopOcc is one occurrence as a parser prints it: instants in UTC.
type interopOcc struct {
	UID         string `json:"uid"`
	RID         string `json:"rid"`
	Start       string `json:"start"`
	End         string `json:"end"`
	Status      string `json:"status"`
	Summary     string `json:"summary"`
	Description string `json:"description"`
	Location    string `json:"location"`
}

// interopParser runs one outside parser.
type interopParser struct {
	name string
	// setup finds or builds the program; it skips or fails t if it
	// cannot, and returns the command that runs it.
	setup func(t *testing.T) []string
	// expand returns the arguments that make the program print every
	// occurrence of file overlapping [from, to).
	expand func(file string, from, to time.Time) []string
	// zones is false for a parser without an offset mode.
	zones bool
}

var interopParsers = []interopParser{
	{
		name:  "ical.js",
		setup: icaljsCommand,
		expand: func(file string, _, to time.Time) []string {
			return []string{"expand", file, fmt.Sprint(interopUntil(to))}
		},
		zones: true,
	},
	{
		name:  "libical",
		setup: libicalCommand,
		expand: func(file string, _, to time.Time) []string {
			return []string{"expand", file, fmt.Sprint(interopUntil(to))}
		},
		zones: true,
	},
	{
		name:  "python vobject",
		setup: vobjectCommand,
		expand: func(file string, _, to time.Time) []string {
			return []string{"expand", file, fmt.Sprint(interopUntil(to))}
		},
		zones: true,
	},
	{
		name:  "python icalendar",
		setup: pythonCommand,
		expand: func(file string, from, to time.Time) []string {
			return []string{file, fmt.Sprint(from.Unix()), fmt.Sprint(to.Unix())}
		},
	},
}

// interopUntil is where parsers that expand from DTSTART stop: past the
// window, so that occurrences moved into it from later are seen too.
func interopUntil(to time.Time) int64 { return to.AddDate(1, 0, 0).Unix() }

func parsersDir(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("testdata", "parsers"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func icaljsCommand(t *testing.T) []string {
	node, err := exec.LookPath("node")
	if err != nil {
		interopMissing(t, "ical.js: node is not installed")
	}
	dir := parsersDir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ical.js", "package.json")); err != nil {
		interopMissing(t, "ical.js: not installed (run npm ci --prefix feed/testdata/parsers)")
	}
	return []string{node, filepath.Join(dir, "icaljs.mjs")}
}

// libicalCommand compiles testdata/parsers/libical.c for the test.
func libicalCommand(t *testing.T) []string {
	for _, tool := range []string{"gcc", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			interopMissing(t, "libical: %s is not installed", tool)
		}
	}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libical").Output()
	if err != nil {
		interopMissing(t, "libical: pkg-config finds no libical (apt-get install libical-dev)")
	}
	bin := filepath.Join(t.TempDir(), "libical")
	args := append([]string{"-O2", "-Wall", "-o", bin, filepath.Join(parsersDir(t), "libical.c")}, strings.Fields(string(flags))...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("compile libical.c: %v\n%s", err, out)
	}
	return []string{bin}
}

func pythonCommand(t *testing.T) []string {
	return pythonScript(t, "pyical.py", "icalendar, recurring_ical_events", "python3-icalendar python3-recurring-ical-events")
}

// vobjectCommand runs python vobject, the parser of the Radicale server,
// which reads VTIMEZONEs through dateutil's tzical.
func vobjectCommand(t *testing.T) []string {
	return pythonScript(t, "pyvobject.py", "vobject", "python3-vobject")
}

// pythonScript returns the command that runs script in testdata/parsers
// with Debian's python, which must import modules (from packages).
func pythonScript(t *testing.T, script, modules, packages string) []string {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import "+modules).CombinedOutput(); err != nil {
		interopMissing(t, "%s: %s cannot import %s (apt-get install %s): %v %s",
			script, python, modules, packages, err, bytes.TrimSpace(out))
	}
	return []string{python, filepath.Join(parsersDir(t), script)}
}

// run runs a parser and returns its standard output.
func interopRun(t *testing.T, name string, cmd []string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, cmd[0], append(cmd[1:], args...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// corpusCase is one rendered schedule and what schedule.Expand says of it.
type corpusCase struct {
	name     string // file name, for messages
	ics      string // the rendered /calendar.ics
	from, to time.Time
	want     []schedule.Occurrence
	text     map[string]string // occurrence key -> DESCRIPTION written
	uid      map[string]string // occurrence key -> UID written
}

// interopWindow returns the window a schedule is checked in: from a day
// before its first start, ten years on, and not past 2037.
func interopWindow(s *schedule.Schedule) (time.Time, time.Time) {
	var first time.Time
	see := func(o schedule.Occurrence) {
		if first.IsZero() || o.Start.Before(first) {
			first = o.Start
		}
	}
	for i := range s.Sessions {
		see(s.Single(s.Sessions[i]))
	}
	for i := range s.Series {
		see(s.Master(&s.Series[i]))
		for _, o := range s.Changed(&s.Series[i]) {
			see(o)
		}
	}
	from := first.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	to := from.AddDate(10, 0, 0)
	if end := time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC); to.After(end) {
		to = end
	}
	return from, to
}

func loadCorpus(t *testing.T) []corpusCase {
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("..", "events.toml"))
	if len(files) < 2 {
		t.Fatal("no schedules in testdata/corpus")
	}
	dir := t.TempDir()
	// And generated series that meet spring-forward gaps (a fixed seed),
	// written as segments (see segments.go).
	rng := rand.New(rand.NewPCG(8, 11))
	gen := genHeader
	for i := range 30 {
		base, edits, _ := genGapSeries(t, rng, fmt.Sprintf("g%d", i))
		gen += base + edits
	}
	files = append(files, filepath.Join(dir, "generated-gaps.toml"))
	if err := os.WriteFile(files[len(files)-1], []byte(gen), 0o644); err != nil {
		t.Fatal(err)
	}
	// A fixed clock: the feed's stamps do not matter here, but the
	// output must not depend on when the test runs.
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var cases []corpusCase
	for i, file := range files {
		s, err := schedule.Load(file)
		if err != nil {
			t.Fatalf("schedule.Load(%s): %v", file, err)
		}
		st, err := store.Open(filepath.Join(dir, fmt.Sprintf("state-%d.db", i)))
		if err != nil {
			t.Fatal(err)
		}
		set, err := Render(t.Context(), s, st, now)
		st.Close()
		if err != nil {
			t.Fatalf("Render(%s): %v", file, err)
		}
		c := corpusCase{name: file, ics: filepath.Join(dir, fmt.Sprintf("%d-%s.ics", i, strings.TrimSuffix(filepath.Base(file), ".toml"))), text: map[string]string{}, uid: map[string]string{}}
		if err := os.WriteFile(c.ics, set.All.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		c.from, c.to = interopWindow(s)
		c.want = s.Expand(c.from, c.to)
		r := &renderer{s: s, segs: set.segs}
		for _, o := range c.want {
			c.text[o.Key()] = r.description(o)
			c.uid[o.Key()] = r.uid(o)
		}
		cases = append(cases, c)
	}
	return cases
}

func utcString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// occKey is what identifies an occurrence across parsers: its UID and
// exact instants.
func occKey(uid, start, end string) string { return uid + " " + start + "/" + end }

// compareOccurrences checks what parser p printed for c against
// schedule.Expand. It returns the keys of the occurrences p got right,
// and reports every difference as an error.
func compareOccurrences(t *testing.T, p string, c corpusCase, s *schedule.Schedule, got []interopOcc) map[string]bool {
	t.Helper()
	byKey := map[string][]interopOcc{}
	for _, g := range got {
		start, err1 := time.Parse(time.RFC3339, g.Start)
		end, err2 := time.Parse(time.RFC3339, g.End)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: %s printed a bad instant: %+v", c.name, p, g)
			continue
		}
		if !end.After(c.from) || !start.Before(c.to) {
			continue // outside the window, as Expand would leave it
		}
		k := occKey(g.UID, g.Start, g.End)
		byKey[k] = append(byKey[k], g)
	}
	agree := map[string]bool{}
	for _, o := range c.want {
		uid := c.uid[o.Key()]
		k := occKey(uid, utcString(o.Start), utcString(o.End))
		gs := byKey[k]
		if len(gs) == 0 {
			t.Errorf("%s: %s: %s has no occurrence %s to %s; at its original start it has: %s",
				c.name, p, o.Key(), utcString(o.Start), utcString(o.End), nearby(got, uid, o))
			continue
		}
		g := gs[0]
		byKey[k] = gs[1:]
		ok := true
		check := func(field, gotv, wantv string) {
			if gotv == wantv {
				return
			}
			ok = false
			if p == "python icalendar" && gotv == pythonUnescape(wantv) {
				quirks.add(p, "backslash before n, N, comma or semicolon unescaped twice", c.name+": "+o.Key()+" "+field)
				return
			}
			t.Errorf("%s: %s: %s %s = %q, want %q", c.name, p, o.Key(), field, gotv, wantv)
		}
		check("STATUS", g.Status, strings.ToUpper(string(o.Status)))
		check("SUMMARY", g.Summary, o.Title)
		check("DESCRIPTION", g.Description, c.text[o.Key()])
		check("LOCATION", g.Location, o.Location)
		if ok {
			agree[o.Key()] = true
		}
	}
	var extra []string
	for _, gs := range byKey {
		for _, g := range gs {
			extra = append(extra, fmt.Sprintf("%s (RECURRENCE-ID %s) %s to %s %q", g.UID, g.RID, g.Start, g.End, g.Summary))
		}
	}
	sort.Strings(extra)
	for _, e := range extra {
		t.Errorf("%s: %s has an occurrence that schedule.Expand has not: %s", c.name, p, e)
	}
	return agree
}

// pythonUnescape is what python icalendar 4.0.3 makes of text escaped as
// RFC 5545 says: it reads an escaped backslash followed by n, N, a comma
// or a semicolon as the escape of that character, so the backslash is
// lost (seen with parser.py's Contentline and unescape_char).
func pythonUnescape(text string) string {
	s := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(text)
	for _, r := range [][2]string{{`\\n`, "\n"}, {`\\N`, "\n"}, {`\\,`, ","}, {`\\;`, ";"}} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`).Replace(s)
}

// interopQuirks collects known client quirks met, by parser and kind.
type interopQuirks struct {
	sync.Mutex
	seen map[string][]string
}

func (q *interopQuirks) add(parser, kind, where string) {
	q.Lock()
	defer q.Unlock()
	if q.seen == nil {
		q.seen = map[string][]string{}
	}
	q.seen[parser+": "+kind] = append(q.seen[parser+": "+kind], where)
}

var quirks interopQuirks

// nearby describes what a parser has for o's original start, to tell a
// wrong instant from a missing occurrence.
func nearby(got []interopOcc, uid string, o schedule.Occurrence) string {
	if !o.Series {
		return "nothing (a single session)"
	}
	// Original is wall clock in the zone, or UTC for a series that
	// starts with an offset date-time: either names the instance.
	at, _ := schedule.Resolve(o.Original, o.Zone)
	var out []string
	for _, g := range got {
		if g.UID == uid && (g.RID == utcString(at) || g.RID == utcString(o.Original)) {
			out = append(out, fmt.Sprintf("RECURRENCE-ID %s %s to %s", g.RID, g.Start, g.End))
		}
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, "; ")
}

func TestInteropCorpus(t *testing.T) {
	cases := loadCorpus(t)
	scheds := map[string]*schedule.Schedule{}
	total := 0
	for _, c := range cases {
		s, err := schedule.Load(c.name)
		if err != nil {
			t.Fatal(err)
		}
		scheds[c.name] = s
		total += len(c.want)
	}
	// agreed counts, per file and occurrence key, the parsers that agree.
	agreed := map[string]int{}
	ran := 0
	for _, p := range interopParsers {
		t.Run(p.name, func(t *testing.T) {
			cmd := p.setup(t)
			ran++
			for _, c := range cases {
				var got []interopOcc
				out := interopRun(t, p.name, cmd, p.expand(c.ics, c.from, c.to)...)
				sc := bufio.NewScanner(bytes.NewReader(out))
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					var o interopOcc
					if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
						t.Fatalf("%s: %s printed %q: %v", c.name, p.name, sc.Text(), err)
					}
					got = append(got, o)
				}
				for k := range compareOccurrences(t, p.name, c, scheds[c.name], got) {
					agreed[c.name+" "+k]++
				}
			}
		})
	}
	for _, k := range sortedKeys(quirks.seen) {
		t.Logf("known quirk, %s: %d occurrences: %s", k, len(quirks.seen[k]), strings.Join(quirks.seen[k], ", "))
	}
	all := 0
	for _, n := range agreed {
		if n == len(interopParsers) {
			all++
		}
	}
	t.Logf("corpus: %d schedules, %d occurrences; %d agree in all %d parsers (%d ran)",
		len(cases), total, all, len(interopParsers), ran)
}

// zoneQuery is one probe of a zone: the wall clock Go gives instant at,
// how that wall clock resolves, and Go's UTC offset at the instant.
type zoneQuery struct {
	zone   string
	at     time.Time
	wall   time.Time
	local  time.Time // schedule.Resolve(wall)
	fit    schedule.Fit
	offset int
}

// zoneNames reads every zone name in Go's zone database.
func zoneNames(t *testing.T) []string {
	return sortedKeys(goZoneData(t))
}

// zoneProbes returns the instants at which loc is checked: for every
// change of UTC offset from 1970 to 2037, the second before and the
// change itself, and the instants just outside the wall-clock hour that
// the change skips or repeats (whose wall clock is unambiguous).
func zoneProbes(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from; ; {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		_, before := end.Add(-time.Second).In(loc).Zone()
		_, after := end.In(loc).Zone()
		if before != after {
			d := time.Duration(after-before) * time.Second
			if d < 0 {
				d = -d
			}
			out = append(out, end.Add(-time.Second), end, end.Add(-d-time.Second), end.Add(d))
		}
		t = end
	}
	if len(out) == 0 {
		out = append(out, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	return out
}

func TestInteropZones(t *testing.T) {
	from := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)
	names := zoneNames(t)
	cal := newZoneCalendar()
	var queries []zoneQuery
	var lines strings.Builder
	links := 0
	for _, name := range names {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Errorf("LoadLocation(%q): %v", name, err)
			continue
		}
		if tzid(loc) != name {
			// The feed writes a link as its zone, whose data is the
			// same (TestCanonicalTZIDEveryZone): probed there.
			links++
			continue
		}
		cal.Components = append(cal.Components, Timezone(loc, from, to))
		for _, at := range zoneProbes(loc, from, to) {
			wall := schedule.Wall(at, loc)
			local, fit := schedule.Resolve(wall, loc)
			_, off := at.In(loc).Zone()
			queries = append(queries, zoneQuery{name, at, wall, local, fit, off})
			fmt.Fprintf(&lines, "%s %s %d\n", name, wall.Format(localFormat), at.Unix())
		}
	}
	dir := t.TempDir()
	icsFile := filepath.Join(dir, "zones.ics")
	queryFile := filepath.Join(dir, "queries.txt")
	if err := os.WriteFile(icsFile, serialize(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(queryFile, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	names = slices.DeleteFunc(names, func(n string) bool {
		loc, err := time.LoadLocation(n)
		return err == nil && tzid(loc) != n
	})
	t.Logf("%d zones (and %d links to them), %d probes", len(names), links, len(queries))

	for _, p := range interopParsers {
		if !p.zones {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			cmd := p.setup(t)
			out := strings.Split(strings.TrimSpace(string(interopRun(t, p.name, cmd, "zones", icsFile, queryFile))), "\n")
			if len(out) != len(queries) {
				t.Fatalf("%s answered %d probes, want %d", p.name, len(out), len(queries))
			}
			var bad, odd, oddRFC, utcBad, secQuirk, raised int
			badZones := map[string]bool{}
			for i, q := range queries {
				f := strings.Fields(out[i])
				if len(f) > 0 && f[0] == "error" && p.name == "python vobject" && dayJump(q.zone, from, to) {
					// dateutil takes a change's size as its DST and
					// refuses one of a day or more (Samoa skipped 30
					// December 2011): it raises for that zone's times.
					raised++
					continue
				}
				if len(f) != 2 {
					t.Fatalf("%s answered %q", p.name, out[i])
				}
				l2u, err1 := strconv.ParseInt(f[0], 10, 64)
				off, err2 := strconv.Atoi(f[1])
				if err1 != nil || err2 != nil {
					t.Fatalf("%s answered %q", p.name, out[i])
				}
				got := time.Unix(l2u, 0)
				if q.fit != schedule.Exact {
					// The feed never writes such a wall clock with
					// TZID (see dateTime); count what the parser does.
					odd++
					if got.Equal(q.local) {
						oddRFC++
					}
				} else if !got.Equal(q.local) {
					if p.name == "ical.js" && q.offset%60 != 0 && got.Sub(q.local) == time.Duration(q.offset%60)*time.Second {
						// ical.js reads TZOFFSETTO without its
						// seconds (timezone.js convert_tzoffset).
						secQuirk++
					} else {
						bad++
						badZones[q.zone] = true
						if bad <= 20 {
							t.Errorf("%s: %s local %s reads as %s, want %s (Go offset %s)", p.name, q.zone,
								q.wall.Format("2006-01-02T15:04:05"), utcString(got), utcString(q.local), offset(q.offset))
						}
					}
				}
				if off != q.offset {
					utcBad++
					// ical.js and dateutil (python vobject) find the
					// offset of an instant near a change their own way;
					// what a feed needs of them is the wall clock read
					// into an instant, checked above.
					if p.name == "libical" {
						badZones[q.zone] = true
						if utcBad <= 20 {
							t.Errorf("%s: %s offset at %s = %s, want %s", p.name, q.zone, utcString(q.at), offset(off), offset(q.offset))
						}
					}
				}
			}
			t.Logf("%s: %d zones, %d probes: %d wall clocks read wrong in %d zones; %d of %d gap/overlap wall clocks read as RFC 5545 says; "+
				"%d instants given a wrong offset; %d off by ical.js's seconds quirk; %d raised",
				p.name, len(names), len(queries), bad, len(badZones), oddRFC, odd, utcBad, secQuirk, raised)
		})
	}
}

// dayJump reports whether the zone called name changes its UTC offset by
// a day or more between from and to.
func dayJump(name string, from, to time.Time) bool {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return false
	}
	for _, tr := range transitions(loc, from, to) {
		if d := tr.to - tr.from; d >= 24*3600 || d <= -24*3600 {
			return true
		}
	}
	return false
}

// newZoneCalendar returns an empty VCALENDAR to hold VTIMEZONEs.
func newZoneCalendar() *ics.Calendar {
	cal := ics.NewCalendarFor("convene")
	cal.CalendarProperties = cal.CalendarProperties[:0]
	cal.SetVersion("2.0")
	cal.SetProductId("-//convene//interop zones//EN")
	return cal
}

// TestInteropPHPZoneNames asks PHP (Debian php-cli) which zone names it
// lists: sabre/vobject 4 (Nextcloud, SabreDAV) reads a TZID by PHP's
// zone of that name if DateTimeZone::listIdentifiers() holds it, or if it
// is one of a few old names in its own list (Etc/GMT, ...); for any
// other TZID it ignores the VTIMEZONE and reads the times as UTC. Every
// TZID the feed can write, for every zone name events.toml may use, must
// be listed (Etc/ names, which the feed writes for exact instants, are in
// sabre's own list).
func TestInteropPHPZoneNames(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		interopMissing(t, "php is not installed (apt-get install php-cli)")
	}
	out := interopRun(t, "php", []string{php, "-r", `echo implode("\n", DateTimeZone::listIdentifiers()), "\n";`})
	listed := map[string]bool{}
	for _, n := range strings.Fields(string(out)) {
		listed[n] = true
	}
	var before, after []string
	names := zoneNames(t)
	for _, name := range names {
		if name == "Factory" { // tzdata's placeholder, no place's zone
			continue
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		if !listed[name] && !strings.HasPrefix(name, "Etc/") {
			before = append(before, name)
		}
		if id := tzid(loc); !listed[id] && !strings.HasPrefix(id, "Etc/") {
			after = append(after, name+" as "+id)
		}
	}
	t.Logf("PHP lists %d zones; of %d zone names, %d are not listed as written, %d not as the feed writes them",
		len(listed), len(names), len(before), len(after))
	if len(after) > 0 {
		t.Errorf("the feed writes TZIDs that PHP does not list: %s", strings.Join(after, ", "))
	}
}
