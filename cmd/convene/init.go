package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/convene/convene/schedule"
)

// initCmd writes a commented events.toml for a new group into a
// directory, asking nothing, and says what to run next.
func initCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	usageLine(fs, stderr, "usage: convene init [flags] [DIR]    (DIR defaults to the current directory)")
	zoneName := fs.String("timezone", "", "the group's IANA time zone (default: this machine's zone)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	dir := "."
	switch len(rest) {
	case 0:
	case 1:
		dir = rest[0]
	default:
		return usageError{fmt.Errorf("unexpected argument %q", rest[1])}
	}
	name := *zoneName
	if name == "" {
		name = localZone()
	}
	zone, err := schedule.LoadZone(name)
	if err != nil {
		if near := schedule.NearestZone(name); near != "" {
			err = fmt.Errorf("%v; did you mean %s?", err, near)
		}
		return usageError{fmt.Errorf("--timezone: %v", err)}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "events.toml")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return usageError{fmt.Errorf("%s exists: convene init never overwrites a schedule (run convene check --config %s)", path, path)}
	}
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, starter(zone, time.Now())); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Wrote %s for a new group in %s.

Next:
  convene check --config %s    # validate it and list the next meetings
  convene serve --config %s --state %s   # the feed and page on http://127.0.0.1:8080
  git init %s && git -C %s add events.toml && git -C %s commit -m "Schedule"   # then "convene diff --git HEAD" shows what each edit changes
`, path, zone, path, path, filepath.Join(dir, "convene.db"), dir, dir, dir)
	return nil
}

// localZone returns the IANA name of this machine's zone: $TZ, else
// /etc/timezone, else the target of /etc/localtime, else UTC.
func localZone() string {
	candidates := []string{strings.TrimPrefix(os.Getenv("TZ"), ":")}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(b)))
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			candidates = append(candidates, name)
		}
	}
	for _, c := range candidates {
		if _, err := schedule.LoadZone(c); err == nil {
			return c
		}
	}
	return "UTC"
}

// starter is the events.toml that init writes: a series that starts a
// week from now at 19:00 in zone, and a first one-off meeting, each key
// explained.
func starter(zone *time.Location, now time.Time) string {
	day := now.In(zone).AddDate(0, 0, 7)
	first := day.Format("2006-01-02") + "T19:00:00"
	kickoff := now.In(zone).AddDate(0, 0, 3).Format("2006-01-02") + "T19:00:00"
	weekday := strings.ToUpper(day.Weekday().String()[:2])
	return `#:schema ` + schedule.SchemaURL + `
# events.toml: the schedule of one group, read by convene.
#
# Edit it, then run "convene check" (it names the line of any mistake and
# lists the next meetings) and "convene diff" (what the edit changes for
# subscribers). The line above gives editors with Taplo or "Even Better
# TOML" completion and checks for every key.
#
# Times without an offset (2024-07-16T20:00:00) are wall-clock times in the
# time zone below; a series keeps its wall-clock time across daylight-saving
# changes.

[calendar]
name = "Our Reading Group"             # required: the name calendars show
description = "What we read, and who is welcome."
# required: the IANA zone name of the group, the default for every meeting
timezone = "` + zone.String() + `"
# url = "https://calendar.example.org" # the public address of convene; set it before
                                       # publishing, and keep it (it is part of every UID)
duration = "1h30m"                     # default length of a meeting
location = "https://meet.jit.si/OurReadingGroup"   # default place or join link

[reminders]
before = ["24h", "1h"]                 # one email per offset before each meeting
# from = "Our Reading Group <reminders@example.org>"
# recipients = ["group@lists.example.org"]   # web sign-ups add more

# A one-off meeting. The id is permanent: calendars recognise the meeting by
# it, so never change it once published.
[[sessions]]
id = "kickoff"
title = "Kick-off: choosing the first book"
start = ` + kickoff + `
facilitator = "Someone"

# A recurring meeting: every week, same weekday and time as the first.
[[series]]
id = "weekly"
title = "Weekly reading"
start = ` + first + `               # the first meeting
rrule = "FREQ=WEEKLY;BYDAY=` + weekday + `"     # RFC 5545 RRULE, without DTSTART
reading = "Chapter 1"
# skip = [2030-01-01]                  # dates with no meeting

# Change one meeting of the series, named by its original date.
# [[series.changes]]
# occurrence = ` + day.AddDate(0, 0, 7).Format("2006-01-02") + `
# title = "Chapter 2"
# start = ` + day.AddDate(0, 0, 7).Format("2006-01-02") + `T18:00:00   # moved an hour earlier
# status = "cancelled"                 # or keep it, marked cancelled
`
}
