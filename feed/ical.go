package feed

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/schedule"
)

// This file wraps the gaps of golang-ical v0.3.4, for every other file of
// the package that builds components:
//   - it writes LF unless told otherwise: serialize always asks for CRLF;
//   - SetStartAt with WithTZID still writes a UTC time with Z: date-times
//     are formatted here and set as plain values;
//   - it backslash-escapes parameter values instead of quoting them:
//     parameters are rendered here, and properties that have any are
//     written with their parameters in the property name;
//   - it lets a raw CR through TEXT escaping: text drops control
//     characters other than newline and tab first;
//   - it never builds a VTIMEZONE: see vtimezone.go;
//   - RemovePropertyBy* removes the wrong properties: nothing here removes.

const (
	utcFormat   = "20060102T150405Z"
	localFormat = "20060102T150405"
)

// param is one property parameter, quoted when RFC 5545 requires it.
type param struct{ key, value string }

// property adds a property with parameters to c.
func property(c *ics.ComponentBase, name ics.ComponentProperty, value string, params ...param) {
	if len(params) == 0 {
		// As AddProperty adds it, without the empty map of parameters
		// it makes for each.
		c.Properties = append(c.Properties, ics.IANAProperty{BaseProperty: ics.BaseProperty{IANAToken: string(name), Value: value}})
		return
	}
	// golang-ical writes the IANA token verbatim, so the parameters go
	// there, rendered by us. A token it does not know makes it treat the
	// value as TEXT and escape it, so TEXT values pass through as they
	// are, and other values must not hold characters TEXT escapes.
	var b strings.Builder
	size := len(name)
	for _, p := range params {
		size += len(p.key) + len(p.value) + 4 // ; = and quotes
	}
	b.Grow(size)
	b.WriteString(string(name))
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(paramValue(p.value))
	}
	c.Properties = append(c.Properties, ics.IANAProperty{BaseProperty: ics.BaseProperty{IANAToken: b.String(), Value: value}})
}

// Built once: a Replacer builds its tables on first use, which cost more
// than the replacing when built per value.
var (
	paramEscaper = strings.NewReplacer("^", "^^", "\n", "^n", `"`, "^'")
	uriEscaper   = strings.NewReplacer(`\`, "%5C", ";", "%3B", ",", "%2C", "\n", "")
)

// paramValue quotes v if it holds , ; or : (RFC 5545 section 3.2) and
// encodes the characters a parameter cannot hold as RFC 6868 says.
func paramValue(v string) string {
	v = paramEscaper.Replace(clean(v))
	if strings.ContainsAny(v, ",;:") {
		return `"` + v + `"`
	}
	return v
}

// text returns s safe for a TEXT value: golang-ical escapes \ ; , and
// newline, but not CR or other control characters.
func text(s string) string { return clean(s) }

func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if plain(s) {
		return s // what nearly every text is: nothing to drop or replace
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// plain reports whether s is valid UTF-8 without a control character
// other than newline and tab, which clean returns as it is.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// uri returns u with the characters that golang-ical's TEXT escaping
// would change percent-encoded, for URI values written with parameters.
func uri(u string) string {
	return uriEscaper.Replace(clean(u))
}

// gmt is the zone in which the feed writes an exact instant (UTC zones,
// offset start times, times in a gap or overlap), as local time with
// TZID=Etc/GMT rather than as UTC with Z: clients that honour
// X-WR-TIMEZONE the way Google Calendar does (python's x_wr_timezone, used
// by recurring-ical-events) move every UTC DATE-TIME into that zone, which
// makes a series that starts in UTC recur in the calendar's zone and lets
// a time in an overlap be read again as its second occurrence.
var gmt = func() *time.Location {
	loc, err := schedule.LoadZone("Etc/GMT")
	if err != nil {
		panic(err) // the zone data is bundled
	}
	return loc
}()

// dateTime adds a DATE-TIME property for the instant t: as local time
// with TZID where that local time names t alone in zone, and in gmt
// otherwise (UTC zones, offset start times, times in a gap or overlap).
func dateTime(c *ics.ComponentBase, name ics.ComponentProperty, t time.Time, zone *time.Location, utc bool) {
	if utc || zone == time.UTC || !unambiguous(t, zone) {
		zone = gmt
	}
	property(c, name, t.In(zone).Format(localFormat), param{"TZID", tzid(zone)})
}

// wallTime adds a DATE-TIME property for wall-clock fields as written;
// utc says they are UTC fields (a series with an offset start).
func wallTime(c *ics.ComponentBase, name ics.ComponentProperty, wall time.Time, zone *time.Location, utc bool) {
	if utc || zone == time.UTC {
		zone = gmt
	}
	property(c, name, wall.Format(localFormat), param{"TZID", tzid(zone)})
}

func stamp(c *ics.ComponentBase, name ics.ComponentProperty, t time.Time) {
	c.AddProperty(name, t.UTC().Format(utcFormat))
}

const crlf = "\r\n"

// serialConfig asks golang-ical for CRLF line ends, folded at 75 octets.
// It is one value, which golang-ical only reads.
func serialConfig() *ics.SerializationConfiguration { return &serialConfiguration }

var serialConfiguration = ics.SerializationConfiguration{MaxLength: 75, PropertyMaxLength: 75, NewLine: crlf}

// serialize writes cal with CRLF line ends, folded at 75 octets.
func serialize(cal *ics.Calendar) []byte {
	var b bytes.Buffer
	_ = cal.SerializeTo(&b, serialConfig())
	return b.Bytes()
}

// offset formats a UTC offset in seconds as RFC 5545 utc-offset.
func offset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// duration formats d as an RFC 5545 dur-time, such as PT1H30M.
func duration(d time.Duration) string {
	s := int64(d / time.Second)
	out := "PT"
	if h := s / 3600; h > 0 {
		out += fmt.Sprintf("%dH", h)
	}
	if m := s / 60 % 60; m > 0 {
		out += fmt.Sprintf("%dM", m)
	}
	if sec := s % 60; sec > 0 || out == "PT" {
		out += fmt.Sprintf("%dS", sec)
	}
	return out
}
