package feed

import (
	"bytes"
	"compress/gzip"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves the feeds of the latest Set from memory: a request does
// no rendering, no disk I/O and no store query. It is safe for use by
// several goroutines.
//
// The headers of the full feed and of each series' feed are built once,
// in Swap, and the common requests for them (GET or HEAD, with or
// without If-None-Match or If-Modified-Since) are answered without
// allocating; ranges and the other preconditions go through
// http.ServeContent. A session's feed is written on request from its
// Set (see Set), with its headers: a few small allocations, against the
// few hundred bytes of memory each of thousands would hold.
//
// A client that accepts gzip gets the document gzip-compressed, with
// Content-Encoding: gzip and an ETag of its own; every answer says
// Vary: Accept-Encoding. Each document of 4 KiB or more is compressed
// once per change, on the first request that wants it (others that want
// it meanwhile wait for that one), not in Swap: compressing the full
// feed of 10,000 sessions takes about 70 ms of CPU, which an edit on a
// machine of two cores would wait for. A document that did not change
// keeps its compressed form across swaps. A session's feed that large
// is held like the full feed, so that it too is compressed once.
type Handler struct {
	cur    atomic.Pointer[served]
	mu     sync.Mutex // one Swap at a time
	served uint64     // the id of the Set swapped in last; under mu
	// Observe, if set, is told the status of every answer. It is called
	// in the request's path, so it must be cheap (a counter's Inc).
	Observe func(status int)
}

// served is what the handler serves: the Set swapped in last, and an
// entry for each document it holds rather than writes on request, by
// URL path.
type served struct {
	set  *Set
	docs map[string]*entry
}

// entry is a Doc with its header values prebuilt. The slices are shared
// by every response and must not be modified; http.Header.Set and Add
// replace or copy them.
type entry struct {
	identity     encoding
	lastModified []string // nil when the Doc has no time

	gzipOnce sync.Once
	gzip     *encoding // nil when compressing does not make it smaller
}

// encoding is one representation of a document.
type encoding struct {
	doc      Doc
	etags    []string // header values: the ETag
	length   []string
	encoding []string // Content-Encoding; nil for identity
}

func (enc *encoding) etag() string { return enc.etags[0] }

var (
	contentType = []string{"text/calendar; charset=utf-8"}
	noCache     = []string{"no-cache"}
	gzipped     = []string{"gzip"}
	vary        = []string{"Accept-Encoding"}
)

// Swap makes set the one served. Documents whose bytes did not change
// keep their entries, with their compressed form: the map of entries
// starts as a copy of the served one and only what changed is replaced,
// so that an edit of one session builds one entry, not ten thousand.
func (h *Handler) Swap(set *Set) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var old map[string]*entry
	if cur := h.cur.Load(); cur != nil {
		old = cur.docs
	}
	docs := maps.Clone(old)
	switch {
	case docs != nil && set.base != 0 && set.base == h.served:
		// set is the one served with the documents of set.changed
		// replaced and those of set.removed removed: those are all
		// there is to look at.
		var v headerValues
		for _, path := range set.changed {
			d, _ := set.byPath(path)
			putDoc(docs, docs, path, d, &v)
		}
		for _, path := range set.removed {
			delete(docs, path)
		}
	case docs == nil:
		docs = map[string]*entry{}
		putDocs(docs, old, set)
	case !putDocs(docs, docs, set): // some were removed: without them
		docs = map[string]*entry{}
		putDocs(docs, old, set)
	}
	h.served = set.id
	h.cur.Store(&served{set: set, docs: docs})
}

// putDocs puts an entry for every document of set that is held (see
// held) into docs, keeping the one in old of each document that did not
// change. It reports whether docs then holds those documents of set and
// no others.
func putDocs(docs, old map[string]*entry, set *Set) bool {
	n := 0
	var v headerValues
	put := func(path string, d Doc) {
		if held(path, d) {
			n++
		}
		putDoc(docs, old, path, d, &v)
	}
	put("/calendar.ics", set.All)
	for id, d := range set.Series {
		put("/series/"+id+".ics", d)
	}
	for id := range set.sessions.All {
		d, _ := set.session(id)
		put("/sessions/"+id+".ics", d)
	}
	return len(docs) == n
}

// held reports whether the document d, at path, gets an entry in Swap:
// all but the sessions' feeds, which are written on request, and of
// those, the ones large enough to be compressed (once per change).
func held(path string, d Doc) bool {
	return sessionID(path) == "" || d.Len() >= gzipMin
}

