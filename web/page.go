package web

import (
	"fmt"
	"html/template"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/podcast"
	"github.com/convene/convene/schedule"
)

// How much of the schedule the landing page shows.
const (
	maxUpcoming = 12
	maxArchive  = 5 // past meetings on the landing page; /past/{year} has the rest
	maxRecorded = 3 // recorded meetings on the landing page
	ahead       = 366 * 24 * time.Hour
	// lookAhead bounds how far the page looks for the next meetings
	// when the first year has few.
	lookAhead = 200 * 366 * 24 * time.Hour
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
	More        bool      // more upcoming meetings than shown
	Archive     []meeting // the latest past meetings
	Recorded    []meeting // the latest past meetings with a recording
	Years       []yearLink
	Podcast     string // URL of the podcast feed, when a meeting has a recording
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
	ID, Title   string
	Description string
	Page        string
	Links       subscribeLinks
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
	Page        string // its permanent page
	Title       string
	Series      string // the title of its series
	SeriesTitle string // the same, for an occurrence of a series whose title it changed
	SeriesPage  string
	Past        bool   // in the archive: no join link, no .ics
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
	// Description is the meeting's own: a series' description is shown
	// once, with the series, never in each of its occurrences.
	Description string
	Links       []schedule.Link
	Recordings  []recording
	ICS         string // path of this meeting's own .ics
}

// recording is one file of a meeting's recording as the page offers it.
type recording struct {
	URL   string
	Audio bool   // played on the page; a video is linked
	Label string // "MP3, 48 MB, 1 h 12 min"
}

// yearLink is one year of the archive.
type yearLink struct {
	Year    int
	Count   int
	Current bool
}

// build computes the landing page of idx's schedule at time now. It
// returns the time after which the page is out of date. The sessions it
// reads are idx's (the upcoming, the latest ended, the recorded), not
// every session of the schedule.
func build(idx *index, base string, now time.Time, zones []string) (pageData, time.Time) {
	s := idx.sched
	cal := s.Calendar
	p := pageData{
		Name:        cal.Name,
		Description: cal.Description,
		Zone:        cal.Zone.String(),
		All:         linksFor(base, "/calendar.ics", cal.Name),
		Zones:       zones,
		Form:        signupForm{Zone: cal.Zone.String()},
	}
	seriesByID := seriesIndex(s)
	for i := range s.Series {
		sr := &s.Series[i]
		p.Series = append(p.Series, seriesData{ID: sr.ID, Title: sr.Title, Description: sr.Description,
			Page:  schedule.MeetingPath(sr.ID),
			Links: linksFor(base, "/series/"+sr.ID+".ics", cal.Name+": "+sr.Title)})
	}
	expires := now.Add(rebuildEvery)
	next, more := upcoming(idx.sub(idx.ahead), now, maxUpcoming)
	p.More = more
	for _, o := range next {
		p.Upcoming = append(p.Upcoming, meetingOf(s, seriesByID, o))
		if o.End.Before(expires) {
			expires = o.End
		}
	}
	var latest []schedule.Occurrence
	p.Years, latest = pastYears(idx.sub(idx.latest, idx.ahead), now, maxArchive)
	p.Years = addYears(p.Years, idx.years)
	for _, o := range latest {
		p.Archive = append(p.Archive, pastMeeting(s, seriesByID, o))
	}
	for _, o := range podcast.Recorded(idx.sub(idx.recorded)) {
		p.Podcast = base + podcast.Path
		if yearOf(s, o, now) != 0 && len(p.Recorded) < maxRecorded {
			p.Recorded = append(p.Recorded, pastMeeting(s, seriesByID, o))
		}
	}
	return p, expires
}

func seriesIndex(s *schedule.Schedule) map[string]*schedule.Series {
	m := map[string]*schedule.Series{}
	for i := range s.Series {
		m[s.Series[i].ID] = &s.Series[i]
	}
	return m
}

