package feed

// One occurrence as a VEVENT: the component, serialized once and stamped
// with its version, and the renderer that makes it from the schedule.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/overlay"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// component is a VEVENT with the content that its fingerprint covers.
// There is one for each event of the schedule (10,000 at 10,000
// sessions), kept from one render to the next: its version is held as
// numbers, and what it was written from is not kept.
type component struct {
	key string // UID, plus RECURRENCE-ID for an override
	// The VEVENT as serialized, with its END line; once a Set holds it
	// and packed is set, the compressed group of events it is in
	// (packAll), at where it starts in the group's text.
	print string
	sum   [sha256.Size]byte // of print, uncompressed
	size  int32             // of print, uncompressed
	at    int32
	// the version stamped: its sequence, and below its times in Unix
	// seconds, as the state store keeps them (UTC)
	sequence int32
	packed   bool
	named    bool // it names its zone in a TZID
	gmt      bool // it writes times in gmt
	// The stamped VEVENT is print without its END line, then stamped:
	// the properties from the state store and END.
	stamped           string
	created, modified int64
	// origin is the Origin of the session it was made from; nil for a
	// series'
	origin *schedule.Session
	zone   *time.Location
	from   time.Time // earliest instant it names
	to     time.Time // latest instant it names
}

// version returns the version c was stamped with.
func (c *component) version() store.Version {
	return store.Version{Sequence: int(c.sequence), Created: time.Unix(c.created, 0).UTC(), Modified: time.Unix(c.modified, 0).UTC()}
}

// setVersion records v as the version c is stamped with.
func (c *component) setVersion(v store.Version) {
	c.sequence, c.created, c.modified = int32(v.Sequence), v.Created.Unix(), v.Modified.Unix()
}

// stamp sets stamped: the properties that come from the state store,
// which follow the VEVENT as serialized for its fingerprint (text), and
// END. Each event is serialized once, however many documents hold it.
func (c *component) stamp(v store.Version) {
	c.setVersion(v)
	var props ics.ComponentBase
	stamp(&props, ics.ComponentPropertyDtstamp, v.Modified)
	stamp(&props, ics.ComponentPropertyCreated, v.Created)
	stamp(&props, ics.ComponentPropertyLastModified, v.Modified)
	props.AddProperty(ics.ComponentPropertySequence, fmt.Sprint(v.Sequence))
	var b strings.Builder
	b.Grow(120)
	for _, p := range props.Properties {
		_ = p.SerializeTo(&b, serialConfig())
	}
	b.WriteString(eventEnd)
	c.stamped = b.String()
}

var eventEnd = "END:" + string(ics.ComponentVEvent) + crlf

type zoneKey struct {
	zone     string
	from, to int // years
}

// timezones caches VTIMEZONEs across renders: building one walks the
// zone's transitions and takes milliseconds, and Set.Event, called for
// every occurrence a page offers, would build them again each time. The
// components are only read once built, and there are few: one per zone
// and span of years.
var timezones sync.Map // zoneKey -> serialized VTIMEZONE

