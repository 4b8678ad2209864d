package main

// End to end: run() with real arguments, a temp dir, a real events.toml,
// port 0, and real HTTP requests.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

const e2eSchedule = `[calendar]
name = "E2E group"
timezone = "America/New_York"
url = "https://e2e.example.org"
location = "https://meet.example.org/e2e"

[[sessions]]
id = "intro"
title = "Introduction"
start = 2024-07-16T20:00:00

[[series]]
id = "weekly"
title = "Weekly meeting"
start = 2024-07-21T20:00:00
rrule = "FREQ=WEEKLY"
`

// logBuffer is an io.Writer that the server's logger and the test share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// e2eWait polls cond every 10ms until it holds or 5s pass, and returns
// how long it took.
func e2eWait(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("after 5s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func e2eGet(t *testing.T, method, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	if err := os.WriteFile(config, []byte(e2eSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", config, "--state", filepath.Join(dir, "db"),
			"--addr", "127.0.0.1:0", "--outbox", filepath.Join(dir, "outbox")}, io.Discard, logs)
	}()
	var base string
	e2eWait(t, "no listening line in the log:\n"+logs.String(), func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, logs.String())
		default:
		}
		if m := listening.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
			return true
		}
		return false
	})

	waitReady(t, base)

	// The feed, its headers and the conditional answers.
	res, body := e2eGet(t, "GET", base+"/calendar.ics")
	if res.StatusCode != 200 || !bytes.HasPrefix(body, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.Contains(body, []byte("SUMMARY:Weekly meeting\r\n")) {
		t.Fatalf("GET /calendar.ics: %d\n%s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	etag, lastMod := res.Header.Get("Etag"), res.Header.Get("Last-Modified")
	if !regexp.MustCompile(`^"[^"]+"$`).MatchString(etag) {
		t.Errorf("ETag = %q, want a strong validator", etag)
	}
	if _, err := http.ParseTime(lastMod); err != nil {
		t.Errorf("Last-Modified = %q: %v", lastMod, err)
	}
	if res, body := e2eGet(t, "GET", base+"/calendar.ics", "If-None-Match", etag); res.StatusCode != 304 || len(body) != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304 and none", res.StatusCode, len(body))
	}
	if res, _ := e2eGet(t, "GET", base+"/calendar.ics", "If-Modified-Since", lastMod); res.StatusCode != 304 {
		t.Errorf("If-Modified-Since: %d, want 304", res.StatusCode)
	}
	// Go's client asks GETs, not HEADs, for gzip: ask the same encoding.
	if res, body := e2eGet(t, "HEAD", base+"/calendar.ics", "Accept-Encoding", "gzip"); res.StatusCode != 200 || len(body) != 0 || res.Header.Get("Etag") != etag {
		t.Errorf("HEAD: %d, %d bytes, ETag %q", res.StatusCode, len(body), res.Header.Get("Etag"))
	}
	for path, want := range map[string]int{"/series/weekly.ics": 200, "/sessions/intro.ics": 200, "/sessions/nope.ics": 404, "/healthz": 200} {
		if res, _ := e2eGet(t, "GET", base+path); res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}

	feedHas := func(s string) func() bool {
		return func() bool {
			_, body := e2eGet(t, "GET", base+"/calendar.ics")
			return bytes.Contains(body, []byte(s))
		}
	}

	// An edit in place.
	text := strings.Replace(e2eSchedule, `title = "Weekly meeting"`, `title = "Edited in place"`, 1)
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	took := e2eWait(t, "the in-place edit is not served:\n"+logs.String(), feedHas("SUMMARY:Edited in place\r\n"))
	t.Logf("in-place edit served after %v", took)
	if res, _ := e2eGet(t, "GET", base+"/calendar.ics", "If-None-Match", etag); res.StatusCode != 200 {
		t.Errorf("If-None-Match with the old ETag after an edit: %d, want 200", res.StatusCode)
	}
	// Last-Modified moves, but never ahead of Date (RFC 9110): an edit
	// within the second of the last one shows once the clock gets there.
	e2eWait(t, "Last-Modified did not move after an edit", func() bool {
		res, _ := e2eGet(t, "GET", base+"/calendar.ics")
		lm, err1 := http.ParseTime(res.Header.Get("Last-Modified"))
		date, err2 := http.ParseTime(res.Header.Get("Date"))
		if err1 != nil || err2 != nil || lm.After(date) {
			t.Errorf("Last-Modified %q, Date %q", res.Header.Get("Last-Modified"), res.Header.Get("Date"))
		}
		return res.Header.Get("Last-Modified") != lastMod
	})

	// An editor's save: write a temp file, rename it over.
	text = strings.Replace(text, `title = "Edited in place"`, `title = "Renamed over"`, 1)
	tmp := filepath.Join(dir, ".events.toml.swp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, config); err != nil {
		t.Fatal(err)
	}
	took = e2eWait(t, "the renamed-over edit is not served:\n"+logs.String(), feedHas("SUMMARY:Renamed over\r\n"))
	t.Logf("renamed-over edit served after %v", took)

	// A second rename, to see the watch survived the first.
	text = strings.Replace(text, `title = "Renamed over"`, `title = "Renamed again"`, 1)
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, config); err != nil {
		t.Fatal(err)
	}
	e2eWait(t, "the second renamed-over edit is not served:\n"+logs.String(), feedHas("SUMMARY:Renamed again\r\n"))

	// An invalid edit: the last good feed stays, the log names the line.
	_, good := e2eGet(t, "GET", base+"/calendar.ics")
	bad := strings.Replace(text, `title = "Introduction"`, `title = "Introduction"`+"\ncolour = \"red\"", 1)
	if err := os.WriteFile(config, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	e2eWait(t, "no error logged for the invalid edit:\n"+logs.String(), func() bool {
		return strings.Contains(logs.String(), "events.toml:10: sessions[0].colour: unknown key")
	})
	if _, body := e2eGet(t, "GET", base+"/calendar.ics"); !bytes.Equal(body, good) {
		t.Errorf("after an invalid edit the feed changed")
	}

	// Graceful shutdown.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return 10s after cancel")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("still serving after run returned")
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	if err := os.WriteFile(config, []byte(e2eSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	before := time.Now()
	if err := run(context.Background(), []string{"check", "--config", config, "--next", "3"}, &stdout, &stderr); err != nil {
		t.Fatalf("check = %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "ok, 1 sessions and 1 series") || !strings.Contains(out, "America/New_York") || !strings.Contains(out, "UTC") {
		t.Errorf("check output:\n%s", out)
	}
	s, err := schedule.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	next := s.Expand(before, before.AddDate(1, 0, 0))[:3]
	for _, o := range next {
		local := o.Start.In(s.Calendar.Zone).Format("Mon 2006-01-02 15:04 MST")
		utc := o.Start.UTC().Format("Mon 2006-01-02 15:04")
		if !regexp.MustCompile(regexp.QuoteMeta(local) + `\s+` + regexp.QuoteMeta(utc) + `\s+` + regexp.QuoteMeta(o.Key())).MatchString(out) {
			t.Errorf("check does not list %s at %s / %s UTC:\n%s", o.Key(), local, utc, out)
		}
		if !strings.Contains(local, " 20:00 E") {
			t.Errorf("%s: %s, want 8pm New York time", o.Key(), local)
		}
	}

	// An invalid file: exit status 2, every problem with its line.
	bad := strings.Replace(e2eSchedule, `timezone = "America/New_York"`, `timezone = "America/New_Yrok"`, 1)
	bad = strings.Replace(bad, `start = 2024-07-21T20:00:00`, "start = 2024-07-21T20:00:00\nduration = \"soon\"", 1)
	if err := os.WriteFile(config, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	err = run(context.Background(), []string{"check", "--config", config}, &stdout, &stderr)
	var ps schedule.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("check of a bad file = %v, want Problems", err)
	}
	if code := exitCode(err, &stderr); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if strings.Count(stderr.String(), "\n") != 2 {
		t.Errorf("want two problems, one a line:\n%s", stderr.String())
	}
	for _, want := range []string{
		config + `:3: calendar.timezone: "America/New_Yrok" is not an IANA time zone name`,
		config + `:16: series[0].duration: "soon" must be a positive duration such as "1h30m"`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	if code := exitCode(run(context.Background(), []string{"check", "--config", filepath.Join(dir, "missing.toml")}, &stdout, &stderr), io.Discard); code != 1 {
		t.Errorf("check of a missing file: exit status %d, want 1", code)
	}
	if code := exitCode(run(context.Background(), []string{"check", "--bogus"}, &stdout, &stderr), io.Discard); code != 2 {
		t.Errorf("check --bogus: exit status %d, want 2", code)
	}
}

func TestFeedCommand(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	if err := os.WriteFile(config, []byte(e2eSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state.db")
	feed := func(args ...string) ([]byte, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), append([]string{"feed", "--config", config, "--state", state}, args...), &stdout, &stderr); err != nil {
			t.Fatalf("feed %v = %v\n%s", args, err, stderr.String())
		}
		return stdout.Bytes(), stderr.String()
	}
	gcPercent, memoryLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	first, _ := feed()
	// feed runs with the collector off under a memory limit, and puts
	// both back for a caller in the same process.
	if p, l := debug.SetGCPercent(gcPercent), debug.SetMemoryLimit(memoryLimit); p != 100 || l != math.MaxInt64 {
		t.Errorf("after feed: GOGC %d, memory limit %d; want 100 and no limit as before", p, l)
	}
	if !bytes.HasPrefix(first, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.HasSuffix(first, []byte("END:VCALENDAR\r\n")) ||
		!bytes.Contains(first, []byte("UID:weekly@e2e.example.org\r\n")) {
		t.Fatalf("feed to stdout:\n%s", first)
	}
	time.Sleep(1100 * time.Millisecond) // so that a new stamp would show
	if again, _ := feed(); !bytes.Equal(first, again) {
		t.Errorf("feed of the same schedule and state is not byte-identical")
	}

	out := filepath.Join(dir, "public")
	_, msg := feed("--out", out)
	if !strings.Contains(msg, "wrote 3 feeds") {
		t.Errorf("feed --out said %q", msg)
	}
	for _, name := range []string{"calendar.ics", "series/weekly.ics", "sessions/intro.ics"} {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("feed --out: %v", err)
			continue
		}
		if !bytes.HasPrefix(b, []byte("BEGIN:VCALENDAR\r\n")) {
			t.Errorf("%s is not a calendar", name)
		}
		if name == "calendar.ics" && !bytes.Equal(b, first) {
			t.Errorf("%s differs from the feed on stdout", name)
		}
	}
}
