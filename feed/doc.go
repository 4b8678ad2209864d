package feed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"time"
	"unsafe"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/schedule"
)

// Doc is one rendered calendar file. Its bytes are not copied into it:
// it writes them from its layout, whose parts other documents share: the
// calendar properties every document has, the VTIMEZONEs, and each
// event's text, which the full feed and the event's own feed both hold.
// A Doc is never modified once built.
type Doc struct {
	layout   *doc   // nil for a document held as body
	body     []byte // read only
	size     int
	ETag     string    // strong validator, quoted
	Modified time.Time // for Last-Modified; never moves backwards
}

// Len returns the length of the document in bytes.
func (d Doc) Len() int { return d.size }

// parts yields the bytes of the document, in order.
func (d Doc) parts(yield func([]byte) bool) {
	if d.layout == nil {
		yield(d.body)
		return
	}
	d.layout.parts(yield)
}

// WriteTo writes the document to w, part by part.
func (d Doc) WriteTo(w io.Writer) (int64, error) {
	var n int64
	var err error
	for p := range d.parts {
		var m int
		m, err = w.Write(p)
		if n += int64(m); err != nil {
			break
		}
	}
	return n, err
}

// Bytes returns the document's bytes in a new slice.
func (d Doc) Bytes() []byte {
	out := make([]byte, 0, d.size)
	for p := range d.parts {
		out = append(out, p...)
	}
	return out
}

// doc is a VCALENDAR laid out: golang-ical has written its properties,
// and the VTIMEZONEs and VEVENTs, serialized by it once each, are put in
// place by reference.
type doc struct {
	head    [3][]byte // BEGIN:VCALENDAR and its properties: shared, the name's, shared
	tzs     [][]byte  // a VTIMEZONE for each zone the events name
	cs      []*component
	chunks  []*chunk // cs, summed up (chunk.go)
	printed string   // print, once found
}

var calendarEnd = []byte("END:VCALENDAR" + crlf)

// print fingerprints what the document holds besides the versions of its
// events.
func (d *doc) print() string {
	if d.printed != "" {
		return d.printed
	}
	d.chunk()
	h := sha256.New()
	for _, p := range d.head {
		h.Write(p)
	}
	for _, tz := range d.tzs {
		h.Write(tz)
	}
	for _, ch := range d.chunks {
		h.Write(ch.sums[:])
	}
	d.printed = hex.EncodeToString(h.Sum(nil))
	return d.printed
}

// doc returns the Doc of the document, from its stamped events.
func (d *doc) doc(modified time.Time) Doc {
	out := Doc{ETag: d.etag(), Modified: modified}
	d.assemble(&out)
	return out
}

// assemble makes out write the document, from its stamped events: their
// bytes, like those of its head and VTIMEZONEs, are referred to, not
// copied. The events of a document are stamped once and never again.
func (d *doc) assemble(out *Doc) {
	d.stampChunks()
	out.layout, out.size = d, len(calendarEnd)
	for _, p := range d.head {
		out.size += len(p)
	}
	for _, tz := range d.tzs {
		out.size += len(tz)
	}
	for _, ch := range d.chunks {
		out.size += ch.size
	}
	// The fingerprint is needed again only if the document is laid out
	// again.
	d.printed = ""
}

// parts yields the bytes of the document, in order: each event's text
// in a buffer reused for the next (see unpacker).
func (d *doc) parts(yield func([]byte) bool) {
	for _, p := range d.head {
		if !yield(p) {
			return
		}
	}
	for _, tz := range d.tzs {
		if !yield(tz) {
			return
		}
	}
	u := unpackers.Get().(*unpacker)
	defer unpackers.Put(u)
	for _, c := range d.cs {
		if !yield(u.text(c)) || !yield(unsafe.Slice(unsafe.StringData(c.stamped), len(c.stamped))) {
			return
		}
	}
	yield(calendarEnd)
}

// sessionFeed is what a Set keeps of a session's own feed, which is
// written on request: its event, its title (which, after the calendar's
// name, names the feed in its NAME and X-WR-CALNAME lines), its
// VTIMEZONEs and its validators, found when it was laid out. The rest
// of its head is the Set's. None of it is a copy: the title is the
// session's, the event's bytes are the full feed's, the VTIMEZONEs the
// renderer's cache; its name's lines are written on request (kept, they
// were 1.3 MB at 10,000 sessions). The validators are kept as numbers
// and written out on request: 80 bytes for each of thousands, where
// strings and a time.Time took 160.
type sessionFeed struct {
	c        *component
	title    string
	tzs      [][]byte
	etag     [16]byte // as etagSum gives it
	modified int64    // Unix seconds, as the versions are kept
}

