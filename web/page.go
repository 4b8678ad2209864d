package web

import (
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
)

// How much of the schedule the landing page shows.
const (
	maxUpcoming = 12
	maxPast     = 30
	ahead       = 366 * 24 * time.Hour
	// rebuildEvery bounds how long one rendering of the page is used,
	// so that the window of upcoming meetings moves on even when no
	// meeting ends.
	rebuildEvery = 6 * time.Hour
)

// pageData is what the landing page shows.
type pageData struct {
	Name        string
	Description string
	Zone        string // the calendar's IANA zone
	All         subscribeLinks
	Series      []seriesData
	Upcoming    []meeting
	More        bool // more upcoming meetings than shown
	Past        []meeting
	Zones       []string
	CSRF        string
	Form        signupForm
}

// signupForm is the sign-up form's state, prefilled with the calendar
// zone (the page's script replaces it with the visitor's).
type signupForm struct {
	Email  string
	Zone   string
	Series map[string]bool
	Error  string
}

type seriesData struct {
	ID, Title string
	Links     subscribeLinks
}

// subscribeLinks are the ways to subscribe to one feed.
type subscribeLinks struct {
	HTTPS   string
	Webcal  template.URL // html/template would refuse the webcal scheme
	Google  string
	Outlook string
}

func linksFor(base, path, name string) subscribeLinks {
	https := base + path
	webcal := feed.Webcal(https)
	return subscribeLinks{
		HTTPS:   https,
		Webcal:  template.URL(webcal),
		Google:  "https://calendar.google.com/calendar/r?cid=" + url.QueryEscape(webcal),
		Outlook: "https://outlook.live.com/calendar/0/addfromweb?url=" + url.QueryEscape(https) + "&name=" + url.QueryEscape(name),
	}
}

// meeting is one occurrence as the page shows it.
type meeting struct {
	Key         string
	Anchor      string
	Title       string
	SeriesTitle string // for an occurrence of a series whose title it changed
	When        string // in the calendar zone
	StartISO    string
	EndISO      string
	Cancelled   bool
	Tentative   bool
	Moved       string // the original time, when a change moved it
	Reading     string
	Facilitator string
	Join        string // the location when it is a link
	Place       string // the location otherwise
	Description string
	Links       []schedule.Link
	ICS         string // path of this meeting's own .ics
}

// build computes the page at time now. It returns the occurrences that
// the page links a .ics to, by key, and the time after which the page is
// out of date.
func build(s *schedule.Schedule, base string, now time.Time, zones []string) (pageData, map[string]schedule.Occurrence, time.Time) {
	cal := s.Calendar
	p := pageData{
		Name:        cal.Name,
		Description: cal.Description,
		Zone:        cal.Zone.String(),
		All:         linksFor(base, "/calendar.ics", cal.Name),
		Zones:       zones,
		Form:        signupForm{Zone: cal.Zone.String()},
	}
	seriesByID := map[string]*schedule.Series{}
	for i := range s.Series {
		sr := &s.Series[i]
		seriesByID[sr.ID] = sr
		p.Series = append(p.Series, seriesData{ID: sr.ID, Title: sr.Title,
			Links: linksFor(base, "/series/"+sr.ID+".ics", cal.Name+": "+sr.Title)})
	}
	occs := map[string]schedule.Occurrence{}
	expires := now.Add(rebuildEvery)
	upcoming := s.Expand(now, now.Add(ahead))
	if len(upcoming) > maxUpcoming {
		upcoming, p.More = upcoming[:maxUpcoming], true
	}
	for _, o := range upcoming {
		p.Upcoming = append(p.Upcoming, meetingOf(s, seriesByID, o))
		occs[o.Key()] = o
		if o.End.Before(expires) {
			expires = o.End
		}
	}
	past := s.Expand(time.Time{}, now)
	for i := len(past) - 1; i >= 0 && len(p.Past) < maxPast; i-- {
		if o := past[i]; !o.End.After(now) {
			p.Past = append(p.Past, meetingOf(s, seriesByID, o))
			occs[o.Key()] = o
		}
	}
	return p, occs, expires
}

func meetingOf(s *schedule.Schedule, seriesByID map[string]*schedule.Series, o schedule.Occurrence) meeting {
	zone := s.Calendar.Zone
	m := meeting{
		Key:         o.Key(),
		Anchor:      strings.ReplaceAll(o.Key(), "/", "-"),
		Title:       o.Title,
		When:        span(o.Start.In(zone), o.End.In(zone)),
		StartISO:    o.Start.UTC().Format(time.RFC3339),
		EndISO:      o.End.UTC().Format(time.RFC3339),
		Cancelled:   o.Status == schedule.Cancelled,
		Tentative:   o.Status == schedule.Tentative,
		Reading:     o.Reading,
		Facilitator: o.Facilitator,
		Description: o.Description,
		Links:       o.Links,
		ICS:         "/sessions/" + o.ID + ".ics",
	}
	if m.Join = o.JoinURL(); m.Join == "" {
		m.Place = o.Location
	}
	if o.Series {
		m.ICS = "/series/" + o.Key() + ".ics"
		sr := seriesByID[o.ID]
		if sr != nil && sr.Title != o.Title {
			m.SeriesTitle = sr.Title
		}
		if o.Changed && sr != nil {
			wallZone := sr.Zone
			if sr.Start.Fixed {
				wallZone = time.UTC
			}
			if orig, _ := schedule.Resolve(o.Original, wallZone); !orig.Equal(o.Start) {
				m.Moved = orig.In(zone).Format("Monday 2 January, 15:04 MST")
			}
		}
	}
	return m
}

// span formats a meeting's time in one zone: "Sunday 30 July 2023,
// 20:00–21:30 EDT", with the end's date when it is another day.
func span(start, end time.Time) string {
	s := start.Format("Monday 2 January 2006, 15:04")
	y1, m1, d1 := start.Date()
	y2, m2, d2 := end.Date()
	if y1 == y2 && m1 == m2 && d1 == d2 {
		return s + "–" + end.Format("15:04 MST")
	}
	return s + " " + start.Format("MST") + " – " + end.Format("Monday 2 January, 15:04 MST")
}

// occurrence finds the occurrence of series id whose original start, as
// in Occurrence.Key, is when.
func occurrence(s *schedule.Schedule, id, when string) (schedule.Occurrence, bool) {
	var sr *schedule.Series
	for i := range s.Series {
		if s.Series[i].ID == id {
			sr = &s.Series[i]
		}
	}
	if sr == nil {
		return schedule.Occurrence{}, false
	}
	orig, err := time.Parse("20060102T150405", when)
	if err != nil {
		return schedule.Occurrence{}, false
	}
	key := id + "/" + when
	for _, o := range s.Changed(sr) {
		if o.Key() == key {
			return o, true
		}
	}
	// An unchanged occurrence starts near its original wall time in any
	// zone: within a day of it read as UTC.
	for _, o := range s.Expand(orig.Add(-48*time.Hour), orig.Add(48*time.Hour)) {
		if o.Key() == key {
			return o, true
		}
	}
	return schedule.Occurrence{}, false
}

// feedSet is what the page needs of feed.Set.
type feedSet interface {
	Event(schedule.Occurrence) []byte
}

var _ feedSet = (*feed.Set)(nil)
