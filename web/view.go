package web

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/podcast"
	"github.com/convene/convene/schedule"
)

// view is one rendering of the page and what its routes need.
type view struct {
	sched *schedule.Schedule
	idx   *index // what the page reads of sched's sessions
	set   feedSet
	base  string
	parts [][]byte // the landing page, split where the CSRF value goes
	// gzipParts are the parts deflated once (compress.go)
	gzipParts [][]byte
	// The archive's pages and the podcast feed are rendered on their
	// first request, once per view: an edit renders the landing page
	// alone, not every year of the archive.
	years   map[int]*onceFile
	podcast *onceFile
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
	var prev *index
	if v := s.cur.Load(); v != nil {
		prev = v.idx
	}
	idx := indexAt(prev, sched, now)
	data, expires := build(idx, base, now, zoneList)
	data.CSRF = s.sentinel
	page, err := s.execute("index.html", data)
	if err != nil {
		return nil, fmt.Errorf("render page: %w", err)
	}
	v := &view{sched: sched, idx: idx, set: set, base: base, expires: expires,
		parts: bytes.Split(page, []byte(s.sentinel)),
		years: map[int]*onceFile{},
		podcast: &onceFile{ctype: podcast.ContentType, render: func() ([]byte, error) {
			return podcast.Render(sched, base), nil
		}},
		podcastURL: data.Podcast,
		series:     map[string]bool{}}
	v.gzipParts = deflateParts(v.parts)
	for _, y := range data.Years {
		v.years[y.Year] = &onceFile{ctype: "text/html; charset=utf-8", render: func() ([]byte, error) {
			page, err := s.execute("year.html", yearData(sched, data, y.Year, now))
			if err != nil {
				return nil, fmt.Errorf("render the page of %d: %w", y.Year, err)
			}
			return page, nil
		}}
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

// onceFile is a page of one view rendered and compressed on its first
// request, once: a view's schedule never changes, and a newer schedule
// gets a view, and pages, of its own.
type onceFile struct {
	ctype  string
	render func() ([]byte, error)
	once   sync.Once
	f      staticFile
	err    error
}

// serve answers with the page, rendering it first if no request has.
func (o *onceFile) serve(s *Server, w http.ResponseWriter, r *http.Request, cacheControl string) {
	o.once.Do(func() {
		body, err := o.render()
		if err != nil {
			o.err = err
			return
		}
		o.f = newStaticFile(body, o.ctype)
		o.render = nil
	})
	if o.err != nil {
		s.log.Error("render", "path", r.URL.Path, "err", o.err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	o.f.serve(w, r, cacheControl)
}
