package feed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

const httpTestSchedule = `
[calendar]
name = "Reading group"
timezone = "America/New_York"
url = "https://group.example.org"

[[sessions]]
id = "introduction"
title = "Introduction"
start = 2023-07-16T20:00:00

[[series]]
id = "chapters"
title = "Chapters"
start = 2023-07-30T20:00:00
rrule = "FREQ=WEEKLY;COUNT=4"
`

func httpTestSet(t *testing.T) *Set {
	t.Helper()
	s, err := schedule.Parse("events.toml", []byte(httpTestSchedule))
	if err != nil {
		t.Fatal(err)
	}
	return renderTestSet(t, s)
}

// renderTestSet renders s with a new state file, on 1 July 2023.
func renderTestSet(t *testing.T, s *schedule.Schedule) *Set {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	set, err := Render(context.Background(), s, st, time.Date(2023, 7, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestHandler(t *testing.T) {
	set := httpTestSet(t)
	etag := set.All.ETag
	lastMod := set.All.Modified.UTC().Format(http.TimeFormat)
	before := set.All.Modified.Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
		body    []byte // nil: empty
	}{
		{"get", "GET", "/calendar.ics", nil, 200, set.All.Bytes()},
		{"head", "HEAD", "/calendar.ics", nil, 200, nil},
		{"series", "GET", "/series/chapters.ics", nil, 200, set.Series["chapters"].Bytes()},
		{"session", "GET", "/sessions/introduction.ics", nil, 200, sessionBytes(t, set, "introduction")},
		{"if-none-match", "GET", "/calendar.ics", map[string]string{"If-None-Match": etag}, 304, nil},
		{"if-none-match head", "HEAD", "/calendar.ics", map[string]string{"If-None-Match": etag}, 304, nil},
		{"if-none-match list", "GET", "/calendar.ics", map[string]string{"If-None-Match": `"other", ` + etag}, 304, nil},
		{"if-none-match weak", "GET", "/calendar.ics", map[string]string{"If-None-Match": "W/" + etag}, 304, nil},
		{"if-none-match star", "GET", "/calendar.ics", map[string]string{"If-None-Match": "*"}, 304, nil},
		{"if-none-match other", "GET", "/calendar.ics", map[string]string{"If-None-Match": `"other"`}, 200, set.All.Bytes()},
		{"if-none-match other doc", "GET", "/series/chapters.ics", map[string]string{"If-None-Match": etag}, 200, set.Series["chapters"].Bytes()},
		{"if-none-match beats if-modified-since", "GET", "/calendar.ics", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lastMod}, 200, set.All.Bytes()},
		{"if-modified-since same", "GET", "/calendar.ics", map[string]string{"If-Modified-Since": lastMod}, 304, nil},
		{"if-modified-since before", "GET", "/calendar.ics", map[string]string{"If-Modified-Since": before}, 200, set.All.Bytes()},
		{"if-modified-since garbage", "GET", "/calendar.ics", map[string]string{"If-Modified-Since": "yesterday"}, 200, set.All.Bytes()},
		{"range", "GET", "/calendar.ics", map[string]string{"Range": "bytes=0-14"}, 206, set.All.Bytes()[:15]},
		{"if-match fails", "GET", "/calendar.ics", map[string]string{"If-Match": `"other"`}, 412, nil},
		{"if-match holds", "GET", "/calendar.ics", map[string]string{"If-Match": etag}, 200, set.All.Bytes()},
		{"unknown", "GET", "/sessions/nothing.ics", nil, 404, []byte("404 page not found\n")},
		{"post", "POST", "/calendar.ics", nil, 405, []byte("method not allowed\n")},
	}
	var observed []int
	h := &Handler{Observe: func(status int) { observed = append(observed, status) }}
	h.Swap(set)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			observed = observed[:0]
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			res := w.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("%s %s %v: status %d, want %d", tt.method, tt.path, tt.headers, res.StatusCode, tt.status)
			}
			if string(body) != string(tt.body) {
				t.Errorf("%s %s %v: body %q, want %q", tt.method, tt.path, tt.headers, short(body), short(tt.body))
			}
			if len(observed) != 1 || observed[0] != tt.status {
				t.Errorf("Observe got %v, want [%d]", observed, tt.status)
			}
			if tt.status >= 400 && tt.status != 412 {
				return
			}
			if got := res.Header.Get("Etag"); !strings.HasPrefix(got, `"`) {
				t.Errorf("ETag = %q, want a strong validator", got)
			}
			switch tt.status {
			case 200:
				if got := res.Header.Get("Content-Type"); got != "text/calendar; charset=utf-8" {
					t.Errorf("Content-Type = %q", got)
				}
				if got := res.Header.Get("Last-Modified"); got == "" {
					t.Errorf("no Last-Modified")
				}
				want := len(tt.body)
				if tt.method == "HEAD" {
					want = len(set.All.Bytes())
				}
				if got := res.Header.Get("Content-Length"); got != strconv.Itoa(want) {
					t.Errorf("Content-Length = %q, want %d", got, want)
				}
			case 304:
				for _, k := range []string{"Content-Type", "Content-Length", "Last-Modified"} {
					if v := res.Header.Get(k); v != "" {
						t.Errorf("304 has %s: %q", k, v)
					}
				}
				if got := res.Header.Get("Cache-Control"); got != "no-cache" {
					t.Errorf("304 Cache-Control = %q, want no-cache", got)
				}
			}
		})
	}
}

