package web

import (
	"io"
	"net/http"
)

func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	token := s.csrf(w, r, v)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-cache")
	if wantsGzip(w, r) {
		w.Header().Set("Content-Encoding", "gzip")
		writeGzipParts(w, v.parts, v.gzipParts, token)
		return
	}
	for i, p := range v.parts {
		if i > 0 {
			io.WriteString(w, token)
		}
		w.Write(p)
	}
}
