package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustParse(t testing.TB, text string) *Schedule {
	t.Helper()
	s, err := Parse("events.toml", []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return s
}

const header = `
[calendar]
name = "Group"
timezone = "America/New_York"
location = "https://meet.example.org/room"
`

// starts lists the occurrences as "key start-UTC end-UTC title status".
func starts(os []Occurrence) []string {
	var out []string
	for _, o := range os {
		out = append(out, strings.Join([]string{o.Key(), o.Start.UTC().Format("2006-01-02T15:04Z"),
			o.End.UTC().Format("15:04Z"), o.Title, string(o.Status)}, " "))
	}
	return out
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name     string
		toml     string
		from, to string
		want     []string
	}{
		{
			name: "weekly across spring forward: 8pm stays 8pm, the UTC instant moves",
			toml: `[[series]]
id = "w"
title = "W"
start = 2024-03-03T20:00:00
rrule = "FREQ=WEEKLY;COUNT=3"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"w/20240303T200000 2024-03-04T01:00Z 02:00Z W confirmed",
				"w/20240310T200000 2024-03-11T00:00Z 01:00Z W confirmed",
				"w/20240317T200000 2024-03-18T00:00Z 01:00Z W confirmed",
			},
		},
		{
			name: "weekly across fall back",
			toml: `[[series]]
id = "w"
title = "W"
start = 2024-10-27T20:00:00
rrule = "FREQ=WEEKLY;COUNT=2"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"w/20241027T200000 2024-10-28T00:00Z 01:00Z W confirmed",
				"w/20241103T200000 2024-11-04T01:00Z 02:00Z W confirmed",
			},
		},
		{
			name: "window cuts an endless series; an occurrence overlapping from is kept",
			toml: `[[series]]
id = "w"
title = "W"
start = 2024-01-07T20:00:00
duration = "2h"
rrule = "FREQ=WEEKLY"`,
			from: "2024-03-11T00:30:00Z", to: "2024-03-25T00:00:00Z",
			want: []string{
				"w/20240310T200000 2024-03-11T00:00Z 02:00Z W confirmed",
				"w/20240317T200000 2024-03-18T00:00Z 02:00Z W confirmed",
			},
		},
		{
			name: "skip by date and by date-time",
			toml: `[[series]]
id = "w"
title = "W"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY;COUNT=4"
skip = [2024-01-14, 2024-01-21T20:00:00]`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"w/20240107T200000 2024-01-08T01:00Z 02:00Z W confirmed",
				"w/20240128T200000 2024-01-29T01:00Z 02:00Z W confirmed",
			},
		},
		{
			name: "changes: moved, retitled, cancelled",
			toml: `[[series]]
id = "w"
title = "W"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY;COUNT=4"
[[series.changes]]
occurrence = 2024-01-14
start = 2024-01-15T19:00:00
duration = "30m"
[[series.changes]]
occurrence = 2024-01-21T20:00:00
title = "Renamed"
[[series.changes]]
occurrence = 2024-01-28
status = "cancelled"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"w/20240107T200000 2024-01-08T01:00Z 02:00Z W confirmed",
				"w/20240114T200000 2024-01-16T00:00Z 00:30Z W confirmed",
				"w/20240121T200000 2024-01-22T01:00Z 02:00Z Renamed confirmed",
				"w/20240128T200000 2024-01-29T01:00Z 02:00Z W cancelled",
			},
		},
		{
			name: "a change moving an occurrence into the window is kept, out of it dropped",
			toml: `[[series]]
id = "w"
title = "W"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY;COUNT=3"
[[series.changes]]
occurrence = 2024-01-21
start = 2024-01-09T20:00:00
[[series.changes]]
occurrence = 2024-01-07
start = 2024-02-01T20:00:00`,
			from: "2024-01-08T12:00:00Z", to: "2024-01-19T00:00:00Z",
			want: []string{
				"w/20240121T200000 2024-01-10T01:00Z 02:00Z W confirmed",
				"w/20240114T200000 2024-01-15T01:00Z 02:00Z W confirmed",
			},
		},
		{
			name: "offset start: the instant stays, across DST",
			toml: `[[series]]
id = "u"
title = "U"
start = 2024-03-03T01:00:00Z
rrule = "FREQ=WEEKLY;COUNT=2"
[[sessions]]
id = "o"
title = "O"
start = 2024-03-20T20:00:00-04:00
end = 2024-03-20T21:15:00-04:00`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"u/20240303T010000 2024-03-03T01:00Z 02:00Z U confirmed",
				"u/20240310T010000 2024-03-10T01:00Z 02:00Z U confirmed",
				"o 2024-03-21T00:00Z 01:15Z O confirmed",
			},
		},
		{
			name: "monthly third Sunday",
			toml: `[[series]]
id = "m"
title = "M"
start = 2024-01-21T20:00:00
rrule = "FREQ=MONTHLY;BYDAY=3SU;COUNT=4"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"m/20240121T200000 2024-01-22T01:00Z 02:00Z M confirmed",
				"m/20240218T200000 2024-02-19T01:00Z 02:00Z M confirmed",
				"m/20240317T200000 2024-03-18T00:00Z 01:00Z M confirmed",
				"m/20240421T200000 2024-04-22T00:00Z 01:00Z M confirmed",
			},
		},
		{
			name: "monthly last Friday in Sydney",
			toml: `[[series]]
id = "f"
title = "F"
timezone = "Australia/Sydney"
start = 2024-03-29T18:00:00
rrule = "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"f/20240329T180000 2024-03-29T07:00Z 08:00Z F confirmed",
				"f/20240426T180000 2024-04-26T08:00Z 09:00Z F confirmed",
				"f/20240531T180000 2024-05-31T08:00Z 09:00Z F confirmed",
			},
		},
		{
			name: "UNTIL as a date includes that day",
			toml: `[[series]]
id = "d"
title = "D"
start = 2024-01-01T20:00:00
rrule = "FREQ=DAILY;UNTIL=20240103"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"d/20240101T200000 2024-01-02T01:00Z 02:00Z D confirmed",
				"d/20240102T200000 2024-01-03T01:00Z 02:00Z D confirmed",
				"d/20240103T200000 2024-01-04T01:00Z 02:00Z D confirmed",
			},
		},
		{
			name: "UNTIL as a local date-time is wall clock in the zone",
			toml: `[[series]]
id = "d"
title = "D"
start = 2024-01-01T20:00:00
rrule = "FREQ=DAILY;UNTIL=20240102T200000"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"d/20240101T200000 2024-01-02T01:00Z 02:00Z D confirmed",
				"d/20240102T200000 2024-01-03T01:00Z 02:00Z D confirmed",
			},
		},
		{
			name: "UNTIL in UTC is an instant",
			toml: `[[series]]
id = "d"
title = "D"
start = 2024-01-01T20:00:00
rrule = "FREQ=DAILY;UNTIL=20240103T005959Z"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"d/20240101T200000 2024-01-02T01:00Z 02:00Z D confirmed",
			},
		},
		{
			name: "series occurrence in a gap uses the offset before it",
			toml: `[[series]]
id = "g"
title = "G"
start = 2024-03-03T02:30:00
rrule = "FREQ=WEEKLY;COUNT=3"`,
			from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z",
			want: []string{
				"g/20240303T023000 2024-03-03T07:30Z 08:30Z G confirmed",
				"g/20240310T023000 2024-03-10T07:30Z 08:30Z G confirmed",
				"g/20240317T023000 2024-03-17T06:30Z 07:30Z G confirmed",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, header+tt.toml)
			got := starts(s.Expand(utc(tt.from), utc(tt.to)))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Expand(%s, %s) =\n%s\nwant\n%s", tt.from, tt.to, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestExpandFit(t *testing.T) {
	s := mustParse(t, header+`[[series]]
id = "g"
title = "G"
start = 2024-10-27T01:30:00
rrule = "FREQ=WEEKLY;COUNT=3"`)
	var fits []Fit
	for _, o := range s.Expand(utc("2024-01-01T00:00:00Z"), utc("2025-01-01T00:00:00Z")) {
		fits = append(fits, o.Fit)
		if o.Zone.String() != "America/New_York" {
			t.Errorf("%s: Zone = %v", o.Key(), o.Zone)
		}
	}
	if want := []Fit{Exact, Overlap, Exact}; len(fits) != 3 || fits[0] != want[0] || fits[1] != want[1] || fits[2] != want[2] {
		t.Errorf("fits = %v, want %v", fits, want)
	}
}

