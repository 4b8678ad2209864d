package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/mailer"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// diffDay is a day in the week after next, in New York: meetings of the
// test schedules fall after it, inside diff's window and the mailer's
// planning horizon. It is 11 days ahead, not 10, so that the reminders
// 240h before its evening meetings are still to come at any hour the
// tests run (at 10 days, they were late by more than the grace after
// 22:00 in New York).
var diffDay = time.Now().In(mustZone("America/New_York")).AddDate(0, 0, 11)

func mustZone(name string) *time.Location {
	z, err := schedule.LoadZone(name)
	if err != nil {
		panic(err)
	}
	return z
}

// day returns the local date n days after diffDay.
func day(n int) string { return diffDay.AddDate(0, 0, n).Format("2006-01-02") }

// diffOld is a schedule before an edit: two sessions and a weekly series.
func diffOld() string {
	return `[calendar]
name = "Diff group"
timezone = "America/New_York"
url = "https://diff.example.org"

[reminders]
before = ["240h"]
recipients = ["ann@example.org", "bo@example.org"]

[[sessions]]
id = "intro"
title = "Introduction"
start = ` + day(0) + `T20:00:00

[[sessions]]
id = "guest"
title = "Guest talk"
start = ` + day(1) + `T18:00:00

[[series]]
id = "weekly"
title = "Weekly"
start = ` + day(2) + `T19:00:00
rrule = "FREQ=WEEKLY;COUNT=4"
`
}

// diffNew is the edit: intro moves an hour later, guest is renamed (its
// id changes), the second weekly meeting is cancelled, the third gets a
// title, and a session is added.
func diffNew() string {
	s := strings.Replace(diffOld(), day(0)+"T20:00:00", day(0)+"T21:00:00", 1)
	s = strings.Replace(s, `id = "guest"`, `id = "guest-talk"`, 1)
	return s + `
[[series.changes]]
occurrence = ` + day(9) + `
status = "cancelled"

[[series.changes]]
occurrence = ` + day(16) + `
title = "Weekly: the last one"

[[sessions]]
id = "party"
title = "Party"
start = ` + day(30) + `T20:00:00
`
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runDiff(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := exitCode(run(context.Background(), append([]string{"diff"}, args...), &stdout, &stderr), &stderr)
	return stdout.String() + stderr.String(), code
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("diff output lacks %q:\n%s", l, out)
		}
	}
}

func TestDiffFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"old.toml": diffOld(), "new.toml": diffNew()})
	old, new := filepath.Join(dir, "old.toml"), filepath.Join(dir, "new.toml")
	out, code := runDiff(t, old, new)
	if code != 1 {
		t.Errorf("diff of an edit: exit %d, want 1", code)
	}
	at := func(d, hm, utc string) string {
		wall, _ := time.ParseInLocation("2006-01-02 15:04", d+" "+hm, mustZone("America/New_York"))
		return wall.Format("Mon 2006-01-02 15:04 MST") + " (" + wall.UTC().Format("2006-01-02 15:04") + " UTC)"
	}
	weekly2 := diffDay.AddDate(0, 0, 9).Format("20060102") + "T190000"
	weekly3 := diffDay.AddDate(0, 0, 16).Format("20060102") + "T190000"
	wantLines(t, out,
		`warning: id "guest" became "guest-talk": ids are published (the UID guest@diff.example.org)`, `keep id = "guest"`,
		"  moved      intro \"Introduction\"\n             from "+at(day(0), "20:00", "")+"\n             to   "+at(day(0), "21:00", "")+"\n             SEQUENCE 1\n",
		"  removed    guest \"Guest talk\"",
		"  added      guest-talk \"Guest talk\"",
		"  cancelled  weekly/"+weekly2+" \"Weekly\"",
		"  changed    weekly/"+weekly3+" \"Weekly: the last one\"\n             at "+at(day(16), "19:00", "")+"\n             changed: title\n",
		"  added      party \"Party\"",
		"  changed  /calendar.ics", "  changed  /series/weekly.ics", "  changed  /sessions/intro.ics",
		"  added    /sessions/guest-talk.ics", "  removed  /sessions/guest.ics", "  added    /sessions/party.ics",
		"  SEQUENCE 0 -> 1  intro@diff.example.org",
		"(give --state to see which notices would go out to whom)",
		"convene: the edit changes what subscribers see",
	)
	if strings.Contains(out, "SEQUENCE 0 -> 1  weekly@") {
		t.Errorf("the series' own VEVENT did not change, but diff says its SEQUENCE rises:\n%s", out)
	}

	out, code = runDiff(t, old, old)
	if code != 0 {
		t.Errorf("diff of a file with itself: exit %d, want 0:\n%s", code, out)
	}
	wantLines(t, out, "  no meeting changes", "  no feed changes")

	// Only the feed's text changes: still a change for subscribers.
	writeFiles(t, dir, map[string]string{"renamed.toml": strings.Replace(diffOld(), `name = "Diff group"`, `name = "The diff group"`, 1)})
	out, code = runDiff(t, old, filepath.Join(dir, "renamed.toml"))
	if code != 1 || !strings.Contains(out, "  no meeting changes") || !strings.Contains(out, "  changed  /calendar.ics") {
		t.Errorf("diff of a new calendar name: exit %d, want 1 and a changed feed:\n%s", code, out)
	}

	// Errors are exit status 2: an invalid side, a missing file, bad usage.
	writeFiles(t, dir, map[string]string{"bad.toml": strings.Replace(diffNew(), "America/New_York", "Berlin", 1)})
	for _, args := range [][]string{{old, filepath.Join(dir, "bad.toml")}, {old, filepath.Join(dir, "missing.toml")}, {old}, {"--bogus"}} {
		if out, code := runDiff(t, args...); code != 2 {
			t.Errorf("diff %v: exit %d, want 2:\n%s", args, code, out)
		}
	}
	// A new host in calendar.url changes every UID.
	writeFiles(t, dir, map[string]string{"host.toml": strings.Replace(diffOld(), "diff.example.org", "calendar.example.org", 1)})
	out, _ = runDiff(t, old, filepath.Join(dir, "host.toml"))
	wantLines(t, out, "warning: calendar.url moves the UIDs to another host (@diff.example.org -> @calendar.example.org)")

	// An edit of a whole series prints once.
	writeFiles(t, dir, map[string]string{"later.toml": strings.Replace(strings.Replace(diffOld(), day(2)+"T19:00:00", day(2)+"T19:30:00", 1), `title = "Weekly"`, `title = "Weekly reading"`, 1)})
	out, _ = runDiff(t, old, filepath.Join(dir, "later.toml"))
	weekly1 := diffDay.AddDate(0, 0, 2).Format("20060102") + "T193000" // its new key
	wantLines(t, out, "  moved      weekly: 4 meetings alike; the first, weekly/"+weekly1+" \"Weekly reading\":\n             from "+at(day(2), "19:00", "")+"\n             to   "+at(day(2), "19:30", "")+"\n             changed: title\n             SEQUENCE 1\n")
	if strings.Count(out, "  moved  ") != 1 {
		t.Errorf("a series moved as a whole prints more than once:\n%s", out)
	}

	// A new id for a meeting that also moved is found by its title.
	writeFiles(t, dir, map[string]string{"both.toml": strings.Replace(strings.Replace(diffOld(), `id = "guest"`, `id = "guest-talk"`, 1), day(1)+"T18:00:00", day(1)+"T19:00:00", 1)})
	out, _ = runDiff(t, old, filepath.Join(dir, "both.toml"))
	wantLines(t, out, `warning: id "guest" became "guest-talk"`)
}

// gitRepo makes a git repository whose one commit holds diffOld as
// events.toml, and returns it and a function that runs git in it.
func gitRepo(t *testing.T) (dir string, git func(args ...string)) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir = t.TempDir()
	git = func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	writeFiles(t, dir, map[string]string{"events.toml": diffOld()})
	git("add", "events.toml")
	git("commit", "-q", "-m", "schedule")
	return dir, git
}

