package schedule

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// mistakes are the typical mistakes of a new maintainer, one per file in
// testdata/mistakes, with the one problem check reports: its line, and the
// fix.
var mistakes = []struct {
	file   string
	want   string
	schema bool // a JSON Schema can see this mistake (TestSchemaOnFixtures)
}{
	{"key-typo.toml", `key-typo.toml:10: sessions[0].facilitater: unknown key; did you mean facilitator?`, true},
	{"zone-city.toml", `zone-city.toml:10: sessions[0].timezone: "Berlin" is not an IANA time zone name; did you mean Europe/Berlin?`, true},
	{"unclosed-quote.toml", `unclosed-quote.toml:8: the text of title has no closing ": end it on the same line (title = "Introduction"), or use """ for several lines`, true},
	{"changes-on-top.toml", `changes-on-top.toml:12: changes: unknown table [[changes]] here; did you mean [[series.changes]]?`, true},
	{"duration-days.toml", `duration-days.toml:10: sessions[0].duration: "2d" is not a duration: days are written in hours; did you mean "48h"?`, true},
	{"start-quoted.toml", `start-quoted.toml:9: sessions[0].start: is text in quotes, but a date-time is written without them: start = 2027-01-10T19:00:00`, false},
	{"status-spelling.toml", `status-spelling.toml:10: sessions[0].status: "canceled" must be confirmed, tentative or cancelled; did you mean cancelled?`, true},
	{"one-bracket.toml", `one-bracket.toml:6: session: unknown table session; did you mean [[sessions]]?`, true},
	{"id-title.toml", `id-title.toml:7: sessions[0].id: "Chapter 1" must be lowercase letters, digits and single hyphens ([a-z0-9-]); did you mean "chapter-1"?`, true},
	{"duration-no-unit.toml", `duration-no-unit.toml:10: sessions[0].duration: "90" is not a duration (units h, m, s, written together); did you mean "90m"?`, true},
	{"two-meetings-one-header.toml", `two-meetings-one-header.toml:11: id is set twice in one [[sessions]]: start the next one with its own [[sessions]] line`, true},
	{"reminders-not-list.toml", `reminders-not-list.toml:10: sessions[0].reminders: must be a list of durations such as ["24h", "1h"]; did you mean reminders = ["24h"]?`, true},
	{"url-no-scheme.toml", `url-no-scheme.toml:10: sessions[0].links[0].url: "example.org/slides" must be an absolute http or https URL; did you mean "https://example.org/slides"?`, true},
	{"skip-wrong-day.toml", `skip-wrong-day.toml:12: series[0].skip[0]: the series has no occurrence on 2027-01-18; the nearest are Sun 2027-01-17 and Sun 2027-01-24`, false},
	{"colon.toml", `colon.toml:8: keys and values are joined by =: did you mean title = "Introduction"?`, true},
	{"rrule-no-freq.toml", `rrule-no-freq.toml:10: series[0].rrule: "WEEKLY;INTERVAL=2" is not an RFC 5545 RRULE: "WEEKLY" is not NAME=VALUE; did you mean "FREQ=WEEKLY;INTERVAL=2"?`, true},
	{"skip-not-list.toml", `skip-not-list.toml:11: series[0].skip: must be a list; did you mean skip = [2027-01-17]?`, true},
}

// TestMistakes checks that each typical mistake is reported once, on its
// line, with the fix.
func TestMistakes(t *testing.T) {
	files, err := filepath.Glob("testdata/mistakes/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(mistakes) {
		t.Errorf("testdata/mistakes has %d files, the table %d", len(files), len(mistakes))
	}
	for _, m := range mistakes {
		t.Run(m.file, func(t *testing.T) {
			_, err := Parse(m.file, readFile(t, filepath.Join("testdata/mistakes", m.file)))
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Error() != m.want {
				t.Errorf("Parse(%s) =\n%v\nwant\n%s", m.file, err, m.want)
			}
		})
	}
}