func TestRuleText(t *testing.T) {
	tests := []struct{ rrule, zone, want string }{
		{"FREQ=WEEKLY;COUNT=3", "America/New_York", "FREQ=WEEKLY;COUNT=3"},
		{"rrule:freq=weekly;byday=mo", "America/New_York", "FREQ=WEEKLY;BYDAY=MO"},
		{"FREQ=DAILY;UNTIL=20240103", "America/New_York", "FREQ=DAILY;UNTIL=20240104T045959Z"},
		{"FREQ=DAILY;UNTIL=20240103T200000", "Australia/Sydney", "FREQ=DAILY;UNTIL=20240103T090000Z"},
		{"FREQ=DAILY;UNTIL=20240103T200000Z", "America/New_York", "FREQ=DAILY;UNTIL=20240103T200000Z"},
	}
	for _, tt := range tests {
		s := mustParse(t, header+`[[series]]
id = "d"
title = "D"
timezone = "`+tt.zone+`"
start = 2024-01-01T20:00:00
rrule = "`+tt.rrule+`"`)
		if got := s.Series[0].Rule(); got != tt.want {
			t.Errorf("Rule(%q) = %q, want %q", tt.rrule, got, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	s := mustParse(t, `
[calendar]
name = "Group"
timezone = "Europe/London"
[[sessions]]
id = "a"
title = "A"
start = 2024-06-01T10:00:00
[[sessions]]
id = "b"
title = "B"
start = 2024-06-02T10:00:00
timezone = "Asia/Kolkata"
location = "Room 1"
status = "tentative"
duration = "45m"
`)
	a, b := s.Single(s.Sessions[0]), s.Single(s.Sessions[1])
	if s.Calendar.Duration != time.Hour || a.End.Sub(a.Start) != time.Hour {
		t.Errorf("default duration = %v, session a lasts %v, want 1h", s.Calendar.Duration, a.End.Sub(a.Start))
	}
	if a.Status != Confirmed || a.Location != "" || a.Zone.String() != "Europe/London" {
		t.Errorf("a = status %q location %q zone %v, want confirmed, no location, Europe/London", a.Status, a.Location, a.Zone)
	}
	if !a.Start.Equal(utc("2024-06-01T09:00:00Z")) {
		t.Errorf("a.Start = %v, want 09:00Z", a.Start.UTC())
	}
	if b.Status != Tentative || b.Location != "Room 1" || b.End.Sub(b.Start) != 45*time.Minute || !b.Start.Equal(utc("2024-06-02T04:30:00Z")) {
		t.Errorf("b = %+v", b)
	}

	s = mustParse(t, `
[calendar]
name = "Group"
timezone = "America/New_York"
duration = "1h30m"
location = "https://meet.example.org/room"
[reminders]
before = ["1h", "24h"]
[[series]]
id = "s"
title = "S"
start = 2024-06-01T20:00:00
rrule = "FREQ=WEEKLY;COUNT=2"
location = "Library"
reminders = []
[[series.changes]]
occurrence = 2024-06-08
location = "Park"
[[sessions]]
id = "x"
title = "X"
start = 2024-06-03T20:00:00
reminders = ["2h"]
`)
	os := s.Expand(utc("2024-01-01T00:00:00Z"), utc("2025-01-01T00:00:00Z"))
	if len(os) != 3 {
		t.Fatalf("Expand = %v, want 3", starts(os))
	}
	if os[0].Location != "Library" || os[2].Location != "Park" || os[1].Location != "https://meet.example.org/room" {
		t.Errorf("locations = %q %q %q", os[0].Location, os[1].Location, os[2].Location)
	}
	if d := os[0].End.Sub(os[0].Start); d != 90*time.Minute {
		t.Errorf("duration = %v, want calendar default 1h30m", d)
	}
	if got := s.Offsets(os[0].Details); got == nil || len(got) != 0 {
		t.Errorf("Offsets(series with reminders = []) = %v, want empty", got)
	}
	if got := s.Offsets(os[1].Details); len(got) != 1 || got[0] != 2*time.Hour {
		t.Errorf("Offsets(session) = %v, want [2h]", got)
	}
	if got := s.Reminders.Before; len(got) != 2 || got[0] != 24*time.Hour || got[1] != time.Hour {
		t.Errorf("Reminders.Before = %v, want [24h 1h]", got)
	}
	if got := s.UID("x"); got != "x@convene" {
		t.Errorf("UID = %q", got)
	}
}

func TestKey(t *testing.T) {
	s := mustParse(t, header+`[[series]]
id = "w"
title = "W"
start = 2024-01-07T20:00:00
rrule = "FREQ=WEEKLY;COUNT=2"
[[series.changes]]
occurrence = 2024-01-14
start = 2024-01-20T09:00:00`)
	var keys []string
	for _, o := range s.Expand(utc("2024-01-01T00:00:00Z"), utc("2025-01-01T00:00:00Z")) {
		keys = append(keys, o.Key())
	}
	if got := strings.Join(keys, " "); got != "w/20240107T200000 w/20240114T200000" {
		t.Errorf("keys = %s, want the original starts", got)
	}
}

// TestRuleRefused checks the rules that rrule-go would accept and then
// panic or loop on, or that make a flood of meetings.
func TestRuleRefused(t *testing.T) {
	tests := []struct{ rrule, want string }{
		{"FREQ=MONTHLY;BYDAY=0SU", "BYDAY 0SU: the number before the day must be 1 to 53 or -53 to -1"},
		{"FREQ=MONTHLY;BYDAY=54SU", "BYDAY 54SU: the number before the day must be 1 to 53 or -53 to -1"},
		{"FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be a positive integer"},
		{"FREQ=WEEKLY;INTERVAL=-1", "INTERVAL must be a positive integer"},
		{"FREQ=WEEKLY;COUNT=0", "COUNT must be a positive integer"},
		{"FREQ=YEARLY;BYMONTH=13", "BYMONTH value 13 is out of range"},
		{"FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY value 0 is out of range"},
		{"FREQ=YEARLY;BYSETPOS=-400;BYDAY=SU", "BYSETPOS value -400 is out of range"},
		{"FREQ=DAILY;BYSECOND=1,2", "BYSECOND=1,2: meetings start on a whole minute; remove BYSECOND (BYSECOND=0 is accepted)"},
		{"FREQ=DAILY;BYHOUR=0,1,2,3;BYMINUTE=0,10,20,30,40,50,55", "BYHOUR and BYMINUTE give more than 24 meetings a day"},
	}
	for _, tt := range tests {
		_, err := Parse("events.toml", []byte(header+`[[series]]
id = "r"
title = "R"
start = 2024-01-21T20:00:00
rrule = "`+tt.rrule+`"`))
		want := "events.toml:10: series[0].rrule: " + tt.want
		if err == nil || err.Error() != want {
			t.Errorf("Parse(rrule %s) = %v, want %s", tt.rrule, err, want)
		}
	}
	// Signed values in range are fine.
	mustParse(t, header+`[[series]]
id = "r"
title = "R"
start = 2024-01-31T20:00:00
rrule = "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"`)
}
