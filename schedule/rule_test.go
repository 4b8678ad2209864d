package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

// series is an events.toml with one series starting at start.
func series(start, rule string) string {
	return header + `[[series]]
id = "r"
title = "R"
start = ` + start + `
rrule = "` + rule + `"
`
}

// TestRuleCombinationsRefused checks that every rule part combination that
// RFC 5545 section 3.3.10 forbids, or that clients read differently, is a
// problem with its file, line and key, and the fix.
func TestRuleCombinationsRefused(t *testing.T) {
	const thu = "2024-01-04T20:00:00" // the first Thursday of 2024
	tests := []struct{ name, start, rule, want string }{
		{"numbered day weekly", thu, "FREQ=WEEKLY;BYDAY=1TH",
			"BYDAY=1TH: a numbered day (1TH) is allowed only with FREQ=MONTHLY or FREQ=YEARLY (RFC 5545 section 3.3.10); did you mean FREQ=MONTHLY;BYDAY=1TH?"},
		{"numbered day daily", thu, "BYDAY=1TH;FREQ=DAILY;COUNT=3",
			"BYDAY=1TH: a numbered day (1TH) is allowed only with FREQ=MONTHLY or FREQ=YEARLY (RFC 5545 section 3.3.10); did you mean FREQ=MONTHLY;BYDAY=1TH;COUNT=3?"},
		{"numbered day weekly, beyond a month", thu, "FREQ=WEEKLY;BYDAY=20MO",
			"BYDAY=20MO: a numbered day (20MO) is allowed only with FREQ=MONTHLY or FREQ=YEARLY (RFC 5545 section 3.3.10); did you mean FREQ=YEARLY;BYDAY=20MO?"},
		{"numbered day with BYWEEKNO", thu, "FREQ=YEARLY;BYWEEKNO=1;BYDAY=1TH",
			"BYDAY=1TH: a numbered day (1TH) must not be used with BYWEEKNO (RFC 5545 section 3.3.10); did you mean FREQ=YEARLY;BYWEEKNO=1;BYDAY=TH?"},
		{"BYWEEKNO monthly", thu, "FREQ=MONTHLY;BYWEEKNO=1",
			"BYWEEKNO is allowed only with FREQ=YEARLY, not MONTHLY (RFC 5545 section 3.3.10); did you mean FREQ=YEARLY;BYWEEKNO=1?"},
		{"BYYEARDAY daily", thu, "FREQ=DAILY;BYYEARDAY=4",
			"BYYEARDAY must not be used with FREQ=DAILY (RFC 5545 section 3.3.10); did you mean FREQ=YEARLY;BYYEARDAY=4?"},
		{"BYYEARDAY weekly", thu, "FREQ=WEEKLY;BYYEARDAY=4",
			"BYYEARDAY must not be used with FREQ=WEEKLY (RFC 5545 section 3.3.10); did you mean FREQ=YEARLY;BYYEARDAY=4?"},
		{"BYYEARDAY monthly", thu, "FREQ=MONTHLY;BYYEARDAY=4",
			"BYYEARDAY must not be used with FREQ=MONTHLY (RFC 5545 section 3.3.10); did you mean FREQ=YEARLY;BYYEARDAY=4?"},
		{"BYMONTHDAY weekly", thu, "FREQ=WEEKLY;BYMONTHDAY=4",
			"BYMONTHDAY must not be used with FREQ=WEEKLY (RFC 5545 section 3.3.10); did you mean FREQ=MONTHLY;BYMONTHDAY=4?"},
		{"COUNT and UNTIL", thu, "FREQ=WEEKLY;UNTIL=20240301;COUNT=3",
			"COUNT and UNTIL must not both be set (RFC 5545 section 3.3.10); keep one: FREQ=WEEKLY;COUNT=3 or FREQ=WEEKLY;UNTIL=20240301"},
		{"BYSETPOS alone", thu, "FREQ=MONTHLY;BYSETPOS=1",
			"BYSETPOS picks from the meetings that another BYxxx rule part makes and must not be used alone (RFC 5545 section 3.3.10); add one, e.g. FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1 (the last weekday of the month)"},
		{"part twice", thu, "FREQ=WEEKLY;BYDAY=TH;BYDAY=FR",
			"BYDAY appears twice (RFC 5545 section 3.3.10 allows each rule part once); write it once with every value: BYDAY=TH,FR"},
		{"FREQ twice", thu, "FREQ=WEEKLY;FREQ=DAILY",
			"FREQ appears twice (RFC 5545 section 3.3.10 allows each rule part once); keep one"},
		{"sixth Thursday of a month", thu, "FREQ=MONTHLY;BYDAY=1TH,6TH",
			"BYDAY 6TH: a month has at most five of each weekday, so 6TH never comes; use 1 to 5, or -1 to -5 counted from the month's end (-1TH is the last)"},
		{"tenth Thursday of a month of the year", thu, "FREQ=YEARLY;BYMONTH=1;BYDAY=1TH,-10TH",
			"BYDAY -10TH: a month has at most five of each weekday, so -10TH never comes; use 1 to 5, or -1 to -5 counted from the month's end (-1TH is the last)"},
		{"numbered and plain days", thu, "FREQ=MONTHLY;BYDAY=1TH,FR",
			"BYDAY=1TH,FR mixes numbered days (1TH) and plain ones, which rrule-go and python-dateutil read as days that are both at once (none) and calendar apps as either; make one series for the numbered days and one for the others"},
		{"hour listed twice", "2024-01-04T09:00:00", "FREQ=WEEKLY;BYHOUR=9,9",
			"BYHOUR lists 9 twice; list it once"},
		{"day listed twice", thu, "FREQ=WEEKLY;BYDAY=TH,FR,TH",
			"BYDAY lists TH twice; list it once"},
		{"numbered WKST", thu, "FREQ=WEEKLY;WKST=1MO",
			"WKST=1MO must be a day without a number: MO, TU, WE, TH, FR, SA or SU"},
		{"BYEASTER", thu, "FREQ=YEARLY;BYEASTER=0",
			"BYEASTER is not an RFC 5545 rule part; list the meetings as sessions"},
		{"empty part", thu, "FREQ=WEEKLY;",
			`"FREQ=WEEKLY;" is not an RFC 5545 RRULE: "" is not NAME=VALUE`},
		{"no meeting ever", thu, "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
			`start 2024-01-04T20:00 (Thursday) is not an occurrence of "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"; make them agree`},
		{"UNTIL before start", thu, "FREQ=WEEKLY;UNTIL=20231201",
			"UNTIL is before the series' start 2024-01-04T20:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("events.toml", []byte(series(tt.start, tt.rule)))
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 {
				t.Fatalf("Parse(rrule %s) = %v, want one problem", tt.rule, err)
			}
			want := Problem{File: "events.toml", Line: 10, Key: "series[0].rrule", Rule: tt.want}
			if ps[0] != want {
				t.Errorf("Parse(rrule %s) = %s\nwant %s", tt.rule, ps[0], want)
			}
		})
	}
}

