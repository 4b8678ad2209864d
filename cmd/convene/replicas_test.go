package main

// Two `convene serve` processes on one PostgreSQL database (README, "More
// than one machine"), against one mailpit: each reminder leaves the fleet
// once, also when one replica is killed mid-batch; both serve the same
// bytes before and after an edit; a sign-up made on one is confirmed on
// the other; /readyz names the database while it is unreachable, and the
// feeds stay served. They need CONVENE_TEST_POSTGRES (.ci/postgres) and
// mailpit, and skip without them unless CONVENE_REQUIRE_INTEROP=1.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// testPostgres returns the URL of a new, empty database on the cluster
// of CONVENE_TEST_POSTGRES, dropped when the test ends.
func testPostgres(t testing.TB) string {
	t.Helper()
	base := needPostgres(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "convene_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		t.Fatalf("create a database on %s: %v", base, err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// needPostgres returns CONVENE_TEST_POSTGRES, or skips the test (fails
// it under CONVENE_REQUIRE_INTEROP=1) when it is not set.
func needPostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("CONVENE_TEST_POSTGRES")
	if base == "" {
		msg := "CONVENE_TEST_POSTGRES is not set: start a throwaway cluster with eval \"$(.ci/postgres)\""
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return base
}

// mailpitMessages returns, for each recipient, how many messages mailpit
// holds for it, the total, and when the first and last arrived.
func mailpitMessages(t testing.TB, api string) (byRcpt map[string]int, total int, first, last time.Time) {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/messages?limit=100000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Total    int
		Messages []struct {
			Created time.Time
			To      []struct{ Address string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	byRcpt = map[string]int{}
	for _, m := range list.Messages {
		for _, to := range m.To {
			byRcpt[strings.ToLower(to.Address)]++
		}
		if first.IsZero() || m.Created.Before(first) {
			first = m.Created
		}
		if m.Created.After(last) {
			last = m.Created
		}
	}
	return byRcpt, list.Total, first, last
}

// batchSchedule is a calendar whose one meeting sends no reminder; the
// batch is a meeting that an edit adds (batchEdit).
const batchSchedule = `[calendar]
name = "Replicas"
timezone = "UTC"
url = "https://replicas.example.org"

[reminders]
from = "Replicas <reminders@replicas.example.org>"
before = ["1h"]

[[sessions]]
id = "later"
title = "Later"
start = 2099-01-01T10:00:00
reminders = []
`

// batchEdit adds a meeting whose 1h reminder is due in two seconds.
func batchEdit(t testing.TB, config string) {
	t.Helper()
	start := time.Now().UTC().Add(time.Hour + 2*time.Second).Format("2006-01-02T15:04:05")
	text := batchSchedule + "\n[[sessions]]\nid = \"batch\"\ntitle = \"Batch\"\nstart = " + start + "Z\n"
	if err := os.WriteFile(config+".tmp", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(config+".tmp", config); err != nil {
		t.Fatal(err)
	}
}

// addMembers adds n confirmed subscribers to the state.
func addMembers(t testing.TB, state string, n int) {
	t.Helper()
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range n {
		if _, err := st.AddSubscriber(context.Background(), time.Now(), fmt.Sprintf("member%04d@example.org", i), "Europe/Berlin", nil); err != nil {
			t.Fatal(err)
		}
	}
}

// fleet is replicas of one state and one schedule.
type fleet struct {
	dir, config string
	replicas    []*replica
}

// newFleet writes batchSchedule, adds n subscribers to state and starts
// the named replicas on it, all sending to the SMTP server at smtp.
func newFleet(t testing.TB, state string, n int, smtp string, names ...string) *fleet {
	t.Helper()
	f := &fleet{dir: t.TempDir()}
	f.config = filepath.Join(f.dir, "events.toml")
	if err := os.WriteFile(f.config, []byte(batchSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	addMembers(t, state, n)
	for _, name := range names {
		r := startReplica(t, name, f.dir, "--config", f.config, "--state", state, "--smtp", "smtp://"+smtp+"?tls=none&timeout=1s",
			"--notice-delay", "1s", "--outbox-lease", "4s", "--outbox", filepath.Join(f.dir, "outbox-"+name))
		f.replicas = append(f.replicas, r)
	}
	for _, r := range f.replicas {
		r.ready(t)
	}
	return f
}

// stop stops every replica.
func (f *fleet) stop() {
	for _, r := range f.replicas {
		r.stop()
	}
}

// sendBatch adds the batch meeting, calls during (if not nil) once the
// mailpit at api holds at least at messages, and waits until each of
// the n subscribers has its reminder and nothing more arrives. It
// returns the duplicates (messages beyond one per subscriber) and the
// reminders a second while mailpit took them, first to last.
func (f *fleet) sendBatch(t testing.TB, api string, n, at int, during func()) (dups int, perSecond float64) {
	t.Helper()
	batchEdit(t, f.config)
	if during != nil {
		waitUntilFor(t, 60*time.Second, fmt.Sprintf("%d messages in mailpit", at), func() bool {
			_, total, _, _ := mailpitMessages(t, api)
			return total >= at
		})
		during()
	}
	var byRcpt map[string]int
	waitUntilFor(t, 90*time.Second, fmt.Sprintf("a reminder for each of %d subscribers", n), func() bool {
		byRcpt, _, _, _ = mailpitMessages(t, api)
		return len(byRcpt) >= n
	})
	time.Sleep(time.Second) // anything still on its way
	byRcpt, total, first, last := mailpitMessages(t, api)
	if len(byRcpt) != n {
		t.Errorf("%d recipients got mail, want %d", len(byRcpt), n)
	}
	var twice []string
	for rcpt, k := range byRcpt {
		if k > 1 {
			twice = append(twice, fmt.Sprintf("%s (%d)", rcpt, k))
		}
	}
	sort.Strings(twice)
	if len(twice) > 0 {
		t.Logf("more than one reminder: %s", strings.Join(twice, ", "))
	}
	return total - len(byRcpt), float64(total-1) / last.Sub(first).Seconds()
}

// clearMailpit deletes every message mailpit holds.
func clearMailpit(t testing.TB, api string) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", api+"/api/v1/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE /api/v1/messages: %s", resp.Status)
	}
}

// sentBy counts the outbox rows of state sent, by the replica that sent
// them (claimed_by).
func sentBy(t testing.TB, state string) map[string]int {
	t.Helper()
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().Query(`SELECT claimed_by, COUNT(*) FROM outbox WHERE state = 'sent' GROUP BY claimed_by`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var by string
		var n int
		if err := rows.Scan(&by, &n); err != nil {
			t.Fatal(err)
		}
		out[by] = n
	}
	return out
}

// TestReplicasSendOnce: two replicas on one database, 1,000 reminders
// due at once to 1,000 subscribers: each arrives exactly once, and both
// replicas send some.
func TestReplicasSendOnce(t *testing.T) {
	const n = 1000
	state := testPostgres(t)
	smtp, api := startMailpit(t, mailpitPath(t))
	f := newFleet(t, state, n, smtp, "a", "b")
	dups, rate := f.sendBatch(t, api, n, 0, nil)
	if dups != 0 {
		t.Errorf("%d reminders arrived twice, want none", dups)
	}
	by := sentBy(t, state)
	if len(by) != 2 {
		t.Errorf("sent by %v, want both replicas", by)
	}
	t.Logf("%d reminders by two replicas: %.0f/s, sent by %v", n, rate, by)
}

// TestReplicasKilled: the same batch with one replica SIGKILLed a third
// of the way through: none is lost, at most one arrives twice (the one
// the killed replica had in flight, sent again by the other once its
// lease ran out).
func TestReplicasKilled(t *testing.T) {
	const n = 1000
	state := testPostgres(t)
	smtp, api := startMailpit(t, mailpitPath(t))
	f := newFleet(t, state, n, smtp, "a", "b")
	dups, _ := f.sendBatch(t, api, n, n/3, func() { f.replicas[0].kill() })
	if dups > 1 {
		t.Errorf("%d reminders arrived twice after one kill, want at most 1", dups)
	}
	if by := sentBy(t, state); len(by) != 2 {
		t.Errorf("sent by %v, want both replicas: the killed one before it died, the other the rest", by)
	} else {
		t.Logf("killed a third of the way through: %d duplicates, sent by %v", dups, by)
	}
}

// feedOf returns the body and ETag of a GET of path at base.
func feedOf(t testing.TB, base, path string) ([]byte, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s%s: %d %v", base, path, resp.StatusCode, err)
	}
	return body, resp.Header.Get("ETag")
}

// TestReplicasSameFeed: two replicas of one schedule serve the same
// bytes and ETag for every feed, before and after an edit, and the
// edited event's SEQUENCE rises once, not once per replica.
func TestReplicasSameFeed(t *testing.T) {
	state := testPostgres(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	os.WriteFile(config, []byte(e2eSchedule), 0o644)
	var rs []*replica
	for _, name := range []string{"a", "b"} {
		r := startReplica(t, name, dir, "--config", config, "--state", state, "--outbox", filepath.Join(dir, "outbox-"+name))
		rs = append(rs, r)
	}
	paths := []string{"/calendar.ics", "/series/weekly.ics", "/sessions/intro.ics"}
	same := func(when string) {
		t.Helper()
		for _, p := range paths {
			bodyA, etagA := feedOf(t, rs[0].base, p)
			bodyB, etagB := feedOf(t, rs[1].base, p)
			if !bytes.Equal(bodyA, bodyB) || etagA != etagB || etagA == "" {
				t.Errorf("%s: %s differs: replica a ETag %s (%d bytes), b %s (%d bytes)", when, p, etagA, len(bodyA), etagB, len(bodyB))
			}
		}
	}
	for _, r := range rs {
		r.ready(t)
	}
	same("before an edit")

	edited := strings.Replace(e2eSchedule, `title = "Introduction"`, `title = "Introduction edited"`, 1)
	os.WriteFile(config+".tmp", []byte(edited), 0o644)
	os.Rename(config+".tmp", config)
	for _, r := range rs {
		waitFor(t, "replica "+r.name+" serves the edit", func() bool {
			body, _ := feedOf(t, r.base, "/sessions/intro.ics")
			return bytes.Contains(body, []byte("SUMMARY:Introduction edited\r\n"))
		})
	}
	same("after an edit")
	body, _ := feedOf(t, rs[0].base, "/sessions/intro.ics")
	if !bytes.Contains(body, []byte("SEQUENCE:1\r\n")) {
		t.Errorf("after one edit loaded by two replicas the event says:\n%s\nwant SEQUENCE:1", body)
	}
}

var confirmPath = regexp.MustCompile(`/confirm/[A-Za-z0-9_-]+`)

// TestReplicasSignUp: a sign-up on replica a, confirmed with the link
// of its mail on replica b; the subscriber is then one of the state's.
func TestReplicasSignUp(t *testing.T) {
	state := testPostgres(t)
	dir := t.TempDir()
	smtpAddr, api := startMailpit(t, mailpitPath(t))
	config := filepath.Join(dir, "events.toml")
	os.WriteFile(config, []byte(e2eSchedule+"\n[reminders]\nfrom = \"E2E <reminders@e2e.example.org>\"\n"), 0o644)
	a := startReplica(t, "a", dir, "--config", config, "--state", state, "--smtp", "smtp://"+smtpAddr+"?tls=none")
	b := startReplica(t, "b", dir, "--config", config, "--state", state, "--smtp", "smtp://"+smtpAddr+"?tls=none")
	a.ready(t)
	b.ready(t)
	const who = "visitor@example.org"
	if code := signUp(t, nil, a.base, who); code != http.StatusSeeOther {
		t.Fatalf("sign-up on replica a = %d, want 303", code)
	}
	link := confirmPath.FindString(mailTo(t, api, who))
	if link == "" {
		t.Fatal("no confirmation link in the mail")
	}
	resp, err := http.PostForm(b.base+link, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "You are signed up") {
		t.Fatalf("confirming on replica b = %d:\n%s", resp.StatusCode, page)
	}
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	subs, err := st.Subscribers(context.Background())
	if err != nil || len(subs) != 1 || subs[0].Email != who || subs[0].Zone != "Europe/Berlin" {
		t.Errorf("subscribers after confirming on b: %v (%v), want %s in Europe/Berlin", subs, err, who)
	}
}

// privateCluster starts a throwaway PostgreSQL cluster of the test's own
// with .ci/postgres, as CI starts the shared one, for a test that stops
// it. It returns the cluster's URL and pgCtl, which runs pg_ctl on it as
// the cluster's owner; the cluster is stopped when the test ends.
func privateCluster(t *testing.T) (state string, pgCtl func(args ...string)) {
	t.Helper()
	needPostgres(t) // where the shared cluster runs, .ci/postgres does too
	out, err := exec.Command("bash", filepath.Join(repoRoot(t), ".ci", "postgres")).Output()
	if err != nil {
		t.Fatalf(".ci/postgres: %v", err)
	}
	var dir string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "export CONVENE_TEST_POSTGRES='"); ok {
			state = strings.TrimSuffix(v, "'")
		}
		if v, ok := strings.CutPrefix(line, "export CONVENE_TEST_POSTGRES_DIR='"); ok {
			dir = strings.TrimSuffix(v, "'")
		}
	}
	if state == "" || dir == "" {
		t.Fatalf(".ci/postgres said:\n%s", out)
	}
	bin, _ := exec.Command("pg_config", "--bindir").Output()
	ctl := filepath.Join(strings.TrimSpace(string(bin)), "pg_ctl")
	if _, err := os.Stat(ctl); err != nil {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
		if len(found) == 0 {
			t.Fatal("no pg_ctl beside .ci/postgres's initdb")
		}
		ctl = found[len(found)-1]
	}
	pgCtl = func(args ...string) {
		t.Helper()
		// The server's output goes to the log, not to a pipe it would
		// hold open after pg_ctl returns.
		args = append([]string{ctl, "-D", dir, "-w", "-l", filepath.Join(filepath.Dir(dir), "server.log")}, args...)
		if os.Geteuid() == 0 { // initdb refused root: the cluster runs as its owner
			fi, _ := os.Stat(dir)
			owner, err := user.LookupId(fmt.Sprint(fi.Sys().(*syscall.Stat_t).Uid))
			if err != nil {
				t.Fatal(err)
			}
			args = append([]string{"runuser", "-u", owner.Username, "--"}, args...)
		}
		cmd := exec.Command(args[0], args[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_ctl %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() {
		pgCtl("stop", "-m", "immediate")
		os.RemoveAll(filepath.Dir(dir))
	})
	return state, pgCtl
}

// TestReplicaDatabaseDown: with its database unreachable a replica
// answers /readyz with 503 naming the database, keeps serving the feeds
// and page it has, also through deploy/Caddyfile.replicas (whose health
// check leaves the database out), refuses sign-ups with the error page,
// does not load an edit, and answers 200 again once the database is
// back, when SIGHUP loads the edit.
func TestReplicaDatabaseDown(t *testing.T) {
	state, pgCtl := privateCluster(t)
	u, _ := url.Parse(state)
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	os.WriteFile(config, []byte(e2eSchedule), 0o644)
	r := startReplica(t, "a", dir, "--config", config, "--state", u.String(), "--outbox", filepath.Join(dir, "outbox"))
	r.ready(t)
	feed, etag := feedOf(t, r.base, "/calendar.ics")

	pgCtl("stop", "-m", "fast")
	var body string
	waitFor(t, "/readyz fails with the database stopped", func() bool {
		var code int
		code, body = getStatus(t, http.DefaultClient, r.base+"/readyz")
		return code == 503
	})
	if !strings.Contains(body, "store: database "+store.Redact(u.String())) {
		t.Errorf("/readyz with the database down says:\n%s\nwant it to name the database", body)
	}
	if got, gotTag := feedOf(t, r.base, "/calendar.ics"); !bytes.Equal(got, feed) || gotTag != etag {
		t.Errorf("with the database down the feed changed (ETag %s, was %s)", gotTag, etag)
	}
	if code, _ := getStatus(t, http.DefaultClient, r.base+"/"); code != 200 {
		t.Errorf("with the database down GET / = %d, want 200", code)
	}
	if code, _ := getStatus(t, http.DefaultClient, r.base+"/readyz?exclude=store"); code != 200 {
		t.Errorf("with the database down GET /readyz?exclude=store = %d, want 200 (the load balancer keeps the replica)", code)
	}
	// deploy/Caddyfile.replicas in front: the feed stays served through it.
	if caddy, err := exec.LookPath("caddy"); err == nil {
		addr := freePort(t)
		conf := replaceOnce(t, deployFile(t, "Caddyfile.replicas"), "reverse_proxy convene-a:8080 convene-b:8080 {",
			"reverse_proxy "+strings.TrimPrefix(r.base, "http://")+" {")
		public := runCaddy(t, caddy, conf, addr, "CONVENE_HOST=http://"+addr)
		time.Sleep(3 * time.Second) // a round of caddy's health checks
		if code, got := getStatus(t, http.DefaultClient, public+"/calendar.ics"); code != 200 || !strings.Contains(got, "BEGIN:VCALENDAR") {
			t.Errorf("with the database down GET /calendar.ics through caddy = %d, want 200", code)
		}
	} else if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
		t.Error("caddy not found (Debian: apt-get install caddy)")
	}

	if code := signUp(t, nil, r.base, "later@example.org"); code != http.StatusInternalServerError {
		t.Errorf("a sign-up with the database down = %d, want 500 (the error page)", code)
	}
	// An edit meanwhile does not load, and the snapshot stays.
	edited := strings.Replace(e2eSchedule, `title = "Introduction"`, `title = "Introduction edited"`, 1)
	os.WriteFile(config+".tmp", []byte(edited), 0o644)
	os.Rename(config+".tmp", config)
	waitFor(t, "/readyz names the failed reload", func() bool {
		_, body = getStatus(t, http.DefaultClient, r.base+"/readyz")
		return strings.Contains(body, "schedule: ")
	})
	if got, _ := feedOf(t, r.base, "/calendar.ics"); !bytes.Equal(got, feed) {
		t.Errorf("an edit that could not be recorded in the database changed the feed")
	}

	pgCtl("restart") // with the options it had (postmaster.opts)
	waitFor(t, "/readyz answers 200 with the database back", func() bool {
		code, _ := getStatus(t, http.DefaultClient, r.base+"/readyz")
		return code == 200
	})
	// SIGHUP loads the edit (README).
	r.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the edit served after SIGHUP", func() bool {
		got, _ := feedOf(t, r.base, "/sessions/intro.ics")
		return bytes.Contains(got, []byte("SUMMARY:Introduction edited\r\n"))
	})
}

// BenchmarkReplicas sends one batch of 1,000 reminders, due at once to
// 1,000 subscribers, to one mailpit: from one replica on SQLite, and from
// one and two replicas on one PostgreSQL database (skipped without
// CONVENE_TEST_POSTGRES). reminders/s counts from the first message
// mailpit took to the last; replica-cpu-ms/reminder is the CPU time of
// the replicas' processes, all of it, per reminder.
func BenchmarkReplicas(b *testing.B) {
	const n = 1000
	smtp, api := startMailpit(b, mailpitPath(b))
	for _, bc := range []struct {
		name     string
		postgres bool
		replicas []string
	}{
		{"sqlite/replicas=1", false, []string{"a"}},
		{"postgres/replicas=1", true, []string{"a"}},
		{"postgres/replicas=2", true, []string{"a", "b"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var rate float64
			var cpu time.Duration
			for b.Loop() {
				state := filepath.Join(b.TempDir(), "state.db")
				if bc.postgres {
					state = testPostgres(b)
				}
				clearMailpit(b, api)
				f := newFleet(b, state, n, smtp, bc.replicas...)
				dups, r := f.sendBatch(b, api, n, 0, nil)
				f.stop()
				if dups > 0 {
					b.Errorf("%d reminders sent twice", dups)
				}
				rate += r
				for _, r := range f.replicas {
					cpu += r.cmd.ProcessState.UserTime() + r.cmd.ProcessState.SystemTime()
				}
			}
			b.ReportMetric(rate/float64(b.N), "reminders/s")
			// The replicas' whole lives (start, load, plan, send), steadier
			// than the clock on a shared machine; the database's is not in it.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N*n), "replica-cpu-ms/reminder")
		})
	}
}
