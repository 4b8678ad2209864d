package schedule

import (
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode"
)

// table reads one TOML table and remembers which keys were read, so that
// done can report the rest as unknown.
type table struct {
	d    *decoder
	path string
	m    map[string]any
	used map[string]bool
	defs []Key // the keys the table may hold
	// absent: the table is not in the file, which is reported once, not
	// once per required key.
	absent bool
}

func (d *decoder) table(path string, v any) *table {
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		d.fail(path, "must be a table")
	}
	defs, _ := keysAt(path)
	return &table{d: d, path: path, m: m, used: map[string]bool{}, defs: defs}
}

func (t *table) key(k string) string { return join(t.path, k) }

func (t *table) value(k string) any {
	t.used[k] = true
	return t.m[k]
}

func (t *table) done() {
	var unknown []string
	for k := range t.m {
		if _, defined := find(t.defs, k); !defined || !t.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		t.d.fail(t.key(k), "%s", unknownKey(t.path, k, t.m[k], t.defs))
	}
}

const (
	oneLine = 1 << iota
	required
)

func (t *table) str(k string, flags int) string {
	v := t.value(k)
	if v == nil {
		if flags&required != 0 && !t.absent {
			t.d.fail(t.key(k), "is required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		t.d.fail(t.key(k), "must be a string")
		return ""
	}
	limit, what := MaxText, "a text"
	if flags&oneLine != 0 {
		limit, what = MaxLine, "a one-line field"
	}
	if len(s) > limit {
		t.d.fail(t.key(k), "is %d KiB, over the limit of %d KiB for %s; shorten it, or put the text on a web page and link to it",
			(len(s)+1023)>>10, limit>>10, what)
		return ""
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		if r == '\n' && flags&oneLine != 0 {
			t.d.fail(t.key(k), "must be one line")
			return ""
		}
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			t.d.fail(t.key(k), "holds control character %U", r)
			return ""
		}
	}
	if s = strings.TrimSpace(s); s == "" && flags&required != 0 {
		t.d.fail(t.key(k), "must not be empty")
	}
	return s
}

func (t *table) id() string {
	id := t.str("id", oneLine|required)
	if id != "" && !idPattern.MatchString(id) {
		fix := ""
		if f := idFix(id); f != "" {
			fix = fmt.Sprintf("; did you mean %q?", f)
		}
		t.d.fail(t.key("id"), "%q must be lowercase letters, digits and single hyphens ([a-z0-9-])%s", id, fix)
		return ""
	}
	return id
}

func (t *table) url(k string) string {
	s := t.str(k, oneLine)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		fix := ""
		if u, err := url.Parse("https://" + s); err == nil && !strings.Contains(s, "://") && strings.Contains(u.Host, ".") {
			fix = fmt.Sprintf("; did you mean %q?", u.String())
		}
		t.d.fail(t.key(k), "%q must be an absolute http or https URL%s", s, fix)
		return ""
	}
	return s
}

