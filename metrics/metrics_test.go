package metrics

import (
	"bufio"
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// scrape fetches h as Prometheus does and returns every sample by its
// name and labels as written, such as `convene_reloads_total{result="ok"}`.
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler(nil).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("GET /metrics: status %d\n%s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the Prometheus text format", ct)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestFeedAndReloads(t *testing.T) {
	m := New("v1.2.3")
	m.FeedServed(200)
	m.FeedServed(200)
	m.FeedServed(304)
	m.FeedServed(404)
	m.Reloaded(nil, time.Unix(1700000000, 0))
	m.Reloaded(errors.New("bad toml"), time.Unix(1700000100, 0))
	m.SMTPError(421)
	m.SMTPError(421)
	m.SMTPError(0)
	got := scrape(t, m)
	want := map[string]float64{
		`convene_feed_requests_total{status="200"}`:     2,
		`convene_feed_requests_total{status="304"}`:     1,
		`convene_feed_requests_total{status="404"}`:     1,
		`convene_reloads_total{result="ok"}`:            1,
		`convene_reloads_total{result="failed"}`:        1,
		`convene_last_reload_success_timestamp_seconds`: 1700000000,
		`convene_smtp_errors_total{code="421"}`:         2,
		`convene_smtp_errors_total{code="0"}`:           1,
		`convene_build_info{version="v1.2.3"}`:          1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["process_resident_memory_bytes"]; !ok {
		t.Error("no process_resident_memory_bytes")
	}
}

// TestFeedServedAllocs keeps counting out of the allocation budget of
// the feed's hot path.
func TestFeedServedAllocs(t *testing.T) {
	m := New("test")
	for _, status := range []int{200, 304} {
		if n := testing.AllocsPerRun(100, func() { m.FeedServed(status) }); n != 0 {
			t.Errorf("FeedServed(%d): %v allocations, want 0", status, n)
		}
	}
}

type outbox struct {
	counts  map[store.State]int
	overdue time.Duration
	err     error
}

func (o *outbox) OutboxStats(context.Context) (map[store.State]int, time.Duration, error) {
	return o.counts, o.overdue, o.err
}

func TestOutbox(t *testing.T) {
	o := &outbox{counts: map[store.State]int{store.Pending: 3, store.Sent: 10, store.Sending: 1}, overdue: 90 * time.Second}
	m := New("test")
	m.WatchOutbox(o, time.Second)
	got := scrape(t, m)
	want := map[string]float64{
		`convene_reminders{state="pending"}`:       3,
		`convene_reminders{state="sent"}`:          10,
		`convene_reminders{state="failed"}`:        0,
		`convene_reminders{state="expired"}`:       0,
		`convene_reminders{state="sending"}`:       1,
		`convene_reminders_oldest_overdue_seconds`: 90,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}

	// A failing query leaves the reminders out and keeps the rest.
	o.err = errors.New("database is locked")
	m.FeedServed(200)
	got = scrape(t, m)
	if _, ok := got[`convene_reminders{state="pending"}`]; ok {
		t.Error("reminders exported although the query failed")
	}
	if got[`convene_feed_requests_total{status="200"}`] != 1 {
		t.Error("a failing outbox query hid the other metrics")
	}
}