// sessionBytes returns the bytes of the feed of session id.
func sessionBytes(t *testing.T, set *Set, id string) []byte {
	t.Helper()
	d, ok := set.session(id)
	if !ok {
		t.Fatalf("no session %q", id)
	}
	return d.Bytes()
}

func TestHandlerNotLoaded(t *testing.T) {
	var h Handler
	if h.Loaded() {
		t.Fatal("Loaded() = true before Swap")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/calendar.ics", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d before Swap, want 503", w.Code)
	}
	h.Swap(httpTestSet(t))
	if !h.Loaded() {
		t.Fatal("Loaded() = false after Swap")
	}
}

// TestHandlerAllocs keeps the common answers free of allocations, so that
// serving stays near the speed of writing bytes from memory.
func TestHandlerAllocs(t *testing.T) {
	set := httpTestSet(t)
	n := 0
	h := &Handler{Observe: func(int) { n++ }}
	h.Swap(set)
	for _, c := range []struct{ ae, inm string }{
		{"", ""}, {"", set.All.ETag}, {"gzip, deflate, br", ""}, {"gzip, deflate, br", gzipETag(set.All.ETag)},
	} {
		inm := c.inm
		r := httptest.NewRequest("GET", "/calendar.ics", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		if c.ae != "" {
			r.Header.Set("Accept-Encoding", c.ae)
		}
		w := &nullWriter{h: http.Header{}}
		allocs := testing.AllocsPerRun(100, func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		})
		if allocs != 0 {
			t.Errorf("Accept-Encoding %q, If-None-Match %q: %v allocations per request, want 0", c.ae, inm, allocs)
		}
	}
	if n == 0 {
		t.Error("Observe was not called")
	}
}

type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nullWriter) WriteHeader(int)             {}

func short(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// TestSwapKeepsAndDrops: after a swap, a document that did not change
// keeps its entry (with its compressed form), a changed one is served
// anew, and a removed one answers 404.
func TestSwapKeepsAndDrops(t *testing.T) {
	var h Handler
	first := httpTestSet(t)
	h.Swap(first)
	kept := h.cur.Load().docs["/series/chapters.ics"]
	text := strings.Replace(httpTestSchedule, `id = "introduction"`, `id = "welcome"`, 1)
	s, err := schedule.Parse("events.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	second := renderTestSet(t, s)
	h.Swap(second)
	docs := h.cur.Load().docs
	if docs["/series/chapters.ics"] != kept {
		t.Error("an unchanged document got a new entry")
	}
	// The sessions' feeds are small, so written on request.
	if want := 1 + len(second.Series); len(docs) != want {
		t.Errorf("%d entries, want %d", len(docs), want)
	}
	for path, want := range map[string]int{"/sessions/introduction.ics": 404, "/sessions/welcome.ics": 200, "/calendar.ics": 200} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("%s: %d after the swap, want %d", path, w.Code, want)
		}
	}
	if w := httptest.NewRecorder(); true {
		h.ServeHTTP(w, httptest.NewRequest("GET", "/calendar.ics", nil))
		if w.Header().Get("Etag") != second.All.ETag {
			t.Errorf("the full feed has ETag %s after the swap, want %s", w.Header().Get("Etag"), second.All.ETag)
		}
	}
}

// TestSwapSessionFeedGrows: a session's feed that an edit makes large
// enough to compress gets an entry (compressed once, not per request),
// and loses it when an edit makes it small again, on the swap that
// replaces the documents an edit changed as on a whole one.
func TestSwapSessionFeedGrows(t *testing.T) {
	st, err := store.OpenExclusive(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const path = "/sessions/introduction.ics"
	var h Handler
	var set *Set
	for i, description := range []string{"", strings.Repeat("A long description. ", 400), ""} {
		text := strings.Replace(httpTestSchedule, `title = "Introduction"`, fmt.Sprintf("title = \"Introduction\"\ndescription = %q", description), 1)
		s, err := schedule.Parse("events.toml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if set, err = Update(context.Background(), set, s, st, time.Date(2023, 7, 1, 12, i, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		h.Swap(set)
		e, held := h.cur.Load().docs[path]
		d, _ := set.session("introduction")
		if large := d.Len() >= gzipMin; held != large {
			t.Errorf("edit %d: %d bytes, held %v", i, d.Len(), held)
		}
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if gz := w.Header().Get("Content-Encoding") == "gzip"; w.Code != 200 || gz != held || (held && e.gzip == nil) {
			t.Errorf("edit %d: %d, compressed %v, held %v", i, w.Code, gz, held)
		}
	}
}
