package schedule

import (
	"fmt"
	"sort"
	"strings"
)

// Kind is what a key holds: its TOML type and the rule its value follows.
type Kind int

const (
	KindText       Kind = iota // a string, several lines allowed
	KindLine                   // a one-line string
	KindID                     // a one-line string of [a-z0-9-]
	KindURL                    // an absolute http or https URL
	KindEmail                  // a bare email address
	KindMailbox                // an email address with an optional display name
	KindZone                   // an IANA time zone name
	KindDuration               // a Go duration such as "1h30m"
	KindStatus                 // confirmed, tentative or cancelled
	KindRRule                  // an RFC 5545 RRULE without DTSTART
	KindDateTime               // a local or offset date-time
	KindOccurrence             // a local date or local date-time
	KindHTTPS                  // an absolute https URL
	KindMediaType              // an audio/* or video/* media type
	KindBytes                  // a positive whole number of bytes
	KindTable                  // a table whose keys are Key.Keys
)

// Key defines one key of events.toml. Keys is the one definition of the
// file's contract: the decoder refuses any key it does not list, and
// schema/events.schema.json is generated from it (go generate ./schema).
// To add a key: add it here, read it in load.go, use it in
// testdata/every-key.toml, document it in the README's events.toml
// section, and run go generate ./schema; tests fail until all agree.
type Key struct {
	Name     string
	Kind     Kind
	List     bool   // an array of Kind values; with KindTable an array of tables
	OrOne    bool   // with List: one value alone stands for a list of one
	Required bool   // must be given (in a table that is given)
	Default  string // what applies when it is not given, for docs; "" for nothing
	Doc      string // one line for people: what the key means
	Keys     []Key  // the keys of a table, or of each table of an array
}

