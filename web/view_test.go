package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// TestStalePageNeverReplacesANewerOne reproduces, deterministically, the
// race between a request that finds the page stale and a reload: the
// reload shows a new schedule just after the request read the old view,
// and the request's re-rendering must not bring the old schedule back.
func TestStalePageNeverReplacesANewerOne(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	text, err := os.ReadFile("testdata/events.toml")
	if err != nil {
		t.Fatal(err)
	}
	load := func(text string) (*schedule.Schedule, *feed.Set) {
		s, err := schedule.Parse("events.toml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		set, err := feed.Render(ctx, s, st, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return s, set
	}
	oldSched, oldSet := load(string(text))
	newSched, newSet := load(strings.Replace(string(text), `title = "Weekly reading"`, `title = "Renamed reading"`, 1))

	// The clock: the first reading after arm runs the reload, as if it
	// happened between the request's load of the view and its check.
	var mu sync.Mutex
	now, armed := testNow, false
	var srv *Server
	clock := func() time.Time {
		mu.Lock()
		fire := armed
		armed = false
		t := now
		mu.Unlock()
		if fire {
			if err := srv.Load(newSched, newSet); err != nil {
				panic(err)
			}
		}
		return t
	}
	srv, err = New(Config{Store: st, Secret: bytes.Repeat([]byte("k"), 32), Log: slog.New(slog.DiscardHandler), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(oldSched, oldSet); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	page := func() string {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		b, _ := io.ReadAll(w.Result().Body)
		return string(b)
	}

	mu.Lock()
	now, armed = testNow.Add(rebuildEvery+time.Minute), true // the old view is stale
	mu.Unlock()
	for i, body := range []string{page(), page()} {
		if !strings.Contains(body, "Renamed reading") {
			t.Errorf("request %d served the old schedule after a newer one was shown", i+1)
		}
	}
}