// upcoming returns the next n meetings that have not ended at now,
// however far ahead they are, and whether more follow.
func upcoming(s *schedule.Schedule, now time.Time, n int) ([]schedule.Occurrence, bool) {
	var next []schedule.Occurrence
	for span := ahead; ; span *= 4 {
		next = s.Expand(now, now.Add(span))
		if len(next) > n || span >= lookAhead {
			break
		}
	}
	if len(next) > n {
		return next[:n], true
	}
	return next, false
}

// pastYears returns the years of the archive, newest first, with how
// many meetings each holds, and the latest n meetings of the archive,
// newest first. It reads each session's instants as kept, without
// listing every past meeting: the landing page shows only these.
func pastYears(s *schedule.Schedule, now time.Time, n int) ([]yearLink, []schedule.Occurrence) {
	count := map[int]int{}
	var latest []schedule.Occurrence
	// keep counts a meeting of year y that starts at start and is
	// called key, and says whether it is among the latest n so far.
	keep := func(y int, start time.Time, key string) bool {
		count[y]++
		last := len(latest) - 1
		return last < n-1 || start.After(latest[last].Start) || start.Equal(latest[last].Start) && key > latest[last].Key()
	}
	add := func(o schedule.Occurrence) {
		i := len(latest)
		for i > 0 && newer(o, latest[i-1]) {
			i--
		}
		latest = slices.Insert(latest, i, o)[:min(len(latest)+1, n)]
	}
	zone := s.Calendar.Zone
	// From the last: a file lists its sessions oldest first, and then
	// the latest are found at once and none after them is built.
	for i := len(s.Sessions) - 1; i >= 0; i-- {
		ss := s.Sessions[i]
		end := ss.End()
		if end.IsZero() { // not read from a file
			if o := s.Single(ss); yearOf(s, o, now) != 0 && keep(yearOf(s, o, now), o.Start, o.Key()) {
				add(o)
			}
			continue
		}
		if end.After(now) || ss.Status == schedule.Cancelled {
			continue // yearOf, from what the session keeps
		}
		start := end.Add(-ss.Duration)
		if keep(start.In(zone).Year(), start, ss.ID) {
			add(s.Single(ss))
		}
	}
	for _, o := range s.ExpandSeries(time.Time{}, now) {
		if y := yearOf(s, o, now); y != 0 && keep(y, o.Start, o.Key()) {
			add(o)
		}
	}
	var years []yearLink
	for y, c := range count {
		years = append(years, yearLink{Year: y, Count: c})
	}
	slices.SortFunc(years, func(a, b yearLink) int { return b.Year - a.Year })
	return years, latest
}

// addYears returns years with the meetings counted in more added, newest
// year first.
func addYears(years []yearLink, more map[int]int) []yearLink {
	count := map[int]int{}
	for _, y := range years {
		count[y.Year] += y.Count
	}
	for y, c := range more {
		count[y] += c
	}
	years = years[:0]
	for y, c := range count {
		if c > 0 {
			years = append(years, yearLink{Year: y, Count: c})
		}
	}
	slices.SortFunc(years, func(a, b yearLink) int { return b.Year - a.Year })
	return years
}

// newer reports whether a comes before b in the archive, which lists
// the latest first: the reverse of Expand's order.
func newer(a, b schedule.Occurrence) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.After(b.Start)
	}
	return a.Key() > b.Key()
}

