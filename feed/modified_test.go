package feed

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestLastModifiedMonotonic re-renders through a series of edits, one of
// which removes a component and one of which happens while the clock has
// gone back, and checks that the Last-Modified the handler sends never
// moves backwards and that a client's If-Modified-Since from before each
// edit gets the new feed.
func TestLastModifiedMonotonic(t *testing.T) {
	base := goldenInput(t, "sample")
	removed := base[:strings.Index(base, "[[sessions]]")] + base[strings.Index(base, "# A recurring meeting"):]
	if removed == base || !strings.Contains(removed, "[[series]]") {
		t.Fatal("could not remove the session from the sample")
	}
	steps := []struct {
		name string
		text string
		now  time.Time
		edit bool
	}{
		{"first", base, fixedNow, true},
		{"unchanged", base, fixedNow.Add(time.Hour), false},
		{"session removed", removed, fixedNow.Add(2 * time.Hour), true},
		{"session back, clock went back a day", base, fixedNow.Add(-24 * time.Hour), true},
		{"removed again in the same second", removed, fixedNow.Add(-24 * time.Hour), true},
	}
	st := tempStore(t)
	h := &Handler{}
	var lastMod time.Time
	var lastHeader, lastETag string
	for i, step := range steps {
		_, set := renderTOML(t, st, step.text, step.now)
		h.Swap(set)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/calendar.ics", nil))
		lm, err := http.ParseTime(w.Header().Get("Last-Modified"))
		if err != nil {
			t.Fatalf("%s: Last-Modified %q: %v", step.name, w.Header().Get("Last-Modified"), err)
		}
		etag := w.Header().Get("Etag")
		if i > 0 {
			switch {
			case step.edit && !lm.After(lastMod):
				t.Errorf("%s: Last-Modified %v, not after %v", step.name, lm, lastMod)
			case !step.edit && !lm.Equal(lastMod):
				t.Errorf("%s: Last-Modified moved from %v to %v without an edit", step.name, lastMod, lm)
			}
			if (etag != lastETag) != step.edit {
				t.Errorf("%s: ETag %s -> %s, edit %v", step.name, lastETag, etag, step.edit)
			}
			// A client that fetched the previous feed.
			r := httptest.NewRequest("GET", "/calendar.ics", nil)
			r.Header.Set("If-Modified-Since", lastHeader)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if want := map[bool]int{true: 200, false: 304}[step.edit]; w.Code != want {
				t.Errorf("%s: If-Modified-Since the previous Last-Modified: %d, want %d", step.name, w.Code, want)
			}
			r = httptest.NewRequest("GET", "/calendar.ics", nil)
			r.Header.Set("If-None-Match", lastETag)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if want := map[bool]int{true: 200, false: 304}[step.edit]; w.Code != want {
				t.Errorf("%s: If-None-Match the previous ETag: %d, want %d", step.name, w.Code, want)
			}
		}
		lastMod, lastHeader, lastETag = lm, w.Header().Get("Last-Modified"), etag
	}
	// The removed session's own document is gone: 404.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/sessions/introduction.ics", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("removed session: %d, want 404", w.Code)
	}
}
