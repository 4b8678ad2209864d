package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/metrics"
	"github.com/convene/convene/podcast"
	"github.com/convene/convene/reload"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

const opsSchedule = `
[calendar]
name = "Ops test group"
timezone = "Europe/Berlin"
url = "https://ops.example.org"

[reminders]
before = ["1h"]
from = "Ops <ops@example.org>"
recipients = ["members@example.org"]

[[sessions]]
id = "first"
title = "First meeting"
start = 2030-03-01T19:00:00

[[sessions]]
id = "second"
title = "Second meeting"
start = 2030-04-01T19:00:00
timezone = "America/New_York"

[[series]]
id = "monthly"
title = "Monthly"
start = 2030-01-07T18:00:00
rrule = "FREQ=MONTHLY;BYDAY=1MO;COUNT=6"
skip = [2030-02-04]
`

// opsDir returns a new directory holding opsSchedule as events.toml.
func opsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "events.toml"), []byte(opsSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// opsState returns the path of opsSchedule written into a new directory,
// and a state opened beside it, closed when the test ends.
func opsState(t *testing.T) (config string, st *store.Store) {
	t.Helper()
	dir := opsDir(t)
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return filepath.Join(dir, "events.toml"), st
}

// syncBuffer is the stderr of a serve running in a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `convene serve` in-process on a free port, logging JSON,
// and returns its base URL and its log. It stops when the test ends.
func startServe(t *testing.T, dir string, args ...string) (string, *syncBuffer) {
	t.Helper()
	t.Chdir(dir)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	args = append([]string{"serve", "--config", "events.toml", "--state", "state.db",
		"--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"}, args...)
	go func() { done <- run(ctx, args, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				base := "http://" + rec.Addr
				waitReady(t, base)
				return base, logs
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not log its address:\n%s", logs)
	return "", nil
}

// waitReady waits until serve at base has loaded its schedule: it opens
// its port first.
func waitReady(t *testing.T, base string) {
	t.Helper()
	waitFor(t, "/readyz", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func get(t *testing.T, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// sample returns the value of one sample of /metrics, such as
// `convene_reloads_total{result="ok"}`, or -1 when absent.
func sample(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, body := get(t, base+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// TestServeOps runs serve and checks what an operator sees: health,
// readiness, metrics for feed answers and reloads, and JSON logs.
func TestServeOps(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	soon := fmt.Sprintf("\n[[sessions]]\nid = \"soon\"\ntitle = \"Soon\"\nstart = %s\n",
		time.Now().AddDate(0, 0, 10).Format("2006-01-02")+"T12:00:00")
	if err := os.WriteFile(config, []byte(opsSchedule+soon), 0o644); err != nil {
		t.Fatal(err)
	}
	base, logs := startServe(t, dir)

	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := get(t, base+path); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %q, want 200", path, resp.StatusCode, body)
		}
	}
	if got := sample(t, base, `convene_reloads_total{result="ok"}`); got != 1 {
		t.Errorf("reloads ok = %v after start, want 1", got)
	}
	if got := sample(t, base, `convene_last_reload_success_timestamp_seconds`); got < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last good reload at %v, want about now", got)
	}

	// Reminders are planned 60 days ahead: only the soon session's.
	if got := sample(t, base, `convene_reminders{state="pending"}`); got != 1 {
		t.Errorf("pending reminders = %v, want 1", got)
	}
	if got := sample(t, base, `convene_reminders_oldest_overdue_seconds`); got != 0 {
		t.Errorf("oldest overdue = %v, want 0", got)
	}
	for _, state := range []string{"sent", "failed", "expired"} {
		if got := sample(t, base, `convene_reminders{state="`+state+`"}`); got != 0 {
			t.Errorf("%s reminders = %v, want 0", state, got)
		}
	}

	resp, _ := get(t, base+"/calendar.ics")
	etag := resp.Header.Get("Etag")
	if resp.StatusCode != 200 || etag == "" {
		t.Fatalf("GET /calendar.ics = %d, ETag %q", resp.StatusCode, etag)
	}
	if resp, _ := get(t, base+"/calendar.ics", "If-None-Match", etag); resp.StatusCode != 304 {
		t.Fatalf("GET /calendar.ics with If-None-Match = %d, want 304", resp.StatusCode)
	}
	get(t, base+"/calendar.ics", "If-None-Match", etag)
	if got := sample(t, base, `convene_feed_requests_total{status="200"}`); got != 1 {
		t.Errorf("feed 200s = %v, want 1", got)
	}
	if got := sample(t, base, `convene_feed_requests_total{status="304"}`); got != 2 {
		t.Errorf("feed 304s = %v, want 2", got)
	}

	// A broken edit is counted as a failed reload; the last good
	// schedule stays served and the daemon stays ready.
	if err := os.WriteFile(config, []byte(opsSchedule+soon+"\n[[sessions]]\nid = \"Bad Id\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed reload", func() bool {
		return sample(t, base, `convene_reloads_total{result="failed"}`) >= 1
	})
	if resp, body := get(t, base+"/readyz"); resp.StatusCode != 200 {
		t.Errorf("GET /readyz after a failed reload = %d %q, want 200", resp.StatusCode, body)
	}
	if resp, _ := get(t, base+"/calendar.ics", "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("feed after a failed reload = %d, want 304 (unchanged)", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"reload failed`) {
		t.Errorf("no JSON error record for the failed reload:\n%s", logs)
	}

	// A good edit is served, and counted.
	ok := sample(t, base, `convene_reloads_total{result="ok"}`)
	if err := os.WriteFile(config, []byte(strings.Replace(opsSchedule+soon, "Ops test group", "Ops group", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the edit to be served", func() bool {
		resp, _ := get(t, base+"/calendar.ics", "If-None-Match", etag)
		return resp.StatusCode == 200
	})
	if got := sample(t, base, `convene_reloads_total{result="ok"}`); got <= ok {
		t.Errorf("reloads ok = %v after a good edit, want more than %v", got, ok)
	}
}

// TestReadiness: /readyz fails until a schedule is loaded and when the
// state file stops taking writes, while /healthz still answers.
func TestReadiness(t *testing.T) {
	config, st := opsState(t)
	m := metrics.New("test")
	p, err := reload.New(reload.Config{Path: config, Store: st, Feeds: &feed.Handler{}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	routeOps(mux, m, p, st, "state.db", slog.New(slog.DiscardHandler))
	probe := func(path string) (int, string) {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code, w.Body.String()
	}

	if code, body := probe("/readyz"); code != 503 || !strings.Contains(body, "schedule: loading") {
		t.Errorf("GET /readyz before a load = %d %q, want 503 naming the schedule", code, body)
	}
	if err := p.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, body := probe("/readyz"); code != 200 {
		t.Errorf("GET /readyz after a load = %d %q, want 200", code, body)
	}
	st.Close()
	if code, body := probe("/readyz"); code != 503 || !strings.Contains(body, "store: ") {
		t.Errorf("GET /readyz with a closed store = %d %q, want 503 naming the store", code, body)
	}
	if code, _ := probe("/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d, want 200", code)
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitUntilFor(t, 10*time.Second, what, cond)
}

// waitUntilFor polls cond every 20 ms until it holds, failing the test
// after timeout.
func waitUntilFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFeedOutMatchesServe: `convene feed --out DIR` writes every feed that
// serve answers, byte for byte, for a static host.
func TestFeedOutMatchesServe(t *testing.T) {
	dir := opsDir(t)
	t.Chdir(dir)
	out := filepath.Join(dir, "public")
	if err := run(context.Background(), []string{"feed", "--config", "events.toml", "--state", "state.db", "--out", out}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		files["/"+filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := schedule.Load("events.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/calendar.ics"}
	for _, ss := range s.Sessions {
		want = append(want, "/sessions/"+ss.ID+".ics")
	}
	for _, sr := range s.Series {
		want = append(want, "/series/"+sr.ID+".ics")
	}
	if len(files) != 2*(len(want)+1) {
		t.Errorf("feed --out wrote %d files, want %d, the podcast feed, and their .gz: %v", len(files), len(want), want)
	}
	for _, path := range append(want, podcast.Path) {
		zr, err := gzip.NewReader(bytes.NewReader(files[path+".gz"]))
		if err != nil {
			t.Errorf("%s.gz: %v", path, err)
			continue
		}
		if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, files[path]) {
			t.Errorf("%s.gz does not decompress to %s (%v)", path, path, err)
		}
	}

	base, _ := startServe(t, dir)
	if resp, served := get(t, base+podcast.Path); resp.StatusCode != 200 || !bytes.Equal(served, files[podcast.Path]) {
		t.Errorf("feed --out wrote a podcast feed of %d bytes, serve sends %d bytes (%d)", len(files[podcast.Path]), len(served), resp.StatusCode)
	}
	for _, path := range want {
		body, ok := files[path]
		if !ok {
			t.Errorf("feed --out did not write %s", path)
			continue
		}
		resp, served := get(t, base+path)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
			continue
		}
		if !bytes.Equal(body, served) {
			t.Errorf("%s: feed --out wrote %d bytes that differ from the %d bytes serve sends", path, len(body), len(served))
		}
		fi, err := os.Stat(filepath.Join(out, filepath.FromSlash(path)))
		if err != nil {
			t.Fatal(err)
		}
		if lm := resp.Header.Get("Last-Modified"); lm != fi.ModTime().UTC().Format(http.TimeFormat) {
			t.Errorf("%s: file time %v, served Last-Modified %s", path, fi.ModTime().UTC(), lm)
		}
	}
}
