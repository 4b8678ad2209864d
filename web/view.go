package web

import (
	"bytes"
	"fmt"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
)

// view is one rendering of the page and what its routes need.
type view struct {
	sched   *schedule.Schedule
	set     feedSet
	base    string
	parts   [][]byte // the landing page, split where the CSRF value goes
	ics     map[string][]byte
	series  map[string]bool
	expires time.Time
}

// Load renders the page for a newly loaded schedule and its feeds. The
// daemon calls it after every good reload.
func (s *Server) Load(sched *schedule.Schedule, set *feed.Set) error {
	return s.rebuild(sched, set)
}

func (s *Server) rebuild(sched *schedule.Schedule, set feedSet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	base := sched.Calendar.URL
	if base == "" {
		base = s.cfg.BaseURL
	}
	data, occs, expires := build(sched, base, now, zoneList)
	data.CSRF = s.sentinel
	var buf bytes.Buffer
	if err := s.pages["index.html"].ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render page: %w", err)
	}
	v := &view{sched: sched, set: set, base: base, expires: expires,
		parts: bytes.Split(buf.Bytes(), []byte(s.sentinel)),
		ics:   map[string][]byte{}, series: map[string]bool{}}
	for key, o := range occs {
		v.ics[key] = set.Event(o)
	}
	for _, sr := range sched.Series {
		v.series[sr.ID] = true
	}
	s.cur.Store(v)
	return nil
}

// current returns the view, rendered again first when time has made it
// stale.
func (s *Server) current() *view {
	v := s.cur.Load()
	if v == nil || s.cfg.Now().Before(v.expires) {
		return v
	}
	if err := s.rebuild(v.sched, v.set); err != nil {
		s.log.Error("render page", "err", err)
		return v
	}
	return s.cur.Load()
}
