package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Limits on events.toml, so that a mistake or an attack (a 50 MB
// description) cannot take the daemon's memory: a schedule of 100,000
// sessions is about 30 MB.
const (
	MaxFileSize = 32 << 20 // bytes of the whole file
	MaxText     = 32 << 10 // bytes of a free-text field (description)
	MaxLine     = 1 << 10  // bytes of a one-line field (title, location, ...)
)

// Load reads and validates the events.toml at path. It decodes the
// [[sessions]] and [[series]] tables one by one, on every core (Reparse
// with no previous schedule), and gives what Parse gives.
func Load(path string) (*Schedule, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Reparse(nil, path, data)
}

// ReadFile reads the events.toml at path, but no more than MaxFileSize
// and one byte (which Parse refuses), into one buffer: a huge file
// written by mistake costs the reader no more than the limit.
func ReadFile(path string) ([]byte, error) {
	return ReadFileInto(path, nil)
}

// ReadFileInto is ReadFile into buf when it is large enough: a caller
// that reads the same file again and again (every SIGHUP) and keeps the
// text only when it changed need not allocate it each time.
func ReadFileInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := MaxFileSize + 1
	if fi, err := f.Stat(); err == nil && fi.Size() < int64(size) {
		size = int(fi.Size()) + 1 // one more, to see the end
	}
	data := buf[:cap(buf)]
	if len(data) < size {
		data = make([]byte, size)
	}
	data = data[:size]
	n, err := io.ReadFull(f, data)
	switch {
	case err == nil && n < MaxFileSize+1: // it grew since Stat
		rest, err := io.ReadAll(io.LimitReader(f, int64(MaxFileSize+1-n)))
		return append(data, rest...), err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = nil
	}
	return data[:n], err
}

// Parse decodes and validates an events.toml held in data; name is used in
// messages. The error, if any, is Problems and lists every problem.
func Parse(name string, data []byte) (*Schedule, error) {
	if len(data) > MaxFileSize {
		return nil, Problems{{File: name, Rule: fmt.Sprintf("is larger than the limit of %d MiB; "+
			"split long texts into links, or move past meetings out of the file", MaxFileSize>>20)}}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		p := Problem{File: name, Rule: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line = pe.Position.Line
			// The decoder counts an offending line end as the next
			// line; the byte offset says where the problem is.
			if at := pe.Position.Start; at > 0 && at <= len(data) {
				p.Line = 1 + bytes.Count(data[:at], []byte("\n"))
			}
			p.Rule = syntaxRule(pe.Message, data, &p.Line)
		}
		return nil, Problems{p}
	}
	d := &decoder{file: name, text: data}
	s := d.schedule(raw)
	if len(d.problems) > 0 {
		return nil, d.sorted()
	}
	d.finish(s)
	return s, nil
}

type decoder struct {
	file     string
	text     []byte
	whole    *Text          // read whole into text at the first problem or warning, if text is nil
	lines    map[string]int // of text, found at the first problem or warning
	problems Problems
	warnings []Problem
	noZone   bool      // calendar.timezone is missing or wrong, which is reported once
	cal      *Calendar // see calendar
	dense    *slabs    // where the sessions read are kept; nil: each on its own
}

// loopback reports whether raw is a URL of this machine (a test or a
// preview), which no mail provider ever sees.
func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

func (d *decoder) schedule(raw map[string]any) *Schedule {
	s, top := d.head(raw)
	d.tables(s, top)
	return s
}

// head reads what comes before the sessions and series: the calendar
// and the reminders. It returns the top-level table, whose sessions and
// series are left to read.
func (d *decoder) head(raw map[string]any) (*Schedule, *table) {
	s := &Schedule{File: d.file}
	top := d.table("", raw)
	cal := d.table("calendar", top.value("calendar"))
	if cal.m == nil && top.m["calendar"] == nil { // absent: say what to add, once
		d.problems = append(d.problems, Problem{File: d.file, Line: 1, Key: "calendar",
			Rule: "the [calendar] table is missing; start the file with it, e.g. " +
				`[calendar] name = "Reading group" timezone = "America/New_York" (each key on its own line)`})
		cal.m, cal.absent, d.noZone = map[string]any{}, true, true
	} else if cal.m == nil {
		cal.m = map[string]any{}
	}
	s.Calendar = Calendar{
		Name:        cal.str("name", oneLine|required),
		Description: cal.str("description", 0),
		URL:         strings.TrimSuffix(cal.url("url"), "/"),
		Location:    cal.str("location", oneLine),
		Duration:    time.Hour,
	}
	if u := s.Calendar.URL; strings.HasPrefix(u, "http://") && !loopback(u) {
		d.warn("calendar.url", "%q is not https: the unsubscribe link of every reminder (List-Unsubscribe, one-click per RFC 8058) must be https, and mail providers ignore an http one; serve it as https://%s", u, strings.TrimPrefix(u, "http://"))
	}
	s.Calendar.Zone = cal.zone("timezone", nil)
	d.noZone = s.Calendar.Zone == nil
	if dur, ok := cal.duration("duration"); ok {
		s.Calendar.Duration = dur
	}
	if v := cal.value("organizer"); v != nil {
		org := d.table("calendar.organizer", v)
		s.Calendar.Organizer = Organizer{Name: org.str("name", oneLine), Email: org.email("email", false)}
		org.done()
	}
	cal.done()

	if v := top.value("reminders"); v != nil {
		rem := d.table("reminders", v)
		s.Reminders.Before = rem.durations("before")
		s.Reminders.From = rem.email("from", true)
		for i, v := range rem.list("recipients") {
			path := fmt.Sprintf("reminders.recipients[%d]", i)
			if a, ok := v.(string); !ok {
				d.fail(path, "must be a string")
			} else if _, err := mail.ParseAddress(a); err != nil {
				d.fail(path, "%q is not an email address", a)
			} else {
				s.Reminders.Recipients = append(s.Reminders.Recipients, a)
			}
		}
		rem.done()
	}
	return s, top
}

