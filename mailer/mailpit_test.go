package mailer

// End-to-end tests: the convene binary against mailpit, a real SMTP
// server read through its HTTP API. They skip when mailpit is missing,
// unless CONVENE_REQUIRE_INTEROP=1.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// need returns the path of an outside program, or skips the test.
func need(t testing.TB, name string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, "go", "bin", name); fileExists(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (install: see .ci/run)", name)
	if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// convene builds the command once per test run.
func convene(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "convene-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "convene")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/convene")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// mailpit is a running mailpit.
type mailpit struct {
	SMTP, API string
	pid       int
}

func startMailpit(t testing.TB) *mailpit {
	t.Helper()
	bin := need(t, "mailpit")
	mp := &mailpit{SMTP: freePort(t), API: freePort(t)}
	cmd := exec.Command(bin, "--smtp", mp.SMTP, "--listen", mp.API, "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--max", "100000", "--disable-version-check", "--smtp-max-recipients", "1000")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	mp.pid = cmd.Process.Pid
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("mailpit output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("tcp", mp.SMTP); err == nil {
			c.Close()
			if resp, err := http.Get("http://" + mp.API + "/api/v1/info"); err == nil {
				resp.Body.Close()
				return mp
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (mp *mailpit) get(t testing.TB, path string, v any) []byte {
	t.Helper()
	resp, err := http.Get("http://" + mp.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v\n%s", path, resp.Status, err, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return b
}

type mpMessage struct {
	ID        string
	MessageID string
	Subject   string
	Created   time.Time
	To        []struct{ Address string }
}

func (mp *mailpit) messages(t testing.TB) (total int, msgs []mpMessage) {
	var r struct {
		MessagesCount int `json:"messages_count"`
		Total         int `json:"total"`
		Messages      []mpMessage
	}
	mp.get(t, "/api/v1/messages?limit=100000", &r)
	return r.Total, r.Messages
}

func (mp *mailpit) count(t testing.TB) int {
	var r struct {
		Total int `json:"total"`
	}
	mp.get(t, "/api/v1/messages?limit=1", &r)
	return r.Total
}

// daemon is a running convene serve.
type daemon struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

func startDaemon(t testing.TB, args ...string) *daemon {
	t.Helper()
	d := &daemon{log: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(convene(t), append([]string{"serve"}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.Env = append(os.Environ(), "CONVENE_SMTP_PASSWORD=")
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("convene log:\n%s", tail(d.log.String(), 60))
		}
	})
	return d
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMailpitEndToEnd runs convene serve with a session a minute ahead
// and a 50s reminder, and reads the reminder back from mailpit.
func TestMailpitEndToEnd(t *testing.T) {
	convene(t) // build first: the session's time counts from now
	mp := startMailpit(t)
	convene(t) // build before the clock starts: a slow build is not a late reminder
	dir := t.TempDir()
	httpAddr := freePort(t)
	start := time.Now().Add(60 * time.Second).Truncate(time.Second)
	const offset = 50 * time.Second
	toml := strings.Replace(schedFor(start, []string{offset.String()}, "list@example.org"),
		`url = "https://group.example.org"`, `url = "http://`+httpAddr+`"`, 1)
	config := filepath.Join(dir, "events.toml")
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "--config", config, "--state", filepath.Join(dir, "state.db"), "--addr", httpAddr,
		"--smtp", "smtp://"+mp.SMTP+"?tls=none")
	due := start.Add(-offset)

	var msgs []mpMessage
	waitUntil(t, time.Until(due)+15*time.Second, "the reminder in mailpit", func() bool {
		_, msgs = mp.messages(t)
		return len(msgs) > 0
	})
	m := msgs[0]
	late := m.Created.Sub(due)
	t.Logf("due %s, arrived %s (%+v after due)", due.Format(time.RFC3339Nano), m.Created.Format(time.RFC3339Nano), late)
	// mailpit stamps Created in milliseconds
	if late < -time.Millisecond || late > 2*time.Second {
		t.Errorf("arrived %v after its due time, want within [0, 2s]", late)
	}
	time.Sleep(300 * time.Millisecond)
	if n := mp.count(t); n != 1 {
		t.Errorf("%d messages in mailpit, want 1", n)
	}

	raw := mp.get(t, "/api/v1/message/"+m.ID+"/raw", nil)
	p := parseMessage(t, raw)
	h := p.Header
	for k, want := range map[string]string{
		"From":           `"Reading Group" <reminders@example.org>`,
		"To":             "<list@example.org>",
		"Auto-Submitted": "auto-generated",
		"List-Id":        `"Reading Group" <reading-group.example.org>`,
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	wantID := "<" + messageID(reminderIdent("s1", offset, "list@example.org"), "example.org") + ">"
	if got := h.Get("Message-Id"); got != wantID {
		t.Errorf("Message-ID %q, want %q", got, wantID)
	}
	if date, err := h.Date(); err != nil || date.Before(due.Add(-time.Second)) || date.After(due.Add(3*time.Second)) {
		t.Errorf("Date %v (%v), want the sending time", date, err)
	}
	if h.Get("List-Unsubscribe") != "" {
		t.Error("List-Unsubscribe on a static recipient's reminder")
	}
	if !strings.Contains(p.Text, "Join the meeting: https://meet.example.org/room") {
		t.Errorf("text body lacks the join link:\n%s", p.Text)
	}

	// The attachment: same UID, SEQUENCE and instant as the feed.
	resp, err := http.Get("http://" + httpAddr + "/sessions/s1.ics")
	if err != nil {
		t.Fatal(err)
	}
	feedBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(p.ICSType, "method=PUBLISH") {
		t.Errorf("attachment Content-Type %q", p.ICSType)
	}
	got, want := icsEvent(t, p.ICS), icsEvent(t, feedBody)
	if got != want {
		t.Errorf("attachment event %q, feed event %q", got, want)
	}
	if !strings.Contains(got, start.UTC().Format(time.RFC3339)) {
		t.Errorf("attachment event %q does not start at %s", got, start.UTC().Format(time.RFC3339))
	}

	var check struct {
		Warnings []struct {
			Title string
			Score struct{ Unsupported, Partial float32 }
		}
		Total struct{ Unsupported float32 }
	}
	mp.get(t, "/api/v1/message/"+m.ID+"/html-check", &check)
	if check.Total.Unsupported != 0 {
		t.Errorf("mailpit HTML check: %.1f%% unsupported: %+v", check.Total.Unsupported, check.Warnings)
	}
	for _, w := range check.Warnings {
		t.Errorf("mailpit HTML check warning: %s %+v", w.Title, w.Score)
	}

	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Errorf("convene serve after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("convene serve did not stop within 10s of SIGTERM")
	}
}

// icsEvent reads the one VEVENT of a calendar with golang-ical and
// returns "UID SEQUENCE start-instant".
func icsEvent(t testing.TB, body []byte) string {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse .ics: %v\n%s", err, body)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	ds := ev.GetProperty(ics.ComponentPropertyDtStart)
	loc := time.UTC
	if tz := ds.ICalParameters["TZID"]; len(tz) == 1 {
		if loc, err = time.LoadLocation(tz[0]); err != nil {
			t.Fatal(err)
		}
	}
	st, err := time.ParseInLocation("20060102T150405", strings.TrimSuffix(ds.Value, "Z"), loc)
	if err != nil {
		t.Fatal(err)
	}
	seq := ev.GetProperty(ics.ComponentPropertySequence)
	return ev.Id() + " " + seq.Value + " " + st.UTC().Format(time.RFC3339)
}

// TestCrash kills the daemon with SIGKILL twice in the middle of a batch
// of reminders, restarts it each time, and counts: every reminder must
// arrive, and no more may arrive twice than the number of kills.
func TestCrash(t *testing.T) {
	mp := startMailpit(t)
	dir := t.TempDir()
	const n = 400
	var rcpts []string
	for i := range n {
		rcpts = append(rcpts, fmt.Sprintf("member%03d@example.org", i))
	}
	config := filepath.Join(dir, "events.toml")
	if err := os.WriteFile(config, []byte(schedFor(time.Now().Add(time.Hour+2*time.Second), []string{"1h"}, rcpts...)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", config, "--state", filepath.Join(dir, "state.db"), "--addr", "127.0.0.1:0",
		"--smtp", "smtp://" + mp.SMTP + "?tls=none", "--send-rate", "250"}
	kills := 0
	for _, at := range []int{100, 250} {
		d := startDaemon(t, args...)
		waitUntil(t, 30*time.Second, fmt.Sprintf("%d messages", at), func() bool { return mp.count(t) >= at })
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		d.done <- nil
		kills++
		t.Logf("killed at %d messages", mp.count(t))
	}
	d := startDaemon(t, args...)
	seen := map[string]int{}
	waitUntil(t, 30*time.Second, "every reminder", func() bool {
		_, msgs := mp.messages(t)
		clear(seen)
		for _, m := range msgs {
			for _, to := range m.To {
				seen[to.Address]++
			}
		}
		return len(seen) >= n
	})
	time.Sleep(500 * time.Millisecond) // anything still in flight
	total, msgs := mp.messages(t)
	clear(seen)
	for _, m := range msgs {
		for _, to := range m.To {
			seen[to.Address]++
		}
	}
	dups := total - len(seen)
	lost := n - len(seen)
	t.Logf("crash test: %d reminders, %d kills: %d sent, %d duplicated, %d lost", n, kills, total, dups, lost)
	if lost != 0 || dups > kills {
		t.Errorf("%d lost and %d duplicated after %d kills; want 0 lost and at most %d duplicated", lost, dups, kills, kills)
	}
	if !strings.Contains(d.log.String(), "level=") {
		t.Errorf("no log from the restarted daemon")
	}
	sc := bufio.NewScanner(strings.NewReader(d.log.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "level=ERROR") {
			t.Errorf("error logged: %s", sc.Text())
		}
	}
}