func cachedTimezone(k zoneKey, loc *time.Location) []byte {
	if tz, ok := timezones.Load(k); ok {
		return tz.([]byte)
	}
	tz := Timezone(loc, time.Date(k.from, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(k.to+1, 1, 1, 0, 0, 0, 0, time.UTC))
	var b bytes.Buffer
	_ = tz.SerializeTo(&b, serialConfig())
	timezones.Store(k, b.Bytes())
	return b.Bytes()
}

type renderer struct {
	s    *schedule.Schedule
	segs map[string][]segment // see segments
	prev *Set                 // the previous render, or nil
	// its documents, when their heads are the same
	prevDocs     map[string]builtDoc
	prevSessions *overlay.Map[string, *sessionFeed]
	uidSuffix    string // what UID adds to an id
	// head and tail of every document's calendar properties, either
	// side of its name (shared, see head)
	headStart, headEnd []byte
}

// odd reports whether o is an occurrence of a series that clients would
// place differently from its RRULE alone, so the feed states its instants
// in an override (RECURRENCE-ID): one whose start is in a gap or an
// overlap, or one that spans a change of UTC offset, whose end ical.js
// finds by adding the length to the wall clock (Time.addDuration).
func (r *renderer) odd(o schedule.Occurrence) bool {
	if !o.Series || r.seriesFixed(o.ID) {
		return false
	}
	_, from := o.Start.In(o.Zone).Zone()
	_, to := o.End.In(o.Zone).Zone()
	return o.Fit != schedule.Exact || from != to
}

func (r *renderer) key(o schedule.Occurrence) string {
	uid := r.uid(o)
	if o.Series && (o.Changed || r.odd(o)) {
		return uid + "|" + o.Original.Format(localFormat)
	}
	return uid
}

// event builds the VEVENT of o. For a segment of a series (see
// segments), o is its first occurrence and seg the segment.
func (r *renderer) event(o schedule.Occurrence, seg *segment) *component {
	key := r.key(o)
	var sr *schedule.Series
	if seg != nil {
		key = seg.uid
		sr = r.series(o.ID)
	}
	ev := ics.NewEvent(r.uid(o))
	c := &ev.ComponentBase
	c.Properties = slices.Grow(c.Properties, 15) // as many as a session's event has
	fixed := sr != nil && sr.Start.Fixed
	if sr != nil {
		r.originalTime(c, ics.ComponentPropertyDtStart, sr, o.Original)
		switch {
		case fixed:
			dateTime(c, ics.ComponentPropertyDtEnd, o.End, o.Zone, true)
		case o.Fit == schedule.Exact && unambiguous(o.End, o.Zone):
			wallTime(c, ics.ComponentPropertyDtEnd, schedule.Wall(o.End, o.Zone), o.Zone, false)
		default:
			// DTSTART or DTEND would name a wall clock in a gap or an
			// overlap, which clients read differently, and their
			// difference is the length of every occurrence: state it.
			property(c, ics.ComponentPropertyDuration, duration(o.End.Sub(o.Start)))
		}
		property(c, ics.ComponentPropertyRrule, seg.rule)
		skipped := map[time.Time]bool{}
		for _, w := range sr.Skip {
			skipped[w] = true
			if r.segmentOf(sr, w).uid == seg.uid && !seg.rdate[w] { // a skipped RDATE is left out
				r.originalTime(c, ics.ComponentPropertyExdate, sr, w)
			}
		}
		for _, w := range seg.rdates {
			if !skipped[w] {
				r.originalTime(c, ics.ComponentPropertyRdate, sr, w)
			}
		}
	} else {
		dateTime(c, ics.ComponentPropertyDtStart, o.Start, o.Zone, false)
		dateTime(c, ics.ComponentPropertyDtEnd, o.End, o.Zone, false)
		if o.Series {
			r.originalTime(c, ics.ComponentPropertyRecurrenceId, r.series(o.ID), o.Original)
		}
	}
	property(c, ics.ComponentPropertySummary, text(o.Title))
	join := o.JoinURL() != ""
	if d := describe(o, join); d != "" {
		property(c, ics.ComponentPropertyDescription, text(d))
	}
	if o.Location != "" {
		property(c, ics.ComponentPropertyLocation, text(o.Location))
		if join {
			property(c, ics.ComponentProperty("CONFERENCE"), uri(o.Location),
				param{"VALUE", "URI"}, param{"FEATURE", "VIDEO"}, param{"LABEL", "Join: " + o.Location})
		}
	}
	if r.s.Calendar.URL != "" {
		page := o.Key() // the meeting's own page; a series' for its master
		if sr != nil {
			page = o.ID
		}
		property(c, ics.ComponentPropertyUrl, clean(r.s.Calendar.URL+schedule.MeetingPath(page)))
	}
	if org := r.s.Calendar.Organizer; org.Email != "" {
		if org.Name != "" {
			property(c, ics.ComponentPropertyOrganizer, uri("mailto:"+org.Email), param{"CN", org.Name})
		} else {
			property(c, ics.ComponentPropertyOrganizer, clean("mailto:"+org.Email))
		}
	}
	property(c, ics.ComponentPropertyStatus, strings.ToUpper(string(o.Status)))

	// golang-ical writes each property in a few small writes: into a
	// buffer kept from event to event, then copied once, at its size.
	b := eventBuffers.Get().(*bytes.Buffer)
	b.Reset()
	_ = ev.SerializeTo(b, serialConfig())
	print := string(b.Bytes())
	eventBuffers.Put(b)
	from, to := o.Start, o.End
	if sr != nil {
		from, to = o.Start, horizon
	}
	return &component{key: key, print: print, size: int32(len(print)), sum: sha256.Sum256(unsafe.Slice(unsafe.StringData(print), len(print))),
		zone: o.Zone, from: from, to: to, gmt: strings.Contains(print, "TZID="+gmt.String()+":"),
		named: o.Zone != time.UTC && strings.Contains(print, "TZID="+tzid(o.Zone)+":")}
}

var eventBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *renderer) seriesFixed(id string) bool {
	sr := r.series(id)
	return sr != nil && sr.Start.Fixed
}

// series returns the series called id, or nil.
func (r *renderer) series(id string) *schedule.Series {
	for i := range r.s.Series {
		if r.s.Series[i].ID == id {
			return &r.s.Series[i]
		}
	}
	return nil
}

// description is the DESCRIPTION text: reading, facilitator, join link,
// the free text, and the links.
func (r *renderer) description(o schedule.Occurrence) string {
	return describe(o, o.JoinURL() != "")
}

// describe is description, told whether o's location is a link to join
// by (which event has found already).
func describe(o schedule.Occurrence, join bool) string {
	var b strings.Builder
	size := 48 + len(o.Reading) + len(o.Facilitator) + len(o.Location) + len(o.Description)
	for _, l := range o.Links {
		size += len(l.Title) + len(l.URL) + 3
	}
	b.Grow(size)
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	if o.Status == schedule.Cancelled {
		line("CANCELLED")
	}
	if o.Reading != "" {
		line("Reading: ", o.Reading)
	}
	if o.Facilitator != "" {
		line("Facilitator: ", o.Facilitator)
	}
	if join {
		line("Join: ", o.Location)
	}
	if o.Description != "" {
		if b.Len() > 0 {
			line()
		}
		line(o.Description)
	}
	if len(o.Links) > 0 {
		line()
		for _, l := range o.Links {
			line(l.Title, ": ", l.URL)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
