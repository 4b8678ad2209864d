package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/convene/convene/feed"
)

//go:embed templates static
var files embed.FS

type staticFile struct {
	body  []byte
	ctype string
	etag  string
	// gzip is body compressed once, served under gzipETag
	gzip     []byte
	gzipETag string
}

func newStaticFile(body []byte, ctype string) staticFile {
	sum := sha256.Sum256(body)
	etag := base64.RawURLEncoding.EncodeToString(sum[:12])
	return staticFile{body: body, ctype: ctype, etag: `"` + etag + `"`,
		gzip: feed.Gzip(body), gzipETag: `"` + etag + `-gzip"`}
}

// serve answers with f, gzip-compressed when the client accepts it, or
// 304 when the client has it.
func (f staticFile) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", cacheControl)
	body, etag := f.body, f.etag
	if wantsGzip(w, r) && len(f.gzip) < len(f.body) {
		body, etag = f.gzip, f.gzipETag
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Etag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.serve(w, r, "public, max-age=300")
}

// favicon answers /favicon.ico, which browsers ask for whatever the page
// says, with the page's icon.
func (s *Server) favicon(w http.ResponseWriter, r *http.Request) {
	s.static["favicon.svg"].serve(w, r, "public, max-age=86400")
}

// podcast serves the podcast feed of the recordings.
func (s *Server) podcast(w http.ResponseWriter, r *http.Request) {
	s.current().podcast.serve(s, w, r, "no-cache")
}
