package schedule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// This file turns the mistakes people make in events.toml into messages
// that say the fix: a key or zone spelled nearly right, a duration in
// days, a date-time in quotes, and the TOML parser's own words.

// syntaxRule rewrites a TOML parser message about data in plain words,
// with the fix, and corrects line when the parser points past the
// mistake (to the end of the file).
func syntaxRule(msg string, data []byte, line *int) string {
	lines := strings.Split(string(data), "\n")
	text := ""
	if *line > 0 && *line <= len(lines) {
		text = strings.TrimSpace(lines[*line-1])
	}
	key, value, _ := strings.Cut(text, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch {
	case strings.Contains(msg, "strings cannot contain newlines"):
		q := `"`
		if strings.HasPrefix(value, "'") {
			q = "'"
		}
		return fmt.Sprintf("the text of %s has no closing %s: end it on the same line (%s = %s%s), or use \"\"\" for several lines", key, q, key, strings.TrimRight(value, " "), q)
	case strings.Contains(msg, "unexpected EOF") && strings.Contains(msg, `"""`), strings.Contains(msg, "unexpected EOF") && strings.Contains(msg, `'''`):
		if n := unclosed(lines); n > 0 {
			*line = n
		}
		return `this text of several lines has no closing """: end it with """`
	case strings.Contains(msg, "expected value but found") && value == "":
		return fmt.Sprintf("%s has no value: write one after the =, such as %s = \"...\"", key, key)
	case strings.Contains(msg, "expected value but found"):
		return fmt.Sprintf("the value of %s must be quoted text, a number, a date-time, a list [...] or a table {...}; did you mean %s = %q?", key, key, value)
	case strings.Contains(msg, "but got ':' instead"):
		k, v, _ := strings.Cut(text, ":")
		return fmt.Sprintf("keys and values are joined by =: did you mean %s = %s?", strings.TrimSpace(k), strings.TrimSpace(v))
	case strings.Contains(msg, "invalid datetime"):
		return fmt.Sprintf("%s is not a TOML date-time: write 2023-07-16T20:00:00 (four-digit year, two-digit month, day, hour, minute and second), or 2023-07-16 for a date", value)
	case strings.Contains(msg, "has already been defined"):
		return alreadyDefined(msg, text)
	}
	return "syntax: " + msg
}

var definedKey = regexp.MustCompile(`Key '([^']*)' has already been defined`)

// alreadyDefined explains a key or table given twice, most often two
// meetings written under one [[sessions]] header, or [sessions] written
// for [[sessions]].
func alreadyDefined(msg, text string) string {
	m := definedKey.FindStringSubmatch(msg)
	if m == nil {
		return "syntax: " + msg
	}
	path := m[1]
	if strings.HasPrefix(text, "[") && !strings.HasPrefix(text, "[[") {
		if k, ok := lookup(path); ok && k.List {
			return fmt.Sprintf("[%s] is a list of tables: write %s, with two brackets, for each one", path, k.header(path))
		}
		return fmt.Sprintf("[%s] is given twice: merge the two tables", path)
	}
	parent, key := "", path
	if i := strings.LastIndex(path, "."); i >= 0 {
		parent, key = path[:i], path[i+1:]
	}
	if k, ok := lookup(parent); ok && k.List {
		return fmt.Sprintf("%s is set twice in one %s: start the next one with its own %s line", key, k.header(parent), k.header(parent))
	}
	return fmt.Sprintf("%s is set twice: keep one", path)
}

// unclosed returns the line where a multi-line string opens that is still
// open at the end of the file, or 0.
func unclosed(lines []string) int {
	var sc valueScanner
	opened := 0
	for n, line := range lines {
		was := sc.multi != ""
		sc.scan(line)
		if !was && sc.multi != "" {
			opened = n + 1
		}
	}
	if sc.multi == "" {
		return 0
	}
	return opened
}

// NearestZone suggests the IANA name meant by a zone name that is not one:
// "Berlin" is Europe/Berlin, "America/New_Yrok" is America/New_York.
func NearestZone(name string) string {
	want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), " ", "_"))
	var cities []string
	names := ZoneNames()
	for _, z := range names {
		lz := strings.ToLower(z)
		if lz == want {
			return z
		}
		if strings.HasSuffix(lz, "/"+want) {
			cities = append(cities, z)
		}
	}
	if len(cities) > 0 {
		return canonicalFirst(cities)
	}
	if near := nearest(want, names); near != "" {
		return near
	}
	var last []string
	for _, z := range names {
		last = append(last, z[strings.LastIndex(z, "/")+1:])
	}
	if near := nearest(want, last); near != "" {
		return NearestZone(near)
	}
	return ""
}

// canonicalFirst picks, of zones with the same city, one under a
// continent (Europe/Berlin) rather than an alias of it.
func canonicalFirst(zones []string) string {
	for _, region := range []string{"Europe/", "America/", "Asia/", "Africa/", "Australia/", "Pacific/", "Atlantic/", "Indian/", "Antarctica/"} {
		for _, z := range zones {
			if strings.HasPrefix(z, region) {
				return z
			}
		}
	}
	return zones[0]
}

