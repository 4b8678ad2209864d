package web

import (
	"bytes"
	"fmt"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/podcast"
	"github.com/convene/convene/schedule"
)

// view is one rendering of the page and what its routes need.
type view struct {
	sched *schedule.Schedule
	set   feedSet
	base  string
	parts [][]byte // the landing page, split where the CSRF value goes
	// gzipParts are the parts deflated once (compress.go)
	gzipParts [][]byte
	years     map[int]staticFile
	podcast   staticFile
	// podcastURL is the podcast feed's URL when a meeting has a
	// recording, for the pages to link.
	podcastURL string
	series     map[string]bool
	expires    time.Time
}

// Page is one rendering of the landing page and what its routes need,
// built for one schedule by Build and served once Show is called.
type Page = view

// Load renders the page for a newly loaded schedule and its feeds and
// serves it: Build, then Show.
func (s *Server) Load(sched *schedule.Schedule, set *feed.Set) error {
	p, err := s.Build(sched, set)
	if err != nil {
		return err
	}
	s.Show(p)
	return nil
}

// Build renders the page for sched and its feeds without serving it; it
// changes nothing, so a reload can still fail after it.
func (s *Server) Build(sched *schedule.Schedule, set *feed.Set) (*Page, error) {
	return s.build(sched, set)
}

// Show makes p the page served.
func (s *Server) Show(p *Page) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Store(p)
}

func (s *Server) build(sched *schedule.Schedule, set feedSet) (*view, error) {
	now := s.cfg.Now()
	base := sched.Calendar.URL
	if base == "" {
		base = s.cfg.BaseURL
	}
	data, years, expires := build(sched, base, now, zoneList)
	data.CSRF = s.sentinel
	page, err := s.execute("index.html", data)
	if err != nil {
		return nil, fmt.Errorf("render page: %w", err)
	}
	v := &view{sched: sched, set: set, base: base, expires: expires,
		parts:      bytes.Split(page, []byte(s.sentinel)),
		years:      map[int]staticFile{},
		podcast:    newStaticFile(podcast.Render(sched, base), podcast.ContentType),
		podcastURL: data.Podcast,
		series:     map[string]bool{}}
	v.gzipParts = deflateParts(v.parts)
	for _, y := range years {
		page, err := s.execute("year.html", yearData(sched, data, years, y))
		if err != nil {
			return nil, fmt.Errorf("render the page of %d: %w", y.Year, err)
		}
		v.years[y.Year] = newStaticFile(page, "text/html; charset=utf-8")
	}
	for _, sr := range sched.Series {
		v.series[sr.ID] = true
	}
	return v, nil
}

// current returns the view, rendered again first when time has made it
// stale. The rendering starts from the view served when the lock is
// held, so that a newer schedule shown meanwhile is never replaced by
// the older one, and requests that waited for the lock find the view
// fresh and do not render it again.
func (s *Server) current() *view {
	v := s.cur.Load()
	if v == nil || s.cfg.Now().Before(v.expires) {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v = s.cur.Load()
	if s.cfg.Now().Before(v.expires) {
		return v
	}
	nv, err := s.build(v.sched, v.set)
	if err != nil {
		s.log.Error("render page", "err", err)
		return v
	}
	s.cur.Store(nv)
	return nv
}