// TestRuleAccepted checks valid rules, the no-op BYSECOND=0 among them,
// and that the feed's RRULE puts FREQ first.
func TestRuleAccepted(t *testing.T) {
	tests := []struct{ start, rule, feed string }{
		{"2024-01-04T20:00:00", "FREQ=WEEKLY;BYDAY=TH;BYSECOND=0", "FREQ=WEEKLY;BYDAY=TH;BYSECOND=0"},
		{"2024-01-04T20:00:00", "BYDAY=1TH;FREQ=MONTHLY", "FREQ=MONTHLY;BYDAY=1TH"},
		{"2024-01-04T20:00:00", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=TH", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=TH"},
		{"2024-01-04T20:00:00", "FREQ=YEARLY;BYYEARDAY=4,-1", "FREQ=YEARLY;BYYEARDAY=4,-1"},
		{"2024-01-04T20:00:00", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=4", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=4"},
		{"2024-01-04T20:00:00", "FREQ=YEARLY;BYDAY=1TH", "FREQ=YEARLY;BYDAY=1TH"},
		{"2024-01-04T20:00:00", "FREQ=YEARLY;BYMONTH=1;BYDAY=-4TH", "FREQ=YEARLY;BYMONTH=1;BYDAY=-4TH"},
	}
	for _, tt := range tests {
		s, err := Parse("events.toml", []byte(series(tt.start, tt.rule)))
		if err != nil {
			t.Errorf("Parse(rrule %s) = %v, want no problem", tt.rule, err)
			continue
		}
		if got := s.Series[0].Rule(); got != tt.feed {
			t.Errorf("Rule(%s) = %s, want %s", tt.rule, got, tt.feed)
		}
		if len(s.Warnings) != 0 {
			t.Errorf("Parse(rrule %s) warns %v, want none", tt.rule, s.Warnings)
		}
	}
}

