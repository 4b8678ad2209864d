package schedule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestParseBadFile checks that one bad file reports every problem at once,
// each with its file, line, key path and rule.
func TestParseBadFile(t *testing.T) {
	data, err := os.ReadFile("testdata/bad.toml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("bad.toml", data)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse(bad.toml) error = %v, want Problems", err)
	}
	want := []string{
		`bad.toml:4: calendar.timezone: "America/New_Yrok" is not an IANA time zone name; did you mean America/New_York?`,
		`bad.toml:5: calendar.duration: "90 minutes" is not a duration (units h, m, s, written together); did you mean "90m"?`,
		`bad.toml:6: calendar.colour: unknown key; the keys here are description, duration, location, name, organizer, timezone, url`,
		`bad.toml:7: calendar.url: "ftp://example.org" must be an absolute http or https URL`,
		`bad.toml:10: reminders.before[1]: "-1h" must be a positive duration such as "1h30m"`,
		`bad.toml:11: reminders.recipients[0]: "not an address" is not an email address`,
		`bad.toml:18: sessions[0].end: 2024-03-01T19:00:00 is not after start 2024-03-01T20:00:00`,
		`bad.toml:21: sessions[1].id: duplicate id "intro" (also sessions[0].id)`,
		`bad.toml:22: sessions[1].title: must be one line`,
		`bad.toml:26: sessions[1].location: holds control character U+0007`,
		`bad.toml:31: sessions[2].start: 2024-03-10T02:30 does not exist in America/New_York (clocks go forward at 02:00)`,
		`bad.toml:33: sessions[2].status: "maybe" must be confirmed, tentative or cancelled`,
		`bad.toml:36: sessions[3].id: "Bad_ID" must be lowercase letters, digits and single hyphens ([a-z0-9-]); did you mean "bad-id"?`,
		`bad.toml:39: sessions[3].timezone: "Mars/Olympus" is not an IANA time zone name`,
		`bad.toml:40: sessions[3].duration: "0s" must be a positive duration such as "1h30m"`,
		`bad.toml:48: series[0].skip[0]: the series has no occurrence on 2024-01-08; the nearest are Sun 2024-01-07 and Sun 2024-01-14`,
		`bad.toml:48: series[0].skip[1]: the series has no occurrence at 2024-01-14T21:00:00; that day it has 2024-01-14T20:00:00`,
		`bad.toml:52: series[0].changes[0].occurrence: the series has no occurrence on 2024-01-09; the nearest are Sun 2024-01-07 and Sun 2024-01-14`,
		`bad.toml:57: series[0].changes[1].end: 2024-01-21T19:00:00 is not after start 2024-01-21T20:00:00`,
		`bad.toml:58: series[0].changes[1].flavour: unknown key; the keys here are description, duration, end, facilitator, links, location, occurrence, reading, recording, reminders, start, status, title`,
		`bad.toml:65: series[1].rrule: "FREQ=SOMETIMES" is not an RFC 5545 RRULE: undefined frequency: SOMETIMES`,
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
		if p.File != "bad.toml" || p.Line == 0 || p.Key == "" || p.Rule == "" {
			t.Errorf("problem %+v lacks a file, line, key or rule", p)
		}
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("Parse(bad.toml) =\n%s\nwant\n%s", g, w)
	}
	if err.Error() != strings.Join(want, "\n") {
		t.Errorf("Problems.Error() =\n%s", err)
	}
}