func TestDiffGit(t *testing.T) {
	dir, _ := gitRepo(t)
	config := filepath.Join(dir, "events.toml")

	out, code := runDiff(t, "--git", "HEAD", "--config", config)
	if code != 0 || !strings.Contains(out, "convene diff HEAD:"+config+" -> "+config) {
		t.Errorf("diff --git HEAD of an unchanged file: exit %d, want 0:\n%s", code, out)
	}
	writeFiles(t, dir, map[string]string{"events.toml": diffNew()})
	out, code = runDiff(t, "--git", "HEAD", "--config", config)
	if code != 1 {
		t.Errorf("diff --git HEAD of an edit: exit %d, want 1", code)
	}
	wantLines(t, out, "  moved      intro \"Introduction\"", "  added      party \"Party\"")

	if out, code := runDiff(t, "--git", "no-such-rev", "--config", config); code != 2 || !strings.Contains(out, "git show no-such-rev:./events.toml") {
		t.Errorf("diff --git no-such-rev: exit %d, want 2 and git's reason:\n%s", code, out)
	}
}

// TestDiffState runs diff against a state in which the reminders of
// intro were sent: moving intro then notifies both recipients, and the
// SEQUENCE numbers continue from the state's. The state file is only read.
func TestDiffState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"old.toml": diffOld(), "new.toml": diffNew()})
	statePath := filepath.Join(dir, "convene.db")
	st, err := store.Open(statePath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// An earlier title of intro, published once: the state's SEQUENCE of
	// intro is then 1.
	earlier, err := schedule.Parse("earlier.toml", []byte(strings.Replace(diffOld(), `title = "Introduction"`, `title = "Intro"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.Render(ctx, earlier, st, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	old, err := schedule.Load(filepath.Join(dir, "old.toml"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := feed.Render(ctx, old, st, now)
	if err != nil {
		t.Fatal(err)
	}
	w, err := mailer.New(mailer.Options{Store: st, Transport: noTransport{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Load(ctx, old, set); err != nil {
		t.Fatal(err)
	}
	rows, err := st.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, r := range rows {
		if r.Occurrence == "intro" {
			if ok, err := st.Claim(ctx, r.ID, r.Starts, now, time.Minute); !ok || err != nil {
				t.Fatalf("Claim(%d) = %v, %v", r.ID, ok, err)
			}
			if err := st.MarkSent(ctx, r.ID, now); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	if sent != 2 {
		t.Fatalf("%d reminders of intro in the outbox, want 2", sent)
	}
	st.Close()
	before, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}

	out, code := runDiff(t, "--state", statePath, filepath.Join(dir, "old.toml"), filepath.Join(dir, "new.toml"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out,
		"Feeds, with SEQUENCE from the state:",
		"  SEQUENCE 1 -> 2  intro@diff.example.org",
		"  moved      notice about intro to 2 recipients\n  2 notices to 2 recipients\n",
		"  reminders: 4 added, 4 dropped, 0 moved\n", // guest-talk and party added, guest and a weekly dropped
	)
	after, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("diff --state wrote to the state file")
	}

	// serve then loads new.toml: the same diff shows the live numbers,
	// raised once, and no notices to come.
	st, err = store.Open(statePath)
	if err != nil {
		t.Fatal(err)
	}
	newSched, err := schedule.Load(filepath.Join(dir, "new.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.Render(ctx, newSched, st, now); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, code = runDiff(t, "--state", statePath, filepath.Join(dir, "old.toml"), filepath.Join(dir, "new.toml"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out,
		"The state already serves the new file",
		"  SEQUENCE 2 (live)  intro@diff.example.org",
		"  notices: already planned by serve",
	)
	if strings.Contains(out, "SEQUENCE 3") {
		t.Errorf("diff of a loaded edit counts SEQUENCE twice:\n%s", out)
	}
	if out, code := runDiff(t, "--state", filepath.Join(dir, "missing.db"), filepath.Join(dir, "old.toml"), filepath.Join(dir, "new.toml")); code != 2 {
		t.Errorf("diff --state missing.db: exit %d, want 2:\n%s", code, out)
	}
}