// TestRuleWarnings checks the series that some calendars show differently:
// the file is valid, and each warning has its file, line, key and fix.
func TestRuleWarnings(t *testing.T) {
	tests := []struct{ name, toml, want string }{
		{"two meetings a day", series("2024-01-04T09:00:00", "FREQ=WEEKLY;BYDAY=TH;BYHOUR=9,18;BYMINUTE=0"),
			"events.toml:10: series[0].rrule: FREQ=WEEKLY;BYDAY=TH;BYHOUR=9,18;BYMINUTE=0 makes 2 meetings a day, and calendars built on recurring-ical-events show only the last meeting of a day of one series; make one series per time of day"},
		{"two-digit ordinal", series("2024-05-13T20:00:00", "FREQ=YEARLY;BYDAY=20MO"),
			"events.toml:10: series[0].rrule: BYDAY 20MO has a two-digit number, and python icalendar 4.0.3 silently drops such a rule; use a different rule (such as BYMONTH with a number from 1 to 5) or two series"},
		{"a change onto a day with a meeting", series("2024-01-04T20:00:00", "FREQ=DAILY;COUNT=5") + `
[[series.changes]]
occurrence = 2024-01-05
start = 2024-01-06T09:00:00
`, "events.toml:14: series[0].changes[0].start: moves a meeting onto 2024-01-06, which has another meeting of this series (20:00), and calendars built on recurring-ical-events show only the last meeting of a day of one series; move it to another day or make it a session"},
		{"two changes onto one day", series("2024-01-04T20:00:00", "FREQ=WEEKLY;COUNT=5") + `
[[series.changes]]
occurrence = 2024-01-11
start = 2024-01-13T09:00:00
[[series.changes]]
occurrence = 2024-01-18
start = 2024-01-13T19:00:00
`, "events.toml:14: series[0].changes[0].start: moves a meeting onto 2024-01-13, which has another meeting of this series (series[0].changes[1]), and calendars built on recurring-ical-events show only the last meeting of a day of one series; move it to another day or make it a session\n" +
			"events.toml:17: series[0].changes[1].start: moves a meeting onto 2024-01-13, which has another meeting of this series (series[0].changes[0]), and calendars built on recurring-ical-events show only the last meeting of a day of one series; move it to another day or make it a session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("events.toml", []byte(tt.toml))
			if err != nil {
				t.Fatalf("Parse = %v, want a valid file with warnings", err)
			}
			if got := Problems(s.Warnings).Error(); got != tt.want {
				t.Errorf("Warnings =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	// Moving a meeting to another free day is no warning.
	s := mustParse(t, series("2024-01-04T20:00:00", "FREQ=WEEKLY;COUNT=5")+`
[[series.changes]]
occurrence = 2024-01-11
start = 2024-01-12T09:00:00
`)
	if len(s.Warnings) != 0 {
		t.Errorf("Warnings = %v, want none", s.Warnings)
	}
}

// TestRuleCannotExpand checks that a rule rrule-go cannot expand is a
// problem of events.toml, never a series that silently has no meetings.
func TestRuleCannotExpand(t *testing.T) {
	// rrule-go indexes past its masks for the tenth Monday of December.
	opt := rrule.ROption{Freq: rrule.MONTHLY, Dtstart: time.Date(2024, 1, 1, 20, 0, 0, 0, time.UTC),
		Byweekday: []rrule.Weekday{rrule.MO.Nth(1), rrule.MO.Nth(10)}}
	if _, _, err := prove(opt); err == nil || !strings.Contains(err.Error(), "rrule-go: ") {
		t.Errorf("prove(FREQ=MONTHLY;BYDAY=1MO,10MO) = %v, want the panic as an error", err)
	}
	s, err := Parse("events.toml", []byte(series("2024-01-01T20:00:00", "FREQ=MONTHLY;BYDAY=1MO,10MO")))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Key != "series[0].rrule" || ps[0].Line != 10 {
		n := 0
		if s != nil {
			n = len(s.Expand(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
		}
		t.Fatalf("Parse(FREQ=MONTHLY;BYDAY=1MO,10MO) = %v (%d meetings in 2024), want a problem at series[0].rrule", err, n)
	}
	opt.Byweekday = opt.Byweekday[:1]
	if first, more, err := prove(opt); err != nil || !first.Equal(opt.Dtstart) || !more {
		t.Errorf("prove(FREQ=MONTHLY;BYDAY=1MO) = %v, %v, %v, want its start, more, no error", first, more, err)
	}
}

// BenchmarkNewRule measures what proving that a rule expands costs each
// series at every load.
func BenchmarkNewRule(b *testing.B) {
	start := Time{Wall: time.Date(2024, 1, 4, 20, 0, 0, 0, time.UTC)}
	zone, _ := LoadZone("America/New_York")
	for _, text := range []string{"FREQ=WEEKLY", "FREQ=DAILY", "FREQ=MONTHLY;BYDAY=1TH", "FREQ=YEARLY;BYYEARDAY=4,-1"} {
		b.Run(text, func(b *testing.B) {
			for b.Loop() {
				if _, err := newRule(text, start, zone); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// rrule-go alone searches to the year 9999 for this rule's first
	// meeting: seconds (up to 5 s measured on a loaded 2-core machine).
	b.Run("refused: FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", func(b *testing.B) {
		for b.Loop() {
			if _, err := newRule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", start, zone); err == nil {
				b.Fatal("a rule without meetings is accepted")
			}
		}
	})
}
