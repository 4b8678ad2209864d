package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/convene/convene/schedule"
)

// yearPageData is what /past/{year} shows: the meetings of one year,
// newest first, under a heading for each month.
type yearPageData struct {
	Name    string
	Zone    string
	Year    int
	Years   []yearLink
	Months  []month
	Podcast string
}

type month struct {
	Name     string
	Meetings []meeting
}

func yearData(s *schedule.Schedule, landing pageData, y int, now time.Time) yearPageData {
	d := yearPageData{Name: landing.Name, Zone: landing.Zone, Year: y, Podcast: landing.Podcast}
	for _, other := range landing.Years {
		d.Years = append(d.Years, yearLink{Year: other.Year, Count: other.Count, Current: other.Year == y})
	}
	bySeries := seriesIndex(s)
	for _, o := range pastIn(s, y, now) {
		name := o.Start.In(s.Calendar.Zone).Month().String()
		if len(d.Months) == 0 || d.Months[len(d.Months)-1].Name != name {
			d.Months = append(d.Months, month{Name: name})
		}
		m := &d.Months[len(d.Months)-1]
		m.Meetings = append(m.Meetings, pastMeeting(s, bySeries, o))
	}
	return d
}

// yearPage serves /past/{year}, rendered and compressed on its first
// request for the landing page it belongs to.
func (s *Server) yearPage(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	y, err := strconv.Atoi(r.PathValue("year"))
	page, ok := v.years[y]
	if err != nil || !ok {
		s.notFound(w, v, "meeting in "+strconv.Quote(r.PathValue("year")))
		return
	}
	page.serve(s, w, r, "no-cache")
}

// yearOf returns the year of the archive that o is in, or 0 when it is
// not there (to come, under way, or cancelled).
func yearOf(s *schedule.Schedule, o schedule.Occurrence, now time.Time) int {
	if o.End.After(now) || o.Status == schedule.Cancelled {
		return 0
	}
	return o.Start.In(s.Calendar.Zone).Year()
}
