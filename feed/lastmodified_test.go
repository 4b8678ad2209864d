package feed

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestLastModifiedNotAfterDate makes a burst of edits within one second,
// which the store stamps a second apart, ahead of the clock, and checks
// that no answer's Last-Modified is later than its Date (RFC 9110 section
// 8.8.2.1), for plain and for range requests.
func TestLastModifiedNotAfterDate(t *testing.T) {
	base := goldenInput(t, "sample")
	st := tempStore(t)
	h := &Handler{}
	now := time.Now()
	for i := range 5 {
		_, set := renderTOML(t, st, strings.Replace(base, `title = "`, fmt.Sprintf(`title = "Edit %d `, i), 1), now)
		h.Swap(set)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, rng := range []string{"", "bytes=0-99"} {
		req, _ := http.NewRequest("GET", srv.URL+"/calendar.ics", nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		lm, err1 := http.ParseTime(resp.Header.Get("Last-Modified"))
		date, err2 := http.ParseTime(resp.Header.Get("Date"))
		if err1 != nil || err2 != nil {
			t.Fatalf("Range %q: Last-Modified %q, Date %q", rng, resp.Header.Get("Last-Modified"), resp.Header.Get("Date"))
		}
		if lm.After(date) {
			t.Errorf("Range %q: %s: Last-Modified %v is after Date %v", rng, resp.Status, lm, date)
		}
	}
}
