// Package schedule reads a group's events.toml and turns it into
// occurrences: meetings with exact instants.
//
// A start written as a TOML local date-time is wall-clock time in the
// session's IANA zone, and a series recurs in wall-clock time (RFC 5545
// section 3.3.10), so 8pm stays 8pm across daylight-saving changes. Local
// times that fall in a gap or an overlap are resolved as RFC 5545 section
// 3.3.5 says: see Resolve.
package schedule

import (
	"net/url"
	"time"
)

// Status is the STATUS of a meeting.
type Status string

const (
	Confirmed Status = "confirmed"
	Tentative Status = "tentative"
	Cancelled Status = "cancelled"
)

// A Schedule is a decoded and validated events.toml.
type Schedule struct {
	File      string // the path it was read from, for messages
	Calendar  Calendar
	Reminders Reminders
	Sessions  []*Session
	Series    []Series
	// Warnings are what some calendar apps show differently from what
	// the file means; they do not make the file invalid.
	Warnings []Problem

	// For Reparse: how the text was cut into tables (with the hashes of
	// its blocks, not the text), this schedule's number, and how it was
	// made from the one before.
	cut    *cutText
	gen    uint64
	splice *Splice
	edit   *textEdit
}

// Calendar holds the group-wide settings and defaults.
type Calendar struct {
	Name        string
	Description string
	Zone        *time.Location // default zone of every session
	URL         string         // public base URL of this service, may be empty
	Duration    time.Duration  // default length of a meeting
	Location    string         // default place or join link
	Organizer   Organizer
}

// Organizer is who runs the meetings.
type Organizer struct{ Name, Email string }

// Link is a titled URL shown with a meeting, such as a recording.
type Link struct{ Title, URL string }

// Recording is a published recording of a meeting, shown in the page's
// archive and enclosed in the podcast feed.
type Recording struct {
	URL      string // https
	Type     string // media type, audio/* or video/*, such as audio/mpeg
	Length   int64  // bytes
	Duration time.Duration
}

// Reminders holds the group-wide reminder settings.
type Reminders struct {
	Before     []time.Duration // one email per offset before the start
	From       string          // the sender, an RFC 5322 address
	Recipients []string        // static recipients, in the calendar zone
}

// Details are the fields that a session, a series, or a change to one
// occurrence of a series may set. Empty strings and zero values mean
// "inherit".
type Details struct {
	Title       string
	Location    string
	Description string
	Reading     string
	Facilitator string
	Links       []Link
	// Recordings of a session or of one occurrence of a series (set by
	// a change); a series itself has none.
	Recordings []Recording
	Status     Status
	// Reminders overrides Reminders.Before. nil inherits; an empty,
	// non-nil slice means no reminders.
	Reminders []time.Duration
}

// Time is a start or end as written in events.toml.
type Time struct {
	// Wall holds the wall-clock fields, stored in time.UTC, of a local
	// date-time meant in the session's zone. When Fixed is true it is
	// the exact instant instead (an offset date-time, in UTC).
	Wall  time.Time
	Fixed bool
}

// Session is a one-off meeting.
type Session struct {
	ID       string
	Zone     *time.Location
	Start    Time
	Duration time.Duration // End minus the start instant
	Details
	// at is the start's exact instant, in seconds since the zero Time,
	// found when the session was read from a file (0: it was not): 8
	// bytes where a time.Time takes 24, in each of thousands.
	at     int64
	origin *Session // see Origin
}

// End returns the exact end instant of ss, in its zone, as found when it
// was read from a file, and the zero Time for a session that was not.
func (ss *Session) End() time.Time {
	if ss.at == 0 {
		return time.Time{}
	}
	return time.Unix(ss.at+zeroUnix, 0).In(ss.Zone).Add(ss.Duration)
}

// zeroUnix is the zero Time in Unix seconds.
const zeroUnix = -62135596800

// Origin identifies the reading of ss: sessions with the same non-nil
// Origin are equal. Reparse gives a session whose text and calendar
// defaults did not change the Origin it had, so that what was built
// from it can be kept without comparing it field by field. nil for a
// session that was not read by Reparse.
func (ss *Session) Origin() *Session { return ss.origin }

// Series is a recurring meeting.
type Series struct {
	ID       string
	Zone     *time.Location
	Start    Time   // the first occurrence
	RRule    string // as written, without DTSTART
	Duration time.Duration
	Skip     []time.Time // original starts removed, as wall clock (or UTC if Start.Fixed)
	Changes  []Change
	Details
	rule rule
}

// Change alters one occurrence of a series.
type Change struct {
	Original time.Time // original start, as wall clock like Series.Skip
	Start    Time      // zero Wall: unchanged
	Duration time.Duration
	Details
}

// UID returns the iCalendar UID of a session or series id. It is stable as
// long as the id and the host of calendar.url are.
func (s *Schedule) UID(id string) string {
	host := "convene"
	if u, err := url.Parse(s.Calendar.URL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return id + "@" + host
}

// Offsets returns the reminder offsets that apply to d.
func (s *Schedule) Offsets(d Details) []time.Duration {
	if d.Reminders != nil {
		return d.Reminders
	}
	return s.Reminders.Before
}

// merge returns d with every field that o sets replaced.
func (d Details) merge(o Details) Details {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&d.Title, o.Title)
	set(&d.Location, o.Location)
	set(&d.Description, o.Description)
	set(&d.Reading, o.Reading)
	set(&d.Facilitator, o.Facilitator)
	if o.Links != nil {
		d.Links = o.Links
	}
	if o.Recordings != nil {
		d.Recordings = o.Recordings
	}
	if o.Status != "" {
		d.Status = o.Status
	}
	if o.Reminders != nil {
		d.Reminders = o.Reminders
	}
	return d
}

// JoinURL returns the location when it is a web link, such as a video
// call to join, and "" when it names a place.
func (d Details) JoinURL() string {
	u, err := url.Parse(d.Location)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return d.Location
}
