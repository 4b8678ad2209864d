package web

import (
	"net/http"

	"github.com/convene/convene/podcast"
)

// Register adds the routes of the page to mux. The feeds themselves
// (/calendar.ics, /series/{id}.ics, /sessions/{id}.ics) are served by
// feed.Handler; the podcast feed of the recordings is served here.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.wrap(s.landing))
	mux.Handle("GET /static/{file}", s.wrap(s.staticFile))
	mux.Handle("GET /favicon.ico", s.wrap(s.favicon))
	mux.Handle("GET /series/{id}/{file}", s.wrap(s.occurrenceICS))
	mux.Handle("GET /past/{year}", s.wrap(s.yearPage))
	mux.Handle("GET /past", http.RedirectHandler("/#past", http.StatusSeeOther))
	mux.Handle("GET /past/{$}", http.RedirectHandler("/#past", http.StatusSeeOther))
	mux.Handle("GET /meetings/{id}", s.wrap(s.meetingPage))
	mux.Handle("GET /meetings/{id}/{occurrence}", s.wrap(s.occurrencePage))
	mux.Handle("GET "+podcast.Path, s.wrap(s.podcast))
	mux.Handle("POST /subscribe", s.wrap(s.subscribe))
	mux.Handle("GET /subscribe", http.RedirectHandler("/#signup", http.StatusSeeOther))
	mux.Handle("GET /subscribe/sent", s.wrap(s.subscribeSent))
	mux.Handle("GET /confirm/{token}", s.wrap(s.confirmPage))
	mux.Handle("POST /confirm/{token}", s.wrap(s.confirm))
	mux.Handle("GET /unsubscribe/{token}", s.wrap(s.unsubscribePage))
	mux.Handle("POST /unsubscribe/{token}", s.wrap(s.unsubscribe))
	mux.Handle("POST /zone/{token}", s.wrap(s.changeZone))
	// Any other address (a mistyped link, /meetings alone) gets the
	// page's own "Not found", not the bare text of ServeMux.
	mux.Handle("GET /", s.wrap(s.noPage))
}

// csp allows only this site's script and style: session text that
// slipped past escaping still could not run.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src https:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		// Token URLs must not leak to the sites that pages link to.
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if s.cur.Load() == nil {
			// The daemon opens its port while the schedule loads.
			hd.Set("Retry-After", "1")
			http.Error(w, "the schedule is loading", http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	})
}
