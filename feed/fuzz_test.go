package feed

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

var fuzzZones = []string{
	"America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe",
	"Asia/Kolkata", "Pacific/Apia", "UTC", "America/St_Johns", "Asia/Kathmandu",
	"Europe/Moscow", "Pacific/Chatham", "Africa/Casablanca", "America/Sao_Paulo",
}

var fuzzRules = []string{
	"FREQ=WEEKLY;COUNT=10", "FREQ=WEEKLY;INTERVAL=2", "FREQ=DAILY;COUNT=40",
	"FREQ=MONTHLY;COUNT=14", "FREQ=YEARLY;COUNT=3", "FREQ=WEEKLY;UNTIL=20300101",
}

// memState is a State that forgets: the fuzzer renders thousands of
// schedules and a file per run would only measure the disk.
type memState struct{}

func (memState) Stamp(_ context.Context, now time.Time, prints map[string]string) (map[string]store.Version, error) {
	out := map[string]store.Version{}
	for k := range prints {
		out[k] = store.Version{Created: now.UTC().Truncate(time.Second), Modified: now.UTC().Truncate(time.Second)}
	}
	return out, nil
}

// FuzzRender renders a schedule whose text fields, zone and times come
// from the fuzzer, the text set after validation so that what Parse
// would refuse (CR, control characters, invalid UTF-8) reaches the feed
// too. The feed must render, keep its physical form (CRLF, 75 octets,
// whole UTF-8 characters, no control characters), parse with
// golang-ical, and unfold to the text given, less what TEXT cannot hold.
func FuzzRender(f *testing.F) {
	s, err := schedule.Load("../events.toml")
	if err != nil {
		f.Fatal(err)
	}
	ss := s.Sessions[0]
	f.Add(ss.Title, ss.Description, s.Calendar.Location, ss.Facilitator, s.Calendar.Name, s.Calendar.Organizer.Name, uint8(0), int64(1689552000), uint16(90), uint8(1))
	f.Add("Semi; comma, back\\slash \"quote\" 🎉 漢字", "line\r\nbreak\rcr\x00nul\ttab", "https://meet.example.org/a;b,c", "Zoë", "Name: with, all; of \"it\"", "Org, \"Inc\"", uint8(3), int64(1712450000), uint16(45), uint8(2))
	f.Add(strings.Repeat("漢", 40), strings.Repeat("é", 100), "Room 1", "", "G", "", uint8(5), int64(1325203200), uint16(600), uint8(0))
	f.Fuzz(func(t *testing.T, title, desc, location, facilitator, calName, orgName string, zone uint8, at int64, minutes uint16, rule uint8) {
		if title == "" || calName == "" {
			return
		}
		loc := fuzzZones[int(zone)%len(fuzzZones)]
		// A start from 1970 to 2037, on the minute.
		start := time.Unix(at%(67*365*86400), 0).UTC().Truncate(time.Minute)
		if start.Before(time.Unix(0, 0)) {
			start = start.Add(67 * 365 * 24 * time.Hour)
		}
		wall := start.Format("2006-01-02T15:04:05")
		dur := time.Duration(minutes%(24*60)+1) * time.Minute
		text := fmt.Sprintf(`[calendar]
name = "x"
timezone = %q
url = "https://fuzz.example.org"
organizer = { name = "o", email = "o@example.org" }
[[sessions]]
id = "one"
title = "x"
start = %s
duration = %q
[[series]]
id = "many"
title = "x"
start = %s
duration = %q
rrule = %q
`, loc, wall, dur, wall, dur, fuzzRules[int(rule)%len(fuzzRules)])
		sched, err := schedule.Parse("events.toml", []byte(text))
		if err != nil {
			return // a one-off session in a gap; Parse is FuzzParse's
		}
		sched.Calendar.Name = calName
		sched.Calendar.Location = location
		sched.Calendar.Organizer.Name = orgName
		for _, d := range []*schedule.Details{&sched.Sessions[0].Details, &sched.Series[0].Details} {
			d.Title, d.Description, d.Facilitator = title, desc, facilitator
		}
		set, err := Render(context.Background(), sched, memState{}, fixedNow)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		for path, d := range set.Docs() {
			lines := checkLines(t, d.Bytes())
			cal, err := ics.ParseCalendar(bytes.NewReader(d.Bytes()))
			if err != nil {
				t.Fatalf("%s: golang-ical cannot parse the feed: %v\n%s", path, err, d.Bytes())
			}
			if len(cal.Events()) == 0 {
				t.Fatalf("%s: no VEVENT", path)
			}
			for _, got := range values(lines, "SUMMARY") {
				if want := textWant(title); unescape(got) != want {
					t.Fatalf("%s: SUMMARY unfolds to %q, want %q", path, unescape(got), want)
				}
			}
			for _, e := range cal.Events() {
				p := e.GetProperty(ics.ComponentPropertySummary)
				if p == nil || ics.FromText(p.Value) != textWant(title) {
					t.Fatalf("%s: golang-ical reads SUMMARY %v, want %q", path, p, textWant(title))
				}
			}
		}
	})
}

// textWant is s as a TEXT value can hold it: valid UTF-8, CRLF as LF, no
// control characters but LF and HTAB.
func textWant(s string) string { return clean(s) }