// tables reads the sessions and series of top into s, and checks that
// their ids are unique.
func (d *decoder) tables(s *Schedule, top *table) {
	// Each id with the table that has it, whose path is written only
	// for a duplicate: ten thousand sessions need not format theirs.
	type table struct {
		kind string
		i    int
	}
	sessions := top.tables("sessions")
	d.readAhead(sessions, &s.Calendar)
	ids := make(map[string]table, len(sessions))
	unique := func(kind string, i int, id string) {
		if id == "" {
			return
		}
		if prev, ok := ids[id]; ok {
			d.fail(fmt.Sprintf("%s[%d].id", kind, i), "duplicate id %q (also %s[%d].id)", id, prev.kind, prev.i)
		}
		ids[id] = table{kind, i}
	}
	if len(sessions) > 0 {
		s.Sessions = make([]*Session, 0, len(sessions))
		if _, cut := sessions[0].(cutTable); !cut && len(sessions) >= bulkRead {
			d.dense = &slabs{block: slabBytes} // Parse of a whole file
		}
	}
	for i, v := range sessions {
		var ss *Session
		if t, ok := v.(cutTable); ok { // Reparse
			ss = d.cachedSession(i, t.pt, t.text, &s.Calendar)
		} else {
			ss = d.keep(d.session(sessionPath(i), v, &s.Calendar))
		}
		unique("sessions", i, ss.ID)
		s.Sessions = append(s.Sessions, ss)
	}
	for i, v := range top.tables("series") {
		path := fmt.Sprintf("series[%d]", i)
		sr := d.series(path, v, &s.Calendar)
		unique("series", i, sr.ID)
		s.Series = append(s.Series, sr)
	}
	top.done()
}

// keep returns ss where d keeps the sessions it reads.
func (d *decoder) keep(ss Session) *Session {
	if d.dense == nil {
		return &ss
	}
	return d.dense.session(ss)
}

// sessionPath is the path of the session at index i, for messages.
func sessionPath(i int) string { return "sessions[" + strconv.Itoa(i) + "]" }

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// start reads the start, zone and length shared by sessions and series.
func (d *decoder) start(t *table, cal *Calendar) (zone *time.Location, start Time, dur time.Duration) {
	zone = t.zone("timezone", cal.Zone)
	start, _ = t.time("start", true)
	dur = cal.Duration
	end, hasEnd := t.time("end", false)
	if d, ok := t.duration("duration"); ok {
		dur = d
		if hasEnd {
			t.d.fail(t.path+".end", "set end or duration, not both")
		}
	}
	if zone == nil || start.Wall.IsZero() {
		return zone, start, dur
	}
	if hasEnd {
		dur = end.instant(zone).Sub(start.instant(zone))
		if dur <= 0 {
			t.d.fail(t.path+".end", "%s is not after start %s", end, start)
		}
	}
	return zone, start, dur
}

func (d *decoder) session(path string, v any, cal *Calendar) Session {
	t := d.table(path, v)
	s := Session{ID: t.id()}
	s.Zone, s.Start, s.Duration = d.start(t, cal)
	s.Details = t.details(true)
	s.Recordings = t.recordings("recording")
	if s.Zone != nil && !s.Start.Wall.IsZero() {
		if !s.Start.Fixed {
			if _, fit := Resolve(s.Start.Wall, s.Zone); fit == Gap {
				d.fail(path+".start", "%s", describeGap(s.Start.Wall, s.Zone))
			}
		}
		s.at = s.Start.instant(s.Zone).Unix() - zeroUnix
	}
	t.done()
	return s
}

