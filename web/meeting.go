package web

import (
	"net/http"
	"time"

	"github.com/convene/convene/schedule"
)

// meetingPageData is what the permanent page of one meeting shows.
type meetingPageData struct {
	Name    string
	Zone    string
	Podcast string
	Meeting meeting
	Year    int // its year in the archive, 0 when it is not there
}

// seriesPageData is what the page of a series shows.
type seriesPageData struct {
	Name     string
	Zone     string
	Podcast  string
	Series   seriesData
	Upcoming []meeting
	More     bool
	Past     []meeting
}

// meetingPage serves /meetings/{id}: a session's page, or a series'.
func (s *Server) meetingPage(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	id := r.PathValue("id")
	for i := range v.sched.Sessions {
		if ss := v.sched.Sessions[i]; ss.ID == id {
			s.showMeeting(w, v, v.sched.Single(ss))
			return
		}
	}
	for i := range v.sched.Series {
		if sr := &v.sched.Series[i]; sr.ID == id {
			s.showSeries(w, v, sr)
			return
		}
	}
	s.notFound(w, v, "meeting "+id)
}

// occurrencePage serves /meetings/{series}/{original start}: the page of
// one occurrence of a series.
func (s *Server) occurrencePage(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	o, ok := occurrence(v.sched, r.PathValue("id"), r.PathValue("occurrence"))
	if on, one := occurrenceOn(v.sched, r.PathValue("id"), r.PathValue("occurrence")); !ok && one {
		http.Redirect(w, r, "/meetings/"+on.Key(), http.StatusMovedPermanently)
		return
	}
	if !ok {
		s.notFound(w, v, "meeting "+r.PathValue("id")+"/"+r.PathValue("occurrence"))
		return
	}
	s.showMeeting(w, v, o)
}

func (s *Server) showMeeting(w http.ResponseWriter, v *view, o schedule.Occurrence) {
	m := meetingOf(v.sched, seriesIndex(v.sched), o)
	m.Description = o.Description // one meeting: its series' text once
	cal := v.sched.Calendar
	s.render(w, http.StatusOK, "meeting.html", meetingPageData{Name: cal.Name, Zone: cal.Zone.String(),
		Podcast: v.podcastURL, Meeting: m, Year: yearOf(v.sched, o, s.cfg.Now())})
}

func (s *Server) showSeries(w http.ResponseWriter, v *view, sr *schedule.Series) {
	cal := v.sched.Calendar
	now := s.cfg.Now()
	bySeries := seriesIndex(v.sched)
	d := seriesPageData{Name: cal.Name, Zone: cal.Zone.String(), Podcast: v.podcastURL,
		Series: seriesData{ID: sr.ID, Title: sr.Title, Description: sr.Description,
			Links: linksFor(v.base, "/series/"+sr.ID+".ics", cal.Name+": "+sr.Title)}}
	// Only this series' meetings, so that its text is not in each card.
	one := *v.sched
	one.Sessions, one.Series = nil, []schedule.Series{*sr}
	next, more := upcoming(&one, now, maxUpcoming)
	d.More = more
	for _, o := range next {
		d.Upcoming = append(d.Upcoming, meetingOf(v.sched, bySeries, o))
	}
	past := one.Expand(time.Time{}, now)
	for i := len(past) - 1; i >= 0; i-- {
		if yearOf(v.sched, past[i], now) != 0 {
			d.Past = append(d.Past, pastMeeting(v.sched, bySeries, past[i]))
		}
	}
	s.render(w, http.StatusOK, "series.html", d)
}