func TestZoneFix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Berlin", "Europe/Berlin"},
		{"new york", "America/New_York"},
		{"America/New_Yrok", "America/New_York"},
		{"europe/london", "Europe/London"},
		{"Sao Paulo", "America/Sao_Paulo"},
		{"Kolkata", "Asia/Kolkata"},
		{"Londn", "Europe/London"},
		{"Mars/Olympus", ""},
	}
	for _, tt := range tests {
		if got := NearestZone(tt.in); got != tt.want {
			t.Errorf("NearestZone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDurationFix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1d", "24h"}, {"1.5 days", "36h"}, {"2 weeks", "336h"}, {"90", "90m"},
		{"90 minutes", "90m"}, {"1h 30m", "1h30m"}, {"2 hours", "2h"}, {"-1h", ""}, {"0", ""}, {"soon", ""},
	}
	for _, tt := range tests {
		if got := durationFix(tt.in); got != tt.want {
			t.Errorf("durationFix(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"title", "facilitator", "reading", "location", "links", "start", "status", "end"}
	tests := []struct{ in, want string }{
		{"facilitater", "facilitator"}, {"Title", "title"}, {"titel", "title"}, {"lnks", "links"},
		{"readings", "reading"}, {"colour", ""}, {"x", ""}, {"stat", "start"},
	}
	for _, tt := range tests {
		if got := nearest(tt.in, names); got != tt.want {
			t.Errorf("nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	tests := []struct {
		path, name string
		value      any
		want       string
	}{
		{"sessions[0]", "rrule", "FREQ=WEEKLY", "unknown key here; did you mean rrule under [[series]]?"},
		{"series[1]", "occurrence", "x", "unknown key here; did you mean occurrence under [[series.changes]]?"},
		{"calendar", "Name", "x", "unknown key; did you mean name?"},
		{"", "calender", map[string]any{}, "unknown table calender; did you mean [calendar]?"},
		{"series[0].changes[2]", "link", []map[string]any{}, "unknown table [[series.changes.link]]; did you mean [[series.changes.links]]?"},
		{"reminders", "colour", "red", "unknown key; the keys here are before, from, recipients"},
	}
	for _, tt := range tests {
		keys, _ := keysAt(tt.path)
		if got := unknownKey(tt.path, tt.name, tt.value, keys); got != tt.want {
			t.Errorf("unknownKey(%s, %s) = %q, want %q", tt.path, tt.name, got, tt.want)
		}
	}
}

// TestTypoSuggestions makes random one-letter typos (a letter replaced,
// dropped, added, or two swapped) in every key of four letters or more,
// and checks that the message suggests a key of that table no further
// from the typo than the key meant.
func TestTypoSuggestions(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2))
	typo := func(s string) string {
		i := rng.IntN(len(s))
		c := string(rune('a' + rng.IntN(26)))
		switch rng.IntN(4) {
		case 0:
			return s[:i] + c + s[i+1:]
		case 1:
			return s[:i] + s[i+1:]
		case 2:
			return s[:i] + c + s[i:]
		}
		if i == len(s)-1 {
			i--
		}
		return s[:i] + s[i+1:i+2] + s[i:i+1] + s[i+2:]
	}
	tables := map[string][]Key{"": Keys}
	Walk(Keys, func(path string, k Key) {
		if k.Kind == KindTable {
			tables[path] = k.Keys
		}
	})
	n := 0
	for path, keys := range tables {
		for _, k := range keys {
			if len(k.Name) < 4 {
				continue
			}
			for range 20 {
				bad := typo(k.Name)
				if _, known := find(keys, bad); known || bad == k.Name {
					continue
				}
				n++
				msg := unknownKey(path, bad, "x", keys)
				_, after, ok := strings.Cut(msg, "did you mean ")
				near := strings.Trim(strings.TrimSuffix(after, "?"), "[]")
				near = near[strings.LastIndex(near, ".")+1:]
				if !ok || distance(bad, near) > distance(bad, k.Name) {
					t.Errorf("a typo %q of %s in [%s]: %q, want a suggestion as near as %s", bad, k.Name, path, msg, k.Name)
				}
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d typos tried", n)
	}
}