// putDoc puts the entry of d, at path, into docs if it is held: old's
// when d did not change, else a new one with its header values from v.
// It removes the entry of a document that is not held.
func putDoc(docs, old map[string]*entry, path string, d Doc, v *headerValues) {
	if !held(path, d) {
		delete(docs, path)
		return
	}
	if e := old[path]; e != nil && e.identity.etag() == d.ETag && e.identity.doc.Modified.Equal(d.Modified) {
		docs[path] = e
		return
	}
	docs[path] = newEntry(d, v)
}

// newEntry returns an entry for d, with its header values from v (nil:
// made for it alone).
func newEntry(d Doc, v *headerValues) *entry {
	e := &entry{identity: encoding{doc: d, etags: []string{d.ETag}, length: v.length(d.Len())}}
	if t := d.Modified.Unix(); !d.Modified.IsZero() && t != 0 {
		e.lastModified = v.modified(d.Modified)
	}
	return e
}

// entry returns the entry of the document at path: the one held, or one
// made for this request from the set.
func (cur *served) entry(path string) (*entry, bool) {
	if e, ok := cur.docs[path]; ok {
		return e, true
	}
	id := sessionID(path)
	if id == "" {
		return nil, false
	}
	d, ok := cur.set.session(id)
	if !ok {
		return nil, false
	}
	return newEntry(d, nil), true
}

// headerValues holds each Content-Length and Last-Modified header value once:
// the documents of a first render share their Last-Modified, and many
// their length. A nil *headerValues makes each value for one use.
type headerValues struct {
	lengths   map[int][]string
	modifieds map[int64][]string
}

func (v *headerValues) length(n int) []string {
	if v == nil {
		return []string{strconv.Itoa(n)}
	}
	if v.lengths == nil {
		v.lengths = map[int][]string{}
	}
	if v.lengths[n] == nil {
		v.lengths[n] = []string{strconv.Itoa(n)}
	}
	return v.lengths[n]
}

func (v *headerValues) modified(t time.Time) []string {
	if v == nil {
		return []string{t.UTC().Format(http.TimeFormat)}
	}
	if v.modifieds == nil {
		v.modifieds = map[int64][]string{}
	}
	if v.modifieds[t.Unix()] == nil {
		v.modifieds[t.Unix()] = []string{t.UTC().Format(http.TimeFormat)}
	}
	return v.modifieds[t.Unix()]
}

// gzipped returns the gzip form of e, compressing it on first use.
func (e *entry) gzipped() *encoding {
	e.gzipOnce.Do(func() {
		id := e.identity.doc
		if id.Len() < gzipMin {
			return
		}
		body := id.Gzip()
		if len(body) >= id.Len() {
			return
		}
		// Held until the document changes: without the room the
		// buffer it was written into had (the full feed of 10,000
		// sessions: 0.3 MB in a buffer of 0.9).
		body = bytes.Clone(body)
		etag := gzipETag(id.ETag)
		e.gzip = &encoding{doc: Doc{body: body, size: len(body), ETag: etag, Modified: id.Modified},
			etags: []string{etag}, length: []string{strconv.Itoa(len(body))}, encoding: gzipped}
	})
	return e.gzip
}

// gzipMin is the size under which a document is sent as it is: one
// session's feed (about 2 KB) would save a kilobyte and keep its
// compressed copy in memory beside it, for each of thousands.
const gzipMin = 4 << 10

// Gzip compresses body with gzip, as static files are served.
func Gzip(body []byte) []byte {
	return Doc{body: body, size: len(body)}.Gzip()
}

// Gzip returns the document compressed with gzip, as served and as
// `convene feed --out` writes it beside each feed.
func (d Doc) Gzip() []byte {
	var b bytes.Buffer
	b.Grow(d.Len()/8 + 64)
	if d.Len() < gzipMin {
		// Feeds this small are served as they are; `convene feed
		// --out` compresses ten thousand of them at a time, and the
		// fastest level takes half the time of the default for 8%
		// more bytes.
		zw := gzipFastWriters.Get().(*gzip.Writer)
		zw.Reset(&b)
		d.WriteTo(zw)
		zw.Close()
		gzipFastWriters.Put(zw)
		return b.Bytes()
	}
	// A compressor at the default level is made for each document, not
	// kept: a few documents are compressed once per change, and one kept
	// in a pool held its 1.7 MB of tables as long as the pool did.
	zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	d.WriteTo(zw)
	zw.Close()
	return b.Bytes()
}

