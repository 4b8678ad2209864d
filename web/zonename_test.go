package web

import (
	"strings"
	"testing"
)

// TestZoneNameAsWritten: a schedule that names its zone by a link
// (Europe/Kiev) shows that name on the page, as the maintainer wrote it,
// while the calendar files the page links to write the canonical TZID
// (Europe/Kyiv), which every client reads (see feed's tzid).
func TestZoneNameAsWritten(t *testing.T) {
	h := serveSchedule(t, `[calendar]
name = "Kyiv group"
timezone = "Europe/Kiev"

[[series]]
id = "weekly"
title = "Weekly"
start = 2027-03-02T19:00:00
rrule = "FREQ=WEEKLY;COUNT=10"
`, testNow)
	page := get(t, h, "/")
	if !strings.Contains(page, "Times are in <strong>Europe/Kiev</strong>") {
		t.Errorf("the page does not give the zone as written, Europe/Kiev")
	}
	ics := get(t, h, "/series/weekly/20270309T190000.ics")
	if !strings.Contains(ics, "DTSTART;TZID=Europe/Kyiv:") || strings.Contains(ics, "Europe/Kiev") {
		t.Errorf("the meeting's .ics does not write TZID=Europe/Kyiv alone:\n%s", ics)
	}
}