// newSessionFeed keeps what the document d of one session, called
// title, whose event is stamped, is written from.
func newSessionFeed(d *doc, title string, modified time.Time) *sessionFeed {
	return &sessionFeed{c: d.cs[0], title: title, tzs: d.tzs, etag: d.etagSum(), modified: modified.Unix()}
}

// sessionFeedName is the name of the feed of a session called title.
func sessionFeedName(s *schedule.Schedule, title string) string {
	return s.Calendar.Name + ": " + title
}

// session returns the feed of session id, laid out again from what set
// holds: the bytes, ETag and Last-Modified that Update found for it.
func (set *Set) session(id string) (Doc, bool) {
	f, _ := set.sessions.Get(id)
	if f == nil {
		return Doc{}, false
	}
	// A feed kept from an earlier Set was laid out with the same
	// calendar name (sameHead).
	name := nameLines(sessionFeedName(set.sched, f.title))
	d := &doc{head: [3][]byte{set.head[0], name, set.head[1]}, tzs: f.tzs, cs: []*component{f.c}}
	out := Doc{ETag: quoteETag(f.etag), Modified: time.Unix(f.modified, 0).UTC()}
	d.assemble(&out)
	return out, true
}

// layout lays out a VCALENDAR holding cs, with one VTIMEZONE for each
// zone they use, before the first VEVENT.
func (r *renderer) layout(name string, cs []*component) *doc {
	d := &doc{head: r.head(name), cs: cs, chunks: chunkAll(cs)}
	d.lay()
	return d
}

// relayout is layout for cs, the events of prev with prev.cs[from:to]
// replaced by cs[from:from+n], and those from prevTail and tail on made
// anew: the chunks of prev outside are kept, so that it costs what
// changed, not what the document holds.
func (r *renderer) relayout(prev *doc, name string, cs []*component, from, to, n, prevTail, tail int) *doc {
	d := &doc{head: r.head(name), cs: cs, chunks: rechunk(prev.chunks, prev.cs, cs, from, to, n, prevTail, tail)}
	d.lay()
	return d
}

// namePlaceholder stands for a document's name while the calendar
// properties every document shares are serialized once.
const namePlaceholder = "CONVENE-DOCUMENT-NAME"

// head returns BEGIN:VCALENDAR and the calendar properties of a document
// called name, in three parts. What every document shares is serialized
// once per render and held once; only the name's two properties are
// written for each document.
func (r *renderer) head(name string) [3][]byte {
	if r.headStart == nil {
		cal := ics.NewCalendarFor("convene")
		cal.CalendarProperties = cal.CalendarProperties[:0]
		cal.SetVersion("2.0")
		cal.SetProductId("-//convene//convene//EN")
		cal.SetCalscale("GREGORIAN")
		cal.SetMethod(ics.MethodPublish)
		cal.SetName(namePlaceholder)
		cal.SetXWRCalName(namePlaceholder)
		if d := r.s.Calendar.Description; d != "" {
			cal.SetDescription(text(d))
			cal.SetXWRCalDesc(text(d))
		}
		cal.SetXWRTimezone(tzid(r.s.Calendar.Zone))
		cal.SetRefreshInterval(Refresh)
		cal.SetXPublishedTTL(Refresh)
		all := serialize(cal)
		all = all[:len(all)-len(calendarEnd)]
		names := []byte("NAME:" + namePlaceholder + crlf + "X-WR-CALNAME:" + namePlaceholder + crlf)
		i := bytes.Index(all, names)
		r.headStart, r.headEnd = all[:i], all[i+len(names):]
	}
	return [3][]byte{r.headStart, nameLines(name), r.headEnd}
}

// nameLines returns the calendar properties that name a document: NAME
// and X-WR-CALNAME.
func nameLines(name string) []byte {
	var props ics.ComponentBase
	props.AddProperty(ics.ComponentProperty(ics.PropertyName), text(name))
	props.AddProperty(ics.ComponentProperty(ics.PropertyXWRCalName), text(name))
	var b bytes.Buffer
	b.Grow(2*len(name) + 40)
	for _, p := range props.Properties {
		_ = p.SerializeTo(&b, serialConfig())
	}
	return b.Bytes()
}

// etag is the ETag of the document's bytes, found without reading them:
// they are its head, VTIMEZONEs and events, which its fingerprint
// covers, and the versions stamped into its events.
func (d *doc) etag() string { return quoteETag(d.etagSum()) }

// quoteETag is the ETag header value of a document whose etagSum is sum.
func quoteETag(sum [16]byte) string { return `"` + hex.EncodeToString(sum[:]) + `"` }

// etagSum is what etag quotes.
func (d *doc) etagSum() (sum [16]byte) {
	d.stampChunks()
	h := sha256.New()
	io.WriteString(h, d.print())
	for _, ch := range d.chunks {
		h.Write(ch.vers[:])
	}
	copy(sum[:], h.Sum(nil))
	return sum
}
