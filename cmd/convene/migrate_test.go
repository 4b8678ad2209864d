package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var unsubscribePath = regexp.MustCompile(`/unsubscribe/[A-Za-z0-9_-]+`)

// TestMigrateState moves a SQLite state that has sent some reminders
// and owes others into PostgreSQL, as the README says: refused while
// serve runs on the file; then a serve on the database serves the same
// feed bytes and ETag, honours the unsubscribe links already mailed,
// sends the reminders still owed once and those already sent never
// again. A second migration into the filled database is refused, and
// --replace does it again.
func TestMigrateState(t *testing.T) {
	pg := testPostgres(t)
	smtpAddr, api := startMailpit(t, mailpitPath(t))
	dir := t.TempDir()
	config, db := filepath.Join(dir, "events.toml"), filepath.Join(dir, "convene.db")
	members := []string{"ana@example.org", "ben@example.org", "chi@example.org"}
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(time.Hour+d).Format("2006-01-02T15:04:05") + "Z" }
	os.WriteFile(config, []byte(fmt.Sprintf(`[calendar]
name = "Moving group"
timezone = "Europe/Paris"
url = "https://moving.example.org"

[reminders]
from = "E2E <reminders@e2e.example.org>"
before = ["1h"]

[[sessions]]
id = "soon"
title = "Soon"
start = %s

[[sessions]]
id = "after"
title = "After the move"
start = %s
`, at(2*time.Second), at(8*time.Second))), 0o644)
	if out, _, err := runCmd(t, append([]string{"subscribers", "add", "--create", "--config", config, "--state", db}, members...)...); err != nil {
		t.Fatalf("subscribers add: %v\n%s", err, out)
	}
	smtp := "smtp://" + smtpAddr + "?tls=none"
	old := startReplica(t, "sqlite", dir, "--config", config, "--state", db, "--smtp", smtp)
	old.ready(t)
	waitFor(t, "the first three reminders", func() bool {
		_, total, _, _ := mailpitMessages(t, api)
		return total >= len(members)
	})
	feed, etag := feedOf(t, old.base, "/calendar.ics")
	if _, _, err := runCmd(t, "migrate-state", "--from", db, "--to", pg); err == nil || !strings.Contains(err.Error(), "the state is in use by process") {
		t.Errorf("migrate-state while serve runs = %v, want it refused", err)
	}
	old.stop()

	out, _, err := runCmd(t, "migrate-state", "--from", db, "--to", pg)
	if err != nil {
		t.Fatalf("migrate-state: %v", err)
	}
	for _, want := range []string{"subscribers 3", "secrets 1", "source 1", "outbox: 3 pending, 3 sent"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate-state said:\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "password") || !strings.Contains(out, "copied "+db+" to postgres://") {
		t.Errorf("migrate-state said:\n%s", out)
	}
	if _, _, err := runCmd(t, "migrate-state", "--from", db, "--to", pg); err == nil || !strings.Contains(err.Error(), "is not empty (rows: ") || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("a second migrate-state into the filled database = %v, want it refused, naming --replace", err)
	}
	if again, _, err := runCmd(t, "migrate-state", "--from", db, "--to", pg, "--replace"); err != nil || !strings.Contains(again, "outbox: 3 pending, 3 sent") {
		t.Errorf("migrate-state --replace = %v\n%s", err, again)
	}

	r := startReplica(t, "postgres", dir, "--config", config, "--state", pg, "--smtp", smtp)
	r.ready(t)
	if got, gotTag := feedOf(t, r.base, "/calendar.ics"); !bytes.Equal(got, feed) || gotTag != etag {
		t.Errorf("the feed on PostgreSQL differs from the one on SQLite (ETag %s, was %s)", gotTag, etag)
	}
	link := unsubscribePath.FindString(mailTo(t, api, members[0]))
	if code, page := getStatus(t, http.DefaultClient, r.base+link); code != 200 || !strings.Contains(page, "Stop the reminders?") {
		t.Errorf("GET %s, mailed before the move, on PostgreSQL = %d:\n%s", link, code, page)
	}
	waitUntilFor(t, 30*time.Second, "the reminders still owed", func() bool {
		_, total, _, _ := mailpitMessages(t, api)
		return total >= 2*len(members)
	})
	time.Sleep(time.Second) // anything more on its way
	byRcpt, total, _, _ := mailpitMessages(t, api)
	if total != 2*len(members) {
		t.Errorf("%d messages (by recipient %v), want %d: one per member and meeting", total, byRcpt, 2*len(members))
	}
}

// TestPostgresDumpRestore walks the README's backup of a PostgreSQL
// state: pg_dump of a database a replica used, pg_restore into another,
// and a replica there serves the same feed bytes and ETag. convene's own
// backup refuses the URL, naming pg_dump.
func TestPostgresDumpRestore(t *testing.T) {
	pg := testPostgres(t)
	dump, restore := needProgram(t, "pg_dump"), needProgram(t, "pg_restore")
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	os.WriteFile(config, []byte(e2eSchedule), 0o644)
	r := startReplica(t, "a", dir, "--config", config, "--state", pg, "--outbox", filepath.Join(dir, "outbox"))
	r.ready(t)
	feed, etag := feedOf(t, r.base, "/calendar.ics")
	file := filepath.Join(dir, "convene.dump")
	if out, err := exec.Command(dump, "-Fc", "-f", file, pg).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	r.stop()
	if _, _, err := runCmd(t, "backup", "--state", pg, filepath.Join(dir, "backup.db")); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("convene backup of a PostgreSQL state = %v, want a refusal naming pg_dump", err)
	}

	other := testPostgres(t)
	if out, err := exec.Command(restore, "--clean", "--if-exists", "-d", other, file).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	b := startReplica(t, "b", dir, "--config", config, "--state", other, "--outbox", filepath.Join(dir, "outbox"))
	b.ready(t)
	if got, gotTag := feedOf(t, b.base, "/calendar.ics"); !bytes.Equal(got, feed) || gotTag != etag {
		t.Errorf("after pg_dump and pg_restore the feed differs (ETag %s, was %s)", gotTag, etag)
	}
}

// TestMigrateStateArguments: what migrate-state refuses before it
// touches a database, each with the fix.
func TestMigrateStateArguments(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--from", missing}, 2, "--to is required"},
		{[]string{"--from", missing, "--to", filepath.Join(dir, "other.db")}, 1, "give the PostgreSQL state as a postgres:// URL"},
		{[]string{"--from", "postgres://convene:secret@db/convene", "--to", "postgres://convene:secret@db2/convene"}, 1, "give the SQLite state file to copy"},
		{[]string{"--from", missing, "--to", "postgres://convene@127.0.0.1:1/convene"}, 1, "the state " + missing + " does not exist: give --from the file serve uses"},
	} {
		_, _, err := runCmd(t, append([]string{"migrate-state"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err, io.Discard) != tt.code || strings.Contains(err.Error(), "secret") {
			t.Errorf("migrate-state %v = %v (exit status %d), want %q and exit status %d, no password", tt.args, err, exitCode(err, io.Discard), tt.want, tt.code)
		}
	}
}
