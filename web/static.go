package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"time"
)

//go:embed templates static
var files embed.FS

type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

func newStaticFile(body []byte, ctype string) staticFile {
	sum := sha256.Sum256(body)
	return staticFile{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// serve answers with f, or 304 when the client has it.
func (f staticFile) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Etag", f.etag)
	w.Header().Set("Cache-Control", cacheControl)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
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
	s.current().podcast.serve(w, r, "no-cache")
}