// details are the keys that a session, a series and a change of one
// occurrence share.
func details(title bool, defaults string) []Key {
	return []Key{
		{Name: "title", Kind: KindLine, Required: title, Default: defaults, Doc: "the meeting's title"},
		{Name: "duration", Kind: KindDuration, Default: defaults, Doc: "how long the meeting lasts; or give end"},
		{Name: "end", Kind: KindDateTime, Doc: "when the meeting ends, instead of duration"},
		{Name: "location", Kind: KindLine, Default: defaults, Doc: "a place, or a link to join the call"},
		{Name: "description", Kind: KindText, Default: defaults, Doc: "free text, several lines allowed"},
		{Name: "reading", Kind: KindLine, Default: defaults, Doc: "what to read before the meeting"},
		{Name: "facilitator", Kind: KindLine, Default: defaults, Doc: "who leads the meeting"},
		{Name: "links", Kind: KindTable, List: true, Default: defaults, Doc: "titled links shown with the meeting, such as a recording", Keys: []Key{
			{Name: "title", Kind: KindLine, Required: true, Doc: "the text of the link"},
			{Name: "url", Kind: KindURL, Required: true, Doc: "where the link goes"},
		}},
		{Name: "status", Kind: KindStatus, Default: or(defaults, `"confirmed"`), Doc: "a cancelled meeting stays in calendars, marked cancelled"},
		{Name: "reminders", Kind: KindDuration, List: true, Default: or(defaults, "[reminders].before"), Doc: "reminder offsets before the start; [] for none"},
	}
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// recording is the key of the recordings of one meeting: a session, or
// one occurrence of a series through a change.
var recording = Key{Name: "recording", Kind: KindTable, List: true, OrOne: true,
	Doc: "the meeting's recording, shown in the page's archive and the podcast feed; a list for several (audio and video)", Keys: []Key{
		{Name: "url", Kind: KindHTTPS, Required: true, Doc: "where the file is"},
		{Name: "type", Kind: KindMediaType, Required: true, Doc: "the file's media type"},
		{Name: "length", Kind: KindBytes, Required: true, Doc: "the file's size in bytes, which podcast apps need"},
		{Name: "duration", Kind: KindDuration, Doc: "how long the recording plays"},
	}}

// meeting returns the keys of a [[sessions]] or [[series]] table.
func meeting(what string) []Key {
	return append([]Key{
		{Name: "id", Kind: KindID, Required: true, Doc: "permanent id of the " + what + ", part of its calendar UID: never change it once published"},
		{Name: "start", Kind: KindDateTime, Required: true, Doc: "local date-time in timezone, or an exact instant with an offset"},
		{Name: "timezone", Kind: KindZone, Default: "calendar.timezone", Doc: "the zone the local times of this " + what + " are read in"},
	}, details(true, "")...)
}

// Keys is the contract of events.toml, its top-level keys in file order.
var Keys = []Key{
	{Name: "calendar", Kind: KindTable, Required: true, Doc: "the group and the defaults of every meeting", Keys: []Key{
		{Name: "name", Kind: KindLine, Required: true, Doc: "the group's name, shown as the calendar's name"},
		{Name: "description", Kind: KindText, Doc: "what the group is, shown with the calendar"},
		{Name: "timezone", Kind: KindZone, Required: true, Doc: "the zone of every meeting that gives none"},
		{Name: "url", Kind: KindURL, Doc: "public base URL of this service; its host is part of every UID, so set it before publishing"},
		{Name: "duration", Kind: KindDuration, Default: `"1h"`, Doc: "default length of a meeting"},
		{Name: "location", Kind: KindLine, Doc: "default place or join link"},
		{Name: "organizer", Kind: KindTable, Doc: "who runs the meetings", Keys: []Key{
			{Name: "name", Kind: KindLine, Doc: "the organizer's name"},
			{Name: "email", Kind: KindEmail, Doc: "the organizer's address, without a name"},
		}},
	}},
	{Name: "reminders", Kind: KindTable, Doc: "the reminder emails", Keys: []Key{
		{Name: "before", Kind: KindDuration, List: true, Doc: "one email per offset before each meeting"},
		{Name: "from", Kind: KindMailbox, Doc: "the sender of reminders"},
		{Name: "recipients", Kind: KindMailbox, List: true, Doc: "static recipients; web sign-ups add more"},
	}},
	{Name: "sessions", Kind: KindTable, List: true, Doc: "one-off meetings", Keys: append(meeting("session"), recording)},
	{Name: "series", Kind: KindTable, List: true, Doc: "recurring meetings", Keys: append(meeting("series"),
		Key{Name: "rrule", Kind: KindRRule, Required: true, Doc: "how it recurs: an RFC 5545 RRULE without DTSTART"},
		Key{Name: "skip", Kind: KindOccurrence, List: true, Doc: "occurrences removed: a local date, or the original local date-time"},
		Key{Name: "changes", Kind: KindTable, List: true, Doc: "changes to one occurrence", Keys: append([]Key{
			{Name: "occurrence", Kind: KindOccurrence, Required: true, Doc: "which occurrence: its local date, or its original local date-time"},
			{Name: "start", Kind: KindDateTime, Doc: "a new start"},
		}, append(details(false, "the series' value"), recording)...)},
	)},
}

// Rule says what a valid value is, for people.
func (k Key) Rule() string {
	switch k.Kind {
	case KindLine:
		return "one line of text"
	case KindID:
		return "lowercase letters, digits and single hyphens ([a-z0-9-])"
	case KindURL:
		return "an absolute http or https URL"
	case KindHTTPS:
		return "an absolute https URL"
	case KindMediaType:
		return `an audio or video media type such as "audio/mpeg" or "video/mp4"`
	case KindBytes:
		return "a positive whole number such as 48213000"
	case KindEmail:
		return "an email address such as labor@example.org"
	case KindMailbox:
		return `an email address, optionally with a name: "Group <group@example.org>"`
	case KindZone:
		return "an IANA time zone name such as America/New_York"
	case KindDuration:
		return `a positive duration such as "1h30m" (units h, m, s; a day is "24h")`
	case KindStatus:
		return "confirmed, tentative or cancelled"
	case KindRRule:
		return `an RFC 5545 RRULE such as "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU"`
	case KindDateTime:
		return "a local date-time such as 2023-07-16T20:00:00, or one with an offset such as 2023-07-17T00:00:00Z"
	case KindOccurrence:
		return "a local date such as 2023-08-27, or a local date-time such as 2023-08-27T20:00:00"
	case KindTable:
		return "a table of the keys below"
	}
	return "text"
}

// header is how a table or array of tables at path is written as a TOML
// header: [calendar], [[series.changes]].
func (k Key) header(path string) string {
	if k.List {
		return "[[" + path + "]]"
	}
	return "[" + path + "]"
}

// Walk calls fn for every key, parents before their keys, with its path
// written as in a TOML header (series.changes.start).
func Walk(keys []Key, fn func(path string, k Key)) {
	var walk func(prefix string, keys []Key)
	walk = func(prefix string, keys []Key) {
		for _, k := range keys {
			path := join(prefix, k.Name)
			fn(path, k)
			walk(path, k.Keys)
		}
	}
	walk("", keys)
}

// keysAt returns the definitions of the keys of the table at path, a
// decoder path such as "series[2].changes[0]", and whether it is known.
func keysAt(path string) ([]Key, bool) {
	keys := Keys
	if path == "" {
		return keys, true
	}
	for _, part := range strings.Split(stripIndexes(path), ".") {
		k, ok := find(keys, part)
		if !ok {
			return nil, false
		}
		keys = k.Keys
	}
	return keys, true
}

func find(keys []Key, name string) (Key, bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// stripIndexes turns "series[2].changes[0]" into "series.changes".
func stripIndexes(path string) string {
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unknownKey explains a key that the table at path does not define, with
// the fix when one is likely: a near spelling, or the table where the key
// belongs.
func unknownKey(path, name string, value any, known []Key) string {
	what := "key"
	switch value.(type) {
	case map[string]any: // a [header] or an inline { table }
		what = "table " + name
	case []map[string]any: // only [[headers]] decode so
		what = "table " + Key{List: true}.header(join(stripIndexes(path), name))
	}
	var names []string
	for _, k := range known {
		names = append(names, k.Name)
	}
	if near := nearest(name, names); near != "" {
		if k, _ := find(known, near); k.Kind == KindTable {
			near = k.header(join(stripIndexes(path), near))
		}
		return fmt.Sprintf("unknown %s; did you mean %s?", what, near)
	}
	var homes []string
	Walk(Keys, func(p string, k Key) {
		if k.Name == name && p != join(stripIndexes(path), name) {
			if k.Kind == KindTable {
				homes = append(homes, k.header(p))
			} else if parent := strings.TrimSuffix(p, "."+name); parent != p {
				pk, _ := lookup(parent)
				homes = append(homes, name+" under "+pk.header(parent))
			}
		}
	})
	if len(homes) > 0 {
		return "unknown " + what + " here; did you mean " + strings.Join(homes, " or ") + "?"
	}
	if len(names) == 0 {
		return "unknown " + what
	}
	sort.Strings(names)
	return "unknown " + what + "; the keys here are " + strings.Join(names, ", ")
}

// lookup returns the definition at a header path such as series.changes.
func lookup(path string) (Key, bool) {
	keys := Keys
	var k Key
	for _, part := range strings.Split(path, ".") {
		var ok bool
		if k, ok = find(keys, part); !ok {
			return Key{}, false
		}
		keys = k.Keys
	}
	return k, true
}

// nearest returns the one candidate within a typo of s: the same letters
// in another case, or few edits away for its length.
func nearest(s string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := distance(strings.ToLower(s), strings.ToLower(c))
		if d == 0 {
			return c
		}
		if limit := max(1, min(len(s), len(c))/3); d <= limit && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the optimal string alignment distance of a and b: the
// edits (insert, delete, substitute, swap two neighbours) from one to the
// other.
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
