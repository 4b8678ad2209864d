package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// TestDocsShareBytes: each event is held once, by the full feed and the
// event's own feed alike (its text, compressed, and its stamped lines),
// and the calendar properties every document has are held once for all
// of them.
func TestDocsShareBytes(t *testing.T) {
	s, err := schedule.Parse("events.toml", []byte(httpTestSchedule+`
[[sessions]]
id = "review"
title = "Review"
start = 2023-12-10T20:00:00
timezone = "Europe/Berlin"
`))
	if err != nil {
		t.Fatal(err)
	}
	set := renderTestSet(t, s)
	held := map[*byte]bool{}
	for p := range set.All.parts {
		held[&p[0]] = true
	}
	var head *byte
	for id := range set.sessions.All {
		d, _ := set.session(id)
		var parts [][]byte
		for p := range d.parts {
			parts = append(parts, p)
		}
		if !bytes.Equal(d.Bytes(), bytes.Join(parts, nil)) || d.Len() != len(d.Bytes()) {
			t.Fatalf("session %s: Len %d, Bytes %d bytes", id, d.Len(), len(d.Bytes()))
		}
		event := -1
		for i, p := range parts {
			if bytes.HasPrefix(p, []byte("BEGIN:VEVENT")) {
				event = i
			}
		}
		if event < 0 || !slices.Contains(set.All.layout.cs, d.layout.cs[0]) || !held[&parts[event+1][0]] {
			t.Errorf("session %s: its event is not the full feed's bytes", id)
		}
		if head == nil {
			head = &parts[0][0]
		} else if head != &parts[0][0] {
			t.Errorf("session %s: its calendar properties are a copy of their own", id)
		}
	}
	if set.sessions.Len() < 2 {
		t.Fatalf("the sample has %d sessions", set.sessions.Len())
	}
	var b bytes.Buffer
	if n, err := set.All.WriteTo(&b); err != nil || n != int64(set.All.Len()) || !bytes.Equal(b.Bytes(), set.All.Bytes()) {
		t.Errorf("WriteTo = %d, %v; want the %d bytes of Bytes", n, err, set.All.Len())
	}
}

// TestSessionFeedOnRequest: the feed of a session, which the handler
// writes on request from what the set holds, is byte for byte the
// document laid out for the session alone (as Set.Event lays one out),
// with that document's ETag and the Last-Modified stamped for it;
// gzip-compressed when it is large enough, to those same bytes. Many
// generated sessions: titles that need escaping and folding, in several
// zones, some with descriptions that make them large.
func TestSessionFeedOnRequest(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	words := []string{"Reading", "group", "a,b", "semi;colon", `back\slash`, "naïve", "日本語の会", "🙂", "x", strings.Repeat("long", 12)}
	phrase := func(n int) string {
		var ws []string
		for range 1 + rng.IntN(n) {
			ws = append(ws, words[rng.IntN(len(words))])
		}
		return strings.Join(ws, " ")
	}
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Lord_Howe", "Europe/London"}
	var b strings.Builder
	fmt.Fprintf(&b, "[calendar]\nname = %q\ntimezone = \"Europe/Berlin\"\nurl = \"https://group.example.org\"\ndescription = %q\n", phrase(4), phrase(6))
	for i := range 300 {
		fmt.Fprintf(&b, "\n[[sessions]]\nid = \"s%d\"\ntitle = %q\nstart = %d-%02d-%02dT%02d:30:00\ntimezone = %q\n",
			i, phrase(8), 2020+rng.IntN(15), 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), zones[rng.IntN(len(zones))])
		if rng.IntN(10) == 0 {
			fmt.Fprintf(&b, "description = %q\n", strings.Repeat(phrase(20)+"\n", 60))
		}
	}
	s, err := schedule.Parse("events.toml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2023, 7, 1, 12, 0, 0, 0, time.UTC)
	set, err := Render(context.Background(), s, st, now)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{}
	h.Swap(set)
	large := 0
	for _, ss := range s.Sessions {
		r := &renderer{s: s}
		c, _ := set.comps.Get(r.key(s.Single(ss)))
		want := r.layout(s.Calendar.Name+": "+ss.Title, []*component{c})
		// The same print again: the store answers the version it
		// stamped, unchanged.
		versions, err := st.Stamp(context.Background(), now.Add(time.Hour), map[string]string{sessionDoc(ss.ID): want.print()})
		if err != nil {
			t.Fatal(err)
		}
		wantDoc := want.doc(versions[sessionDoc(ss.ID)].Modified)
		for _, ae := range []string{"", "gzip"} {
			req := httptest.NewRequest("GET", "/sessions/"+ss.ID+".ics", nil)
			if ae != "" {
				req.Header.Set("Accept-Encoding", ae)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			body, etag := w.Body.Bytes(), wantDoc.ETag
			if w.Header().Get("Content-Encoding") == "gzip" {
				large++
				if wantDoc.Len() < gzipMin {
					t.Errorf("%s: %d bytes sent compressed", ss.ID, wantDoc.Len())
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
				etag = gzipETag(etag)
			} else if ae != "" && wantDoc.Len() >= gzipMin {
				t.Errorf("%s: %d bytes, asked for gzip, sent as they are", ss.ID, wantDoc.Len())
			}
			if w.Code != 200 || !bytes.Equal(body, wantDoc.Bytes()) {
				t.Fatalf("%s (Accept-Encoding %q): %d, body\n%s\nwant\n%s", ss.ID, ae, w.Code, body, wantDoc.Bytes())
			}
			if got := w.Header().Get("Etag"); got != etag {
				t.Errorf("%s (Accept-Encoding %q): ETag %s, want %s", ss.ID, ae, got, etag)
			}
			if got, want := w.Header().Get("Last-Modified"), wantDoc.Modified.UTC().Format(http.TimeFormat); got != want {
				t.Errorf("%s: Last-Modified %s, want %s", ss.ID, got, want)
			}
		}
	}
	if large == 0 || large == len(s.Sessions) {
		t.Errorf("%d of %d sessions' feeds sent compressed: the test needs both kinds", large, len(s.Sessions))
	}
}