func (t *table) email(k string, named bool) string {
	s := t.str(k, oneLine)
	if s == "" {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || (!named && a.Name != "") {
		t.d.fail(t.key(k), "%q is not an email address", s)
		return ""
	}
	return s
}

func (t *table) zone(k string, def *time.Location) *time.Location {
	s := t.str(k, oneLine)
	if s == "" {
		if def == nil && t.m != nil && !t.absent && (t.path == "calendar" || !t.d.noZone) {
			t.d.fail(t.key(k), "is required (an IANA name such as America/New_York)")
		}
		return def
	}
	loc, err := LoadZone(s)
	if err != nil {
		msg := err.Error()
		if fix := NearestZone(s); fix != "" {
			msg += "; did you mean " + fix + "?"
		}
		t.d.fail(t.key(k), "%s", msg)
		return def
	}
	return loc
}

func (t *table) duration(k string) (time.Duration, bool) {
	v := t.value(k)
	if v == nil {
		return 0, false
	}
	return t.parseDuration(t.key(k), v)
}

func (t *table) parseDuration(path string, v any) (time.Duration, bool) {
	s, ok := v.(string)
	dur, err := time.ParseDuration(s)
	if !ok || err != nil || dur <= 0 {
		t.d.fail(path, "%s", durationRule(v))
		return 0, false
	}
	return dur, true
}

func (t *table) durations(k string) []time.Duration {
	v := t.value(k)
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		t.d.fail(t.key(k), "must be a list of durations such as [\"24h\", \"1h\"]%s", listFix(k, v))
		return nil
	}
	out := []time.Duration{}
	for i, e := range list {
		if dur, ok := t.parseDuration(fmt.Sprintf("%s[%d]", t.key(k), i), e); ok {
			out = append(out, dur)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

func (t *table) list(k string) []any {
	v := t.value(k)
	if v == nil {
		return nil
	}
	switch l := v.(type) {
	case []any:
		return l
	case []map[string]any:
		out := make([]any, len(l))
		for i := range l {
			out[i] = l[i]
		}
		return out
	}
	t.d.fail(t.key(k), "must be a list%s", listFix(k, v))
	return nil
}

func (t *table) tables(k string) []any { return t.list(k) }

// time reads a TOML local date-time (wall clock in the zone) or offset
// date-time (an exact instant).
func (t *table) time(k string, req bool) (Time, bool) {
	v := t.value(k)
	if v == nil {
		if req {
			t.d.fail(t.key(k), "is required")
		}
		return Time{}, false
	}
	tm, ok := v.(time.Time)
	if ok {
		switch tm.Location().String() {
		case "datetime-local":
			return Time{Wall: time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), 0, time.UTC)}, true
		case "date-local", "time-local":
		default:
			return Time{Wall: tm.UTC().Truncate(time.Second), Fixed: true}, true
		}
	}
	t.d.fail(t.key(k), "%s", timeFix(k, v))
	return Time{}, false
}

func (t *table) details(withTitle bool) Details {
	flags := oneLine
	if withTitle {
		flags |= required
	}
	d := Details{
		Title:       t.str("title", flags),
		Location:    t.str("location", oneLine),
		Description: t.str("description", 0),
		Reading:     t.str("reading", oneLine),
		Facilitator: t.str("facilitator", oneLine),
		Status:      Status(t.str("status", oneLine)),
	}
	switch d.Status {
	case "", Confirmed, Tentative, Cancelled:
	default:
		fix := ""
		if near := nearest(string(d.Status), []string{string(Confirmed), string(Tentative), string(Cancelled)}); near != "" {
			fix = "; did you mean " + near + "?"
		}
		t.d.fail(t.key("status"), "%q must be confirmed, tentative or cancelled%s", d.Status, fix)
	}
	if t.m != nil && t.m["reminders"] != nil {
		d.Reminders = t.durations("reminders")
	}
	t.used["reminders"] = true
	for i, v := range t.list("links") {
		lt := t.d.table(fmt.Sprintf("%s.links[%d]", t.path, i), v)
		l := Link{Title: lt.str("title", oneLine|required), URL: lt.url("url")}
		if l.URL == "" && lt.m != nil && lt.m["url"] == nil {
			lt.d.fail(lt.key("url"), "is required")
		}
		lt.done()
		d.Links = append(d.Links, l)
	}
	return d
}

// recordings reads k, one recording table or a list of them (audio and
// video, say).
func (t *table) recordings(k string) []Recording {
	v := t.value(k)
	if v == nil {
		return nil
	}
	path := t.key(k)
	switch v.(type) {
	case map[string]any:
		if r, ok := t.d.recording(path, v); ok {
			return []Recording{r}
		}
		return nil
	case []any, []map[string]any:
	default:
		t.d.fail(path, `must be { url = "https://…", type = "audio/mpeg", length = BYTES, duration = "1h12m" } or a list of them`)
		return nil
	}
	var out []Recording
	for i, e := range t.list(k) {
		if r, ok := t.d.recording(fmt.Sprintf("%s[%d]", path, i), e); ok {
			out = append(out, r)
		}
	}
	return out
}

func (d *decoder) recording(path string, v any) (Recording, bool) {
	t := d.table(path, v)
	defer t.done()
	if t.m == nil {
		return Recording{}, false
	}
	n := len(d.problems)
	r := Recording{URL: t.str("url", oneLine|required), Type: t.str("type", oneLine|required)}
	if u, err := url.Parse(r.URL); r.URL != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
		d.fail(t.key("url"), "%q must be an https URL, where podcast apps and browsers can fetch it", r.URL)
	}
	if r.Type != "" {
		mt, _, err := mime.ParseMediaType(r.Type)
		if err != nil || (!strings.HasPrefix(mt, "audio/") && !strings.HasPrefix(mt, "video/")) {
			d.fail(t.key("type"), "%q must be an audio or video media type such as \"audio/mpeg\" or \"video/mp4\"", r.Type)
		}
	}
	switch n := t.value("length").(type) {
	case nil:
		d.fail(t.key("length"), "is required: the file's size in bytes (podcast apps need it)")
	case int64:
		if n <= 0 {
			d.fail(t.key("length"), "%d must be a positive number of bytes", n)
		}
		r.Length = n
	default:
		d.fail(t.key("length"), "%v must be the file's size in bytes, a whole number such as 48213000", n)
	}
	if dur, ok := t.duration("duration"); ok {
		r.Duration = dur
	}
	return r, len(d.problems) == n
}