func TestParseProblems(t *testing.T) {
	const cal = "[calendar]\nname = \"G\"\ntimezone = \"America/New_York\"\n"
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{
			name: "one-off session in a spring-forward gap",
			toml: cal + `
[[sessions]]
id = "a"
title = "A"
start = 2024-03-09T20:00:00
[[sessions]]
id = "b"
title = "B"
start = 2024-03-09T21:00:00
[[sessions]]
id = "c"
title = "C"
start = 2024-03-10T02:30:00`,
			want: []string{"events.toml:16: sessions[2].start: 2024-03-10T02:30 does not exist in America/New_York (clocks go forward at 02:00)"},
		},
		{
			name: "syntax error has its line",
			toml: cal + "\n[[sessions]\nid = \"a\"\n",
			want: []string{"events.toml:5: syntax: expected end of table array name delimiter ']', but got '\\n' instead"},
		},
		{
			name: "syntax error: value missing",
			toml: cal + "description =\n",
			want: []string{"events.toml:4: description has no value: write one after the =, such as description = \"...\""},
		},
		{
			name: "missing calendar",
			toml: "[[sessions]]\nid = \"a\"\ntitle = \"A\"\nstart = 2024-01-01T10:00:00\n",
			want: []string{
				`events.toml:1: calendar: the [calendar] table is missing; start the file with it, e.g. [calendar] name = "Reading group" timezone = "America/New_York" (each key on its own line)`,
			},
		},
		{
			name: "wrong types and missing keys",
			toml: cal + `[[sessions]]
id = "a"
title = "A"
start = "2024-01-01T10:00:00"
links = [
  { title = "x", url = "nope" },
  { url = "https://a.example" },
]
[[sessions]]
id = "b"`,
			want: []string{
				"events.toml:7: sessions[0].start: is text in quotes, but a date-time is written without them: start = 2024-01-01T10:00:00",
				`events.toml:8: sessions[0].links[0].url: "nope" must be an absolute http or https URL`,
				"events.toml:8: sessions[0].links[1].title: is required",
				"events.toml:12: sessions[1].start: is required",
				"events.toml:12: sessions[1].title: is required",
			},
		},
		{
			name: "one-line fields",
			toml: cal + `url = "https://example.org/a\nb"
location = "tab\there is fine, bell \u0007 is not"
[[sessions]]
id = "a"
title = "A\r"
start = 2024-01-01T10:00:00
description = "line one\nline two is fine here"
facilitator = "x\ny"`,
			want: []string{
				"events.toml:4: calendar.url: must be one line",
				"events.toml:5: calendar.location: holds control character U+0007",
				"events.toml:8: sessions[0].title: holds control character U+000D",
				"events.toml:11: sessions[0].facilitator: must be one line",
			},
		},
		{
			name: "end and duration both, start with only a date",
			toml: cal + `[[sessions]]
id = "a"
title = "A"
start = 2024-01-01
[[sessions]]
id = "b"
title = "B"
start = 2024-01-01T10:00:00
end = 2024-01-01T11:00:00
duration = "1h"`,
			want: []string{
				"events.toml:7: sessions[0].start: 2024-01-01 is a date without a time of day: write it as start = 2024-01-01T20:00:00, with the time",
				"events.toml:12: sessions[1].end: set end or duration, not both",
			},
		},
		{
			name: "series problems",
			toml: cal + `[[series]]
id = "s"
title = "S"
start = 2024-01-01T20:00:00
rrule = "FREQ=WEEKLY;BYDAY=SU"
[[series]]
id = "t"
title = "T"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY;COUNT=3;UNTIL=20240301"
[[series]]
id = "u"
title = "U"
start = 2024-01-07T20:00:00
rrule = "FREQ=HOURLY"
[[series]]
id = "v"
title = "V"
start = 2024-01-07T20:00:00
rrule = "FREQ=DAILY;DTSTART=20240107T200000"
[[series]]
id = "w"
title = "W"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY"
skip = [2024-01-14, 2024-01-14T20:00:00, "soon"]
[[series.changes]]
occurrence = 2024-01-14
title = "Twice"
[[series.changes]]
title = "Which?"
[[series.changes]]
occurrence = 2024-01-21T20:00:00-05:00`,
			want: []string{
				`events.toml:8: series[0].rrule: start 2024-01-01T20:00 (Monday) is not an occurrence of "FREQ=WEEKLY;BYDAY=SU"; make them agree`,
				"events.toml:13: series[1].rrule: COUNT and UNTIL must not both be set (RFC 5545 section 3.3.10); keep one: FREQ=WEEKLY;COUNT=3 or FREQ=WEEKLY;UNTIL=20240301",
				"events.toml:18: series[2].rrule: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
				"events.toml:23: series[3].rrule: must not hold DTSTART: the series' start is its DTSTART",
				"events.toml:29: series[4].skip[1]: 2024-01-14T20:00 is already changed or skipped by series[4].skip[0]",
				`events.toml:29: series[4].skip[2]: must be a local date (2023-08-27) or the original local date-time`,
				"events.toml:31: series[4].changes[0].occurrence: 2024-01-14T20:00 is already changed or skipped by series[4].skip[0]",
				"events.toml:33: series[4].changes[1].occurrence: is required",
				"events.toml:36: series[4].changes[2].occurrence: must be a local date or local date-time, without an offset",
			},
		},
		{
			name: "recordings",
			toml: cal + `[[sessions]]
id = "a"
title = "A"
start = 2024-01-01T10:00:00
recording = { url = "http://example.org/a.mp3", type = "text/html", length = 0, duration = "long", bitrate = 128 }
[[sessions]]
id = "b"
title = "B"
start = 2024-01-02T10:00:00
recording = [
  { url = "https://example.org/b.mp3", type = "audio/mpeg", length = 1.5 },
  { type = "video/mp4", length = 10 },
  "https://example.org/b.ogg",
]
[[sessions]]
id = "c"
title = "C"
start = 2024-01-03T10:00:00
recording = "https://example.org/c.mp3"
[[series]]
id = "s"
title = "S"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY"
recording = { url = "https://example.org/s.mp3", type = "audio/mpeg", length = 1 }
[[series.changes]]
occurrence = 2024-01-14
recording = { url = "https://example.org/s.mp3", type = "audio/mpeg" }`,
			want: []string{
				`events.toml:8: sessions[0].recording.url: "http://example.org/a.mp3" must be an https URL, where podcast apps and browsers can fetch it`,
				`events.toml:8: sessions[0].recording.type: "text/html" must be an audio or video media type such as "audio/mpeg" or "video/mp4"`,
				`events.toml:8: sessions[0].recording.length: 0 must be a positive number of bytes`,
				`events.toml:8: sessions[0].recording.duration: "long" must be a positive duration such as "1h30m"`,
				`events.toml:8: sessions[0].recording.bitrate: unknown key; the keys here are duration, length, type, url`,
				`events.toml:13: sessions[1].recording[0].length: 1.5 must be the file's size in bytes, a whole number such as 48213000`,
				`events.toml:13: sessions[1].recording[1].url: is required`,
				`events.toml:13: sessions[1].recording[2]: must be a table`,
				`events.toml:22: sessions[2].recording: must be { url = "https://…", type = "audio/mpeg", length = BYTES, duration = "1h12m" } or a list of them`,
				`events.toml:28: series[0].recording: unknown table recording here; did you mean [[sessions.recording]] or [[series.changes.recording]]?`,
				`events.toml:31: series[0].changes[0].recording.length: is required: the file's size in bytes (podcast apps need it)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("events.toml", []byte(tt.toml))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse error = %v, want Problems", err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
			}
			if g, w := strings.Join(got, "\n"), strings.Join(tt.want, "\n"); g != w {
				t.Errorf("Parse =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestLoadSample(t *testing.T) {
	s, err := Load(filepath.Join("..", "events.toml"))
	if err != nil {
		t.Fatalf("Load(events.toml): %v", err)
	}
	if len(s.Sessions) == 0 || len(s.Series) == 0 || s.Calendar.Zone.String() != "America/New_York" {
		t.Errorf("sample schedule = %d sessions, %d series, zone %v", len(s.Sessions), len(s.Series), s.Calendar.Zone)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestRecordings(t *testing.T) {
	const toml = `[calendar]
name = "G"
timezone = "America/New_York"
[[sessions]]
id = "a"
title = "A"
start = 2024-01-01T10:00:00
recording = { url = "https://example.org/a.mp3", type = "audio/mpeg", length = 48213000, duration = "1h12m" }
[[series]]
id = "s"
title = "S"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY;COUNT=3"
[[series.changes]]
occurrence = 2024-01-14
recording = [
  { url = "https://example.org/s.mp3", type = "audio/mpeg", length = 1 },
  { url = "https://example.org/s.mp4", type = "video/mp4", length = 2 },
]`
	s, err := Parse("events.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	want := Recording{URL: "https://example.org/a.mp3", Type: "audio/mpeg", Length: 48213000, Duration: 72 * time.Minute}
	if got := s.Sessions[0].Recordings; len(got) != 1 || got[0] != want {
		t.Errorf("session recordings = %+v, want [%+v]", got, want)
	}
	var n []int
	for _, o := range s.Expand(time.Time{}, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		if o.Series {
			n = append(n, len(o.Recordings))
		}
	}
	if fmt.Sprint(n) != "[0 2 0]" {
		t.Errorf("recordings per occurrence = %v, want [0 2 0]", n)
	}
}
