package feed

import (
	"bytes"
	"net/http"
	"sync/atomic"
)

// Handler serves the feeds of the latest Set from memory: a request does
// no rendering, no disk I/O and no store query. It is safe for use by
// several goroutines.
type Handler struct {
	docs atomic.Pointer[map[string]Doc]
}

// Swap makes set the one served.
func (h *Handler) Swap(set *Set) {
	docs := set.Docs()
	h.docs.Store(&docs)
}

// ServeHTTP answers GET and HEAD for /calendar.ics, /series/{id}.ics and
// /sessions/{id}.ics, with a strong ETag, Last-Modified and conditional
// answers (RFC 9110 section 13).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	docs := h.docs.Load()
	if docs == nil {
		http.Error(w, "no schedule loaded", http.StatusServiceUnavailable)
		return
	}
	d, ok := (*docs)[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd["Content-Type"] = []string{"text/calendar; charset=utf-8"}
	hd["Etag"] = []string{d.ETag}
	hd["Cache-Control"] = []string{"no-cache"}
	http.ServeContent(w, r, "", d.Modified, bytes.NewReader(d.Body))
}
