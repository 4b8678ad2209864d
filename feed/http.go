package feed

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// Handler serves the feeds of the latest Set from memory: a request does
// no rendering, no disk I/O and no store query. It is safe for use by
// several goroutines.
//
// The headers of each document are built once, in Swap, and the common
// requests (GET or HEAD, with or without If-None-Match or
// If-Modified-Since) are answered without allocating; ranges and the
// other preconditions go through http.ServeContent.
type Handler struct {
	docs atomic.Pointer[map[string]*entry]
	// Observe, if set, is told the status of every answer. It is called
	// in the request's path, so it must be cheap (a counter's Inc).
	Observe func(status int)
}

// entry is a Doc with its header values prebuilt. The slices are shared
// by every response and must not be modified; http.Header.Set and Add
// replace or copy them.
type entry struct {
	Doc
	etag     []string
	modified []string // nil when the Doc has no time
	length   []string
}

var (
	contentType = []string{"text/calendar; charset=utf-8"}
	noCache     = []string{"no-cache"}
)

// Swap makes set the one served.
func (h *Handler) Swap(set *Set) {
	docs := map[string]*entry{}
	for path, d := range set.Docs() {
		e := &entry{Doc: d, etag: []string{d.ETag}, length: []string{strconv.Itoa(len(d.Body))}}
		if !d.Modified.IsZero() && d.Modified.Unix() != 0 {
			e.modified = []string{d.Modified.UTC().Format(http.TimeFormat)}
		}
		docs[path] = e
	}
	h.docs.Store(&docs)
}

// Loaded reports whether a Set has been swapped in.
func (h *Handler) Loaded() bool { return h.docs.Load() != nil }

// ServeHTTP answers GET and HEAD for /calendar.ics, /series/{id}.ics and
// /sessions/{id}.ics, with a strong ETag, Last-Modified and conditional
// answers (RFC 9110 section 13).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	docs := h.docs.Load()
	if docs == nil {
		// The schedule is loading: the daemon opens its port first.
		w.Header().Set("Retry-After", "1")
		h.fail(w, "the schedule is loading", http.StatusServiceUnavailable)
		return
	}
	e, ok := (*docs)[r.URL.Path]
	if !ok {
		h.fail(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd["Etag"] = e.etag
	hd["Cache-Control"] = noCache
	if r.Header["Range"] != nil || r.Header["If-Match"] != nil || r.Header["If-Unmodified-Since"] != nil {
		h.serveContent(w, r, e)
		return
	}
	if notModified(r.Header, e) {
		// RFC 9110 section 15.4.5: the ETag and Cache-Control the 200
		// would carry, and no representation metadata.
		w.WriteHeader(http.StatusNotModified)
		h.observe(http.StatusNotModified)
		return
	}
	hd["Content-Type"] = contentType
	hd["Content-Length"] = e.length
	if e.modified != nil {
		hd["Last-Modified"] = e.modified
	}
	w.WriteHeader(http.StatusOK)
	h.observe(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(e.Body)
	}
}

func (h *Handler) observe(status int) {
	if h.Observe != nil {
		h.Observe(status)
	}
}

func (h *Handler) fail(w http.ResponseWriter, msg string, status int) {
	http.Error(w, msg, status)
	h.observe(status)
}

// notModified evaluates If-None-Match, or If-Modified-Since when there is
// none (RFC 9110 section 13.2.2), for a GET or HEAD.
func notModified(hd http.Header, e *entry) bool {
	if inm := hd["If-None-Match"]; inm != nil {
		for _, v := range inm {
			if etagMatch(v, e.ETag) {
				return true
			}
		}
		return false
	}
	ims := hd["If-Modified-Since"]
	if ims == nil || e.modified == nil {
		return false
	}
	t, err := http.ParseTime(ims[0])
	return err == nil && !e.Modified.Truncate(1e9).After(t)
}

// etagMatch reports whether the If-None-Match list v names etag, with the
// weak comparison that If-None-Match uses (RFC 9110 section 8.8.3.2).
func etagMatch(v, etag string) bool {
	if v == etag {
		return true
	}
	for {
		v = strings.TrimLeft(v, " \t,")
		if v == "" {
			return false
		}
		if v[0] == '*' {
			return true
		}
		v = strings.TrimPrefix(v, "W/")
		if len(v) < 2 || v[0] != '"' {
			return false
		}
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return false
		}
		if v[:end+2] == etag {
			return true
		}
		v = v[end+2:]
	}
}

// serveContent answers the rare requests: ranges and If-Match or
// If-Unmodified-Since preconditions.
func (h *Handler) serveContent(w http.ResponseWriter, r *http.Request, e *entry) {
	w.Header()["Content-Type"] = contentType
	sw := &statusWriter{ResponseWriter: w}
	http.ServeContent(sw, r, "", e.Modified, bytes.NewReader(e.Body))
	h.observe(sw.status)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Webcal returns the webcal:// form of a feed's http(s) URL, the link that
// Apple Calendar and Thunderbird open as a subscription.
func Webcal(feedURL string) string {
	return "webcal://" + strings.TrimPrefix(strings.TrimPrefix(feedURL, "https://"), "http://")
}
