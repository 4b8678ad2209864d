package web

import (
	"net/http"
	"strings"
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
	// Made on demand: keeping every linked meeting's .ics would copy
	// a series' description into memory once per occurrence.
	o, found := occurrence(v.sched, id, when)
	if !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+"-"+when+`.ics"`)
	newStaticFile(v.set.Event(o), "text/calendar; charset=utf-8").serve(w, r, "no-cache")
}
