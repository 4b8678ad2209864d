package web

import (
	"bytes"
	"embed"
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

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Etag", f.etag)
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