var durationWord = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$`)

// durationFix returns the Go duration meant by a length written another
// way ("1d", "90", "90 minutes", "1h 30m", "2 weeks"), or "".
func durationFix(s string) string {
	if d, err := time.ParseDuration(strings.ReplaceAll(s, " ", "")); err == nil && d > 0 {
		return strings.ReplaceAll(s, " ", "")
	}
	m := durationWord.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil || n <= 0 {
		return ""
	}
	unit := strings.ToLower(m[2])
	switch {
	case unit == "" || strings.HasPrefix(unit, "min"):
		return m[1] + "m"
	case unit == "d" || strings.HasPrefix(unit, "day"):
		return strconv.FormatFloat(n*24, 'f', -1, 64) + "h"
	case unit == "w" || strings.HasPrefix(unit, "week"):
		return strconv.FormatFloat(n*24*7, 'f', -1, 64) + "h"
	case strings.HasPrefix(unit, "h"):
		return m[1] + "h"
	case strings.HasPrefix(unit, "sec"):
		return m[1] + "s"
	}
	return ""
}

// durationRule explains a value that is not a positive duration.
func durationRule(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprintf("%v must be a duration in quotes, such as \"1h30m\"", v)
	}
	fix := durationFix(s)
	switch {
	case fix == "":
		return fmt.Sprintf("%q must be a positive duration such as \"1h30m\"", s)
	case strings.ContainsAny(strings.ToLower(s), "dw"):
		return fmt.Sprintf("%q is not a duration: days are written in hours; did you mean %q?", s, fix)
	}
	return fmt.Sprintf("%q is not a duration (units h, m, s, written together); did you mean %q?", s, fix)
}

// idFix turns a title-like id ("Chapter 1") into one that is valid.
func idFix(id string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(id) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
			continue
		}
		hyphen = true
	}
	return b.String()
}

// timeFix explains a start or end that is not a date-time: one written
// in quotes, or a date without its time.
func timeFix(k string, v any) string {
	const rule = "must be a date-time such as 2023-07-16T20:00:00 (local) or 2023-07-17T00:00:00Z"
	switch v := v.(type) {
	case string:
		var probe struct{ T time.Time }
		if _, err := toml.Decode("T = "+strings.TrimSpace(v), &probe); err == nil {
			return fmt.Sprintf("is text in quotes, but a date-time is written without them: %s = %s", k, strings.TrimSpace(v))
		}
	case time.Time:
		if v.Location().String() == "date-local" {
			return fmt.Sprintf("%s is a date without a time of day: write it as %s = %sT20:00:00, with the time", v.Format("2006-01-02"), k, v.Format("2006-01-02"))
		}
	}
	return rule
}

// listFix says how to write the one value v, given where a list is
// expected, as a list of it: skip = [2027-01-17].
func listFix(k string, v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = strconv.Quote(v)
	case time.Time:
		switch v.Location().String() {
		case "date-local":
			s = v.Format("2006-01-02")
		case "datetime-local":
			s = v.Format("2006-01-02T15:04:05")
		default:
			s = v.Format(time.RFC3339)
		}
	default:
		return ""
	}
	return fmt.Sprintf("; did you mean %s = [%s]?", k, s)
}

// freqFix says to write FREQ= before a bare frequency, part i of an
// RRULE (rrule = "WEEKLY").
func freqFix(parts []string, i int) string {
	switch parts[i] {
	case "DAILY", "WEEKLY", "MONTHLY", "YEARLY":
		fixed := append([]string(nil), parts...)
		fixed[i] = "FREQ=" + parts[i]
		return fmt.Sprintf("; did you mean %q?", strings.Join(fixed, ";"))
	}
	return ""
}

// nearby names the occurrences of r nearest to wall, for a skip or change
// that names none: the ones that day, else the one before and after.
func nearby(r rule, wall time.Time) string {
	day := time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC)
	if same := r.between(day, day.AddDate(0, 0, 1).Add(-time.Second)); len(same) > 0 {
		var at []string
		for _, w := range same {
			at = append(at, w.Format("2006-01-02T15:04:05"))
		}
		return "; that day it has " + strings.Join(at, " and ")
	}
	var near []string
	if before := r.between(day.AddDate(-1, 0, 0), day); len(before) > 0 {
		near = append(near, before[len(before)-1].Format("Mon 2006-01-02"))
	}
	if after := r.between(day.AddDate(0, 0, 1), day.AddDate(1, 0, 1)); len(after) > 0 {
		near = append(near, after[0].Format("Mon 2006-01-02"))
	}
	switch len(near) {
	case 0:
		return ""
	case 1:
		return "; the nearest is " + near[0]
	}
	return "; the nearest are " + strings.Join(near, " and ")
}