// pastIn returns the meetings of the archive in year y, newest first.
func pastIn(s *schedule.Schedule, y int, now time.Time) []schedule.Occurrence {
	zone := s.Calendar.Zone
	all := s.Expand(time.Date(y, 1, 1, 0, 0, 0, 0, zone), time.Date(y+1, 1, 1, 0, 0, 0, 0, zone))
	var out []schedule.Occurrence
	for i := len(all) - 1; i >= 0; i-- {
		if yearOf(s, all[i], now) == y {
			out = append(out, all[i])
		}
	}
	return out
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
		Recordings:  recordingsOf(o.Recordings),
		Page:        schedule.MeetingPath(o.Key()),
		ICS:         "/sessions/" + o.ID + ".ics",
	}
	if m.Join = o.JoinURL(); m.Join == "" {
		m.Place = o.Location
	}
	if o.Series {
		m.ICS = "/series/" + o.Key() + ".ics"
		sr := seriesByID[o.ID]
		if sr != nil {
			m.Series, m.SeriesPage = sr.Title, schedule.MeetingPath(sr.ID)
			if sr.Title != o.Title {
				m.SeriesTitle = sr.Title
			}
			if sr.Description == o.Description {
				m.Description = ""
			}
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

// pastMeeting is meetingOf for the archive.
func pastMeeting(s *schedule.Schedule, seriesByID map[string]*schedule.Series, o schedule.Occurrence) meeting {
	m := meetingOf(s, seriesByID, o)
	m.Past = true
	return m
}

func recordingsOf(rs []schedule.Recording) []recording {
	var out []recording
	for _, r := range rs {
		label := format(r.Type) + ", " + size(r.Length)
		if r.Duration > 0 {
			label += ", " + length(r.Duration)
		}
		out = append(out, recording{URL: r.URL, Audio: strings.HasPrefix(r.Type, "audio/"), Label: label})
	}
	return out
}

// format names a media type as people know it: MP3, MP4.
func format(mediaType string) string {
	mt, _, _ := mime.ParseMediaType(mediaType)
	if name, ok := formats[mt]; ok {
		return name
	}
	_, sub, _ := strings.Cut(mt, "/")
	return strings.ToUpper(strings.TrimPrefix(sub, "x-"))
}

var formats = map[string]string{
	"audio/mpeg": "MP3", "audio/mp4": "M4A", "audio/x-m4a": "M4A", "audio/aac": "AAC",
	"audio/ogg": "Ogg", "audio/opus": "Opus", "audio/flac": "FLAC", "audio/wav": "WAV",
	"audio/webm": "WebM audio", "video/mp4": "MP4 video", "video/webm": "WebM video", "video/ogg": "Ogg video",
}

// size writes a file size in decimal units, as download dialogs do.
func size(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1e6:
		return fmt.Sprintf("%d kB", n/1000)
	case n < 1e9:
		return fmt.Sprintf("%d MB", (n+5e5)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// length writes how long a recording plays: "1 h 12 min", "45 min".
func length(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", max(m, 1))
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
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
	sr := seriesByID(s, id)
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

// occurrenceOn finds the one occurrence of series id whose original
// start is on date, written as events.toml names occurrences
// (2023-07-30); ok is false when there is none, or several that day.
func occurrenceOn(s *schedule.Schedule, id, date string) (o schedule.Occurrence, ok bool) {
	sr := seriesByID(s, id)
	day, err := time.Parse("2006-01-02", date)
	if sr == nil || err != nil {
		return o, false
	}
	prefix := id + "/" + day.Format("20060102") + "T"
	found := map[string]schedule.Occurrence{}
	for _, c := range append(s.Changed(sr), s.Expand(day.Add(-48*time.Hour), day.Add(72*time.Hour))...) {
		if strings.HasPrefix(c.Key(), prefix) {
			found[c.Key()] = c
		}
	}
	if len(found) != 1 {
		return o, false
	}
	for _, c := range found {
		o = c
	}
	return o, true
}

func seriesByID(s *schedule.Schedule, id string) *schedule.Series {
	for i := range s.Series {
		if s.Series[i].ID == id {
			return &s.Series[i]
		}
	}
	return nil
}

// feedSet is what the page needs of feed.Set.
type feedSet interface {
	Event(schedule.Occurrence) []byte
}

var _ feedSet = (*feed.Set)(nil)
