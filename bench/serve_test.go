package bench

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/metrics"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// BenchmarkFeedServing compares feed.Handler, routed and counted as
// `convene serve` does, with a bare net/http handler that writes the same
// bytes from memory, under the same wrk load in the same run. Rounds
// alternate between the two and the medians are reported.
func BenchmarkFeedServing(b *testing.B) {
	wrk := needWrk(b)
	h, set, m := sampleHandler(b)
	mux := http.NewServeMux()
	mux.Handle("GET /calendar.ics", h)
	mux.Handle("GET /metrics", m.Handler(nil))
	feedURL := listen(b, mux) + "/calendar.ics"

	body, etag := set.All.Bytes(), set.All.ETag
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/calendar; charset=utf-8"}
		w.Header()["Etag"] = []string{etag}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.Write(body)
	})
	bareURL := listen(b, bare) + "/calendar.ics"

	rounds, dur, conns := 3, 3*time.Second, 50
	for _, c := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"200", nil, http.StatusOK},
		{"304", []string{"If-None-Match: " + etag}, http.StatusNotModified},
	} {
		b.Run(c.name, func(b *testing.B) {
			for _, u := range []string{feedURL, bareURL} {
				if got := status(b, u, c.headers...); got != c.status {
					b.Fatalf("GET %s = %d, want %d", u, got, c.status)
				}
			}
			var feedRPS, bareRPS []float64
			for range rounds {
				r := runWrk(b, wrk, bareURL, conns, dur, c.headers...)
				bareRPS = append(bareRPS, r.RPS)
				r = runWrk(b, wrk, feedURL, conns, dur, c.headers...)
				if r.Errors > 0 {
					b.Errorf("feed: %d errors:\n%s", r.Errors, r.Out)
				}
				feedRPS = append(feedRPS, r.RPS)
			}
			f, bb := median(feedRPS), median(bareRPS)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(len(body)), "body-bytes")
			b.ReportMetric(f, "feed-req/s")
			b.ReportMetric(bb, "bare-req/s")
			b.ReportMetric(100*f/bb, "%-of-bare")
		})
	}
}

// BenchmarkFeedHandler measures feed.Handler alone, without the network:
// the time and allocations of one answer.
func BenchmarkFeedHandler(b *testing.B) {
	h, set, _ := sampleHandler(b)
	for _, c := range []struct{ name, inm string }{{"200", ""}, {"304", set.All.ETag}} {
		b.Run(c.name, func(b *testing.B) {
			r, _ := http.NewRequest("GET", "/calendar.ics", nil)
			if c.inm != "" {
				r.Header.Set("If-None-Match", c.inm)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

// discard is a ResponseWriter that keeps nothing, so the benchmark above
// measures the handler and not a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// listen serves h on a loopback port until the benchmark ends.
func listen(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// status returns the status of a GET of url with headers ("Name: value").
func status(tb testing.TB, url string, headers ...string) int {
	tb.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	// As wrk asks: without Accept-Encoding, which Go's client would
	// otherwise add, getting the gzip form and its own ETag.
	req.Header.Set("Accept-Encoding", "identity")
	for _, h := range headers {
		k, v, _ := cutHeader(h)
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func cutHeader(h string) (k, v string, ok bool) {
	for i := 0; i < len(h); i++ {
		if h[i] == ':' {
			j := i + 1
			for j < len(h) && h[j] == ' ' {
				j++
			}
			return h[:i], h[j:], true
		}
	}
	return h, "", false
}

// sampleHandler returns a feed.Handler serving the sample events.toml,
// rendered and counted as `convene serve` renders and counts it.
func sampleHandler(b *testing.B) (*feed.Handler, *feed.Set, *metrics.Metrics) {
	b.Helper()
	s, err := schedule.Load(filepath.Join("..", "events.toml"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	set, err := feed.Update(context.Background(), nil, s, st, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	m := metrics.New("bench")
	h := &feed.Handler{Observe: m.FeedServed}
	h.Swap(set)
	return h, set, m
}