func (d *decoder) series(path string, v any, cal *Calendar) Series {
	t := d.table(path, v)
	s := Series{ID: t.id()}
	s.Zone, s.Start, s.Duration = d.start(t, cal)
	s.Details = t.details(true)
	s.RRule = t.str("rrule", oneLine|required)
	skips := t.list("skip")
	changes := t.tables("changes")
	if s.Zone == nil || s.Start.Wall.IsZero() || s.RRule == "" {
		t.done()
		return s
	}
	var err error
	if s.rule, err = newRule(s.RRule, s.Start, s.Zone); err != nil {
		d.fail(path+".rrule", "%v", err)
		t.done()
		return s
	}
	seen := map[time.Time]string{}
	claim := func(path string, walls []time.Time) {
		for _, w := range walls {
			if prev, ok := seen[w]; ok {
				d.fail(path, "%s is already changed or skipped by %s", w.Format("2006-01-02T15:04"), prev)
				continue
			}
			seen[w] = path
		}
	}
	for i, v := range skips {
		p := fmt.Sprintf("%s.skip[%d]", path, i)
		if walls := d.occurrences(p, v, s.rule); walls != nil {
			claim(p, walls)
			s.Skip = append(s.Skip, walls...)
		}
	}
	var changePaths []string
	for i, v := range changes {
		p := fmt.Sprintf("%s.changes[%d]", path, i)
		ct := d.table(p, v)
		walls := d.occurrences(p+".occurrence", ct.value("occurrence"), s.rule)
		if len(walls) > 1 {
			d.fail(p+".occurrence", "%d occurrences fall on that date; give the original date-time", len(walls))
		}
		c := Change{Duration: s.Duration}
		c.Start, _ = ct.time("start", false)
		if dur, ok := ct.duration("duration"); ok {
			c.Duration = dur
		}
		if end, ok := ct.time("end", false); ok && len(walls) == 1 {
			start := c.Start
			if start.Wall.IsZero() {
				start = Time{Wall: walls[0], Fixed: s.Start.Fixed}
			}
			c.Duration = end.instant(s.Zone).Sub(start.instant(s.Zone))
			if c.Duration <= 0 {
				d.fail(p+".end", "%s is not after start %s", end, start)
			}
		}
		c.Details = ct.details(false)
		c.Recordings = ct.recordings("recording")
		ct.done()
		if len(walls) == 1 {
			c.Original = walls[0]
			claim(p+".occurrence", walls)
			s.Changes = append(s.Changes, c)
			changePaths = append(changePaths, p)
		}
	}
	for _, w := range s.rule.warnings() {
		d.warn(path+".rrule", "%s", w)
	}
	d.sameDay(changePaths, &s)
	t.done()
	return s
}

// sameDay warns about a change that moves a meeting onto a day with
// another meeting of the series: calendars built on recurring-ical-events
// show only the last meeting of a day of one series.
func (d *decoder) sameDay(paths []string, s *Series) {
	gone := map[time.Time]bool{} // original starts skipped or changed
	for _, w := range s.Skip {
		gone[w] = true
	}
	days := make([]time.Time, len(s.Changes))
	for i, c := range s.Changes {
		gone[c.Original] = true
		days[i] = startOfDay(c.Original)
		if c.Start.Fixed {
			days[i] = startOfDay(Wall(c.Start.Wall, s.wallZone()))
		} else if !c.Start.Wall.IsZero() {
			days[i] = startOfDay(c.Start.Wall)
		}
	}
	for i, c := range s.Changes {
		if c.Start.Wall.IsZero() {
			continue
		}
		var others []string
		for _, w := range s.rule.between(days[i], days[i].AddDate(0, 0, 1).Add(-time.Second)) {
			if !gone[w] {
				others = append(others, w.Format("15:04"))
			}
		}
		for j := range s.Changes {
			if j != i && days[j].Equal(days[i]) {
				others = append(others, paths[j])
			}
		}
		if len(others) > 0 {
			d.warn(paths[i]+".start", "moves a meeting onto %s, which has another meeting of this series (%s), and calendars built on "+
				"recurring-ical-events show only the last meeting of a day of one series; move it to another day or make it a session",
				days[i].Format("2006-01-02"), strings.Join(others, ", "))
		}
	}
}

func startOfDay(w time.Time) time.Time {
	y, m, d := w.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// occurrences reads a skip or change target, a local date or an original
// local date-time, and returns the original starts it names.
func (d *decoder) occurrences(path string, v any, r rule) []time.Time {
	t, ok := v.(time.Time)
	if !ok {
		if v == nil {
			d.fail(path, "is required")
		} else {
			d.fail(path, "must be a local date (2023-08-27) or the original local date-time")
		}
		return nil
	}
	wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	switch t.Location().String() {
	case "date-local":
		walls := r.between(wall, wall.AddDate(0, 0, 1).Add(-time.Second))
		if len(walls) == 0 {
			d.fail(path, "the series has no occurrence on %s%s", wall.Format("2006-01-02"), nearby(r, wall))
		}
		return walls
	case "datetime-local":
		if !r.occursAt(wall) {
			d.fail(path, "the series has no occurrence at %s%s", wall.Format("2006-01-02T15:04:05"), nearby(r, wall))
			return nil
		}
		return []time.Time{wall}
	}
	d.fail(path, "must be a local date or local date-time, without an offset")
	return nil
}

// instant returns the exact instant of t in zone.
func (t Time) instant(zone *time.Location) time.Time {
	if t.Fixed {
		return t.Wall.In(zone)
	}
	at, _ := Resolve(t.Wall, zone)
	return at
}

func (t Time) String() string {
	if t.Fixed {
		return t.Wall.Format(time.RFC3339)
	}
	return t.Wall.Format("2006-01-02T15:04:05")
}