// gzipFastWriters reuses compressors at the fastest level for the many
// small documents `convene feed --out` writes; each holds several hundred
// kilobytes of tables.
var gzipFastWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// gzipETag is the ETag of the gzip form of the document whose identity
// ETag is etag: a strong validator must differ between encodings (RFC
// 9110 section 8.8.3).
func gzipETag(etag string) string {
	return strings.TrimSuffix(etag, `"`) + `-gzip"`
}

// AcceptsGzip reports whether the Accept-Encoding values hd name gzip
// (or *) with a quality above zero (RFC 9110 section 12.5.3).
func AcceptsGzip(hd []string) bool {
	for _, v := range hd {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ",")
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && !strings.EqualFold(name, "x-gzip") && name != "*" {
				continue
			}
			q := 1.0
			for params != "" {
				var p string
				p, params, _ = strings.Cut(params, ";")
				if k, val, ok := strings.Cut(p, "="); ok && strings.TrimSpace(k) == "q" {
					q, _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
				}
			}
			return q > 0
		}
	}
	return false
}

// Loaded reports whether a Set has been swapped in.
func (h *Handler) Loaded() bool { return h.cur.Load() != nil }

// ServeHTTP answers GET and HEAD for /calendar.ics, /series/{id}.ics and
// /sessions/{id}.ics, with a strong ETag, Last-Modified and conditional
// answers (RFC 9110 section 13).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := h.cur.Load()
	if cur == nil {
		// The schedule is loading: the daemon opens its port first.
		w.Header().Set("Retry-After", "1")
		h.fail(w, "the schedule is loading", http.StatusServiceUnavailable)
		return
	}
	e, ok := cur.entry(r.URL.Path)
	if !ok {
		h.fail(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	enc := &e.identity
	if ae := r.Header["Accept-Encoding"]; ae != nil && AcceptsGzip(ae) {
		if gz := e.gzipped(); gz != nil {
			enc = gz
		}
	}
	hd := w.Header()
	hd["Etag"] = enc.etags
	hd["Cache-Control"] = noCache
	hd["Vary"] = vary
	if enc.encoding != nil {
		hd["Content-Encoding"] = enc.encoding
	}
	if r.Header["Range"] != nil || r.Header["If-Match"] != nil || r.Header["If-Unmodified-Since"] != nil {
		h.serveContent(w, r, e, enc)
		return
	}
	if notModified(r.Header, e, enc) {
		// RFC 9110 section 15.4.5: the ETag and Cache-Control the 200
		// would carry, and no representation metadata.
		w.WriteHeader(http.StatusNotModified)
		h.observe(http.StatusNotModified)
		return
	}
	hd["Content-Type"] = contentType
	hd["Content-Length"] = enc.length
	if e.lastModified != nil {
		hd["Last-Modified"] = e.lastModified
		if now := time.Now(); e.identity.doc.Modified.After(now) {
			// A burst of edits stamps each a second after the one
			// before, ahead of the clock; RFC 9110 section 8.8.2.1:
			// never later than Date, so send Date's time instead.
			date := []string{now.UTC().Format(http.TimeFormat)}
			hd["Date"], hd["Last-Modified"] = date, date
		}
	}
	w.WriteHeader(http.StatusOK)
	h.observe(http.StatusOK)
	if r.Method != http.MethodHead {
		enc.doc.WriteTo(w)
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

// notModified evaluates If-None-Match against the ETag of the encoding
// chosen, or If-Modified-Since when there is none (RFC 9110 section
// 13.2.2), for a GET or HEAD.
func notModified(hd http.Header, e *entry, enc *encoding) bool {
	if inm := hd["If-None-Match"]; inm != nil {
		for _, v := range inm {
			if etagMatch(v, enc.etag()) {
				return true
			}
		}
		return false
	}
	ims := hd["If-Modified-Since"]
	if ims == nil || e.lastModified == nil {
		return false
	}
	t, err := http.ParseTime(ims[0])
	return err == nil && !e.identity.doc.Modified.Truncate(1e9).After(t)
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
func (h *Handler) serveContent(w http.ResponseWriter, r *http.Request, e *entry, enc *encoding) {
	w.Header()["Content-Type"] = contentType
	sw := &statusWriter{ResponseWriter: w}
	modified := e.identity.doc.Modified
	if now := time.Now(); modified.After(now) {
		modified = now // never later than Date, as in ServeHTTP
	}
	http.ServeContent(sw, r, "", modified, bytes.NewReader(enc.doc.Bytes()))
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
