package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// occurrenceICS serves /series/{id}/{original}.ics: one occurrence of a
// series alone, with the UID and SEQUENCE it has in the feed.
func (s *Server) occurrenceICS(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	id, file := r.PathValue("id"), r.PathValue("file")
	when, ok := strings.CutSuffix(file, ".ics")
	if !ok || !v.series[id] {
		http.NotFound(w, r)
		return
	}
	body, ok := v.ics[id+"/"+when]
	if !ok {
		o, found := occurrence(v.sched, id, when)
		if !found {
			http.NotFound(w, r)
			return
		}
		body = v.set.Event(o)
	}
	sum := sha256.Sum256(body)
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+"-"+when+`.ics"`)
	w.Header().Set("Etag", `"`+base64.RawURLEncoding.EncodeToString(sum[:12])+`"`)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
