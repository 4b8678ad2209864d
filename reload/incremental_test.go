package reload

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// TestIncrementalReloadMatchesFullRender: over random rounds of edits of
// events.toml (a title, a description, a time, a session added, removed
// or moved, the calendar's name or default location, a series changed,
// a file that grows and shrinks), every feed that serve's pipeline
// serves after reloading it is, byte for byte and with the same ETag
// and Last-Modified, the one a render from scratch of the same file
// gives against the same versions; a removed session's feed is gone.
func TestIncrementalReloadMatchesFullRender(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { incrementalMatchesFull(t, seed) })
	}
}

func incrementalMatchesFull(t *testing.T, seed uint64) {
	ctx := context.Background()
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	st, err := store.OpenExclusive(filepath.Join(dir, "state.db")) // as serve does
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	full, err := store.Open(filepath.Join(dir, "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) // past: Last-Modified is never after Date
	h := &feed.Handler{}
	p, err := New(Config{Path: config, Store: st, Feeds: h, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(9, seed))
	type session struct {
		id, title, description string
		hour                   int
	}
	var sessions []session
	for i := range 40 {
		sessions = append(sessions, session{id: fmt.Sprint("s", i), title: fmt.Sprint("Session ", i), hour: 18})
	}
	name, location, seriesTitle := "Group", "", "Weekly"
	text := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "[calendar]\nname = %q\ntimezone = \"Europe/Berlin\"\nurl = \"https://reload.example.org\"\n", name)
		if location != "" {
			fmt.Fprintf(&b, "location = %q\n", location)
		}
		fmt.Fprintf(&b, "\n[[series]]\nid = \"weekly\"\ntitle = %q\nstart = 2030-03-03T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=8\"\n", seriesTitle)
		for i, ss := range sessions {
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = 2030-%02d-%02dT%02d:00:00\n",
				ss.id, ss.title, 1+i%12, 1+i%28, ss.hour)
			if ss.description != "" {
				fmt.Fprintf(&b, "description = %q\n", ss.description)
			}
		}
		return b.String()
	}
	next := len(sessions)
	var served map[string]bool
	for round := range 30 {
		switch k := rng.IntN(10); {
		case k < 3:
			i := rng.IntN(len(sessions))
			sessions[i].title = fmt.Sprintf("Session %d, round %d", i, round)
		case k == 3: // the file grows by a long text
			sessions[rng.IntN(len(sessions))].description = strings.Repeat(fmt.Sprint("Round ", round, ". "), 200)
		case k == 4:
			sessions[rng.IntN(len(sessions))].hour = 10 + rng.IntN(10)
		case k == 5:
			sessions = append(sessions, session{id: fmt.Sprint("s", next), title: fmt.Sprint("Added ", next), hour: 12})
			next++
		case k == 6:
			i := rng.IntN(len(sessions))
			sessions = append(sessions[:i], sessions[i+1:]...)
		case k == 7: // a session moved to the end of the file
			i := rng.IntN(len(sessions))
			sessions = append(append(sessions[:i:i], sessions[i+1:]...), sessions[i])
		case k == 8:
			name, location = fmt.Sprint("Group ", rng.IntN(3)), fmt.Sprint("Room ", rng.IntN(2))
		case k == 9:
			seriesTitle = fmt.Sprint("Weekly ", round)
		}
		now = now.Add(time.Duration(rng.IntN(2)) * time.Second)
		data := text()
		if err := os.WriteFile(config, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := schedule.Parse("events.toml", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		want, err := feed.Render(ctx, s, full, now)
		if err != nil {
			t.Fatal(err)
		}
		docs := want.Docs()
		for path, d := range docs {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != http.StatusOK || string(body) != string(d.Bytes()) || w.Header().Get("Etag") != d.ETag ||
				w.Header().Get("Last-Modified") != d.Modified.UTC().Format(http.TimeFormat) {
				t.Fatalf("round %d: %s is served as %d, ETag %s, Last-Modified %s, not as a render from scratch gives it (ETag %s)",
					round, path, w.Code, w.Header().Get("Etag"), w.Header().Get("Last-Modified"), d.ETag)
			}
		}
		for path := range served {
			if _, ok := docs[path]; !ok {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				if w.Code != http.StatusNotFound {
					t.Fatalf("round %d: %s, removed, answers %d", round, path, w.Code)
				}
			}
		}
		served = map[string]bool{}
		for path := range docs {
			served[path] = true
		}
	}
}
