// Package feed renders a schedule as RFC 5545 iCalendar feeds, with the
// VTIMEZONE components (RFC 5545 section 3.6.5) built from Go's zone data
// and the RFC 7986 properties that subscribing clients read, and serves
// them over HTTP.
package feed

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/convene/convene/overlay"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// Refresh is how often clients are asked to fetch the feed again.
const Refresh = "PT1H"

// State keeps versions between renders; *store.Store implements it.
type State interface {
	Stamp(ctx context.Context, now time.Time, prints map[string]string) (map[string]store.Version, error)
}

var _ State = (*store.Store)(nil)

// Set is every feed of a schedule, rendered once per reload. The full
// feed and the series' feeds are held as documents; a session's feed is
// written when it is asked for (Docs, Handler), from its event and the
// calendar properties the set holds anyway: there are as many as there
// are sessions, each is fetched seldom, and the documents' bookkeeping
// would cost more memory than their text.
type Set struct {
	All    Doc
	Series map[string]Doc // by series id

	sched *schedule.Schedule
	segs  map[string][]segment // by series id, every series; only read
	// Every event by key, stamped: what Event and Sequence read and what
	// the next Update reuses. A Set updated from another shares what
	// did not change with it (overlay.Map).
	comps *overlay.Map[string, *component]
	// Each document laid out with the Doc built from it: the full feed
	// and the series' by path.
	docs map[string]builtDoc
	// What a session's feed is written from, by session id, and the
	// calendar properties before and after its name, which every
	// document shares.
	sessions *overlay.Map[string, *sessionFeed]
	head     [2][]byte
	// id tells sets apart; when this set is the one numbered base with
	// the documents at the URL paths changed replaced and those at
	// removed removed, base is that number (else 0), so that
	// Handler.Swap replaces those alone.
	id, base         uint64
	changed, removed []string
}

// setIDs numbers sets.
var setIDs atomic.Uint64

// builtDoc is a document laid out and the Doc assembled from it.
type builtDoc struct {
	d   *doc
	out Doc
}

// Render builds every feed of s. Versions come from st, stamped at now:
// a component whose content changed gets a higher SEQUENCE, and an
// unchanged schedule renders byte-identical feeds. It is for commands
// that write the feeds once (`convene feed --out`, `diff`): the events'
// text is not compressed, as Update, which serve's reloads use, does.
func Render(ctx context.Context, s *schedule.Schedule, st State, now time.Time) (*Set, error) {
	return render(ctx, nil, s, st, now, func([]*component) {})
}

// RenderAll builds the full feed of s alone, the document Render gives
// as Set.All, with the same bytes: what `convene feed` writes to stdout.
// It stamps the events and the full feed's document, not the series'
// and sessions' documents, which it does not build.
func RenderAll(ctx context.Context, s *schedule.Schedule, st State, now time.Time) (Doc, error) {
	r := &renderer{s: s, segs: map[string][]segment{}, uidSuffix: s.UID("")}
	all := make([]*component, len(s.Sessions), len(s.Sessions)+len(s.Series))
	parallel(len(s.Sessions), func(i int) { all[i] = r.event(s.Single(s.Sessions[i]), nil) })
	events, _ := r.seriesEvents()
	for _, cs := range events {
		all = append(all, cs...)
	}
	d := r.layout(s.Calendar.Name, all)
	const name = "doc:/calendar.ics"
	prints := make(map[string]string, len(all)+1)
	for _, c := range all {
		prints[c.key] = c.print
	}
	prints[name] = d.print()
	versions, err := st.Stamp(ctx, now, prints)
	if err != nil {
		return Doc{}, err
	}
	stampAll(all, versions)
	return d.doc(versions[name].Modified), nil
}

// stampAll stamps each event of cs with its version from versions. Many
// events have the same version (those first seen by one render), and
// share the bytes it is written as.
func stampAll(cs []*component, versions map[string]store.Version) {
	written := map[store.Version]string{}
	for _, c := range cs {
		v := versions[c.key]
		if b, ok := written[v]; ok {
			c.stamped = b
			c.setVersion(v)
			continue
		}
		c.stamp(v)
		written[v] = c.stamped
	}
}

// Update is Render for a schedule that replaces the one prev was rendered
// from (nil: none), against the same State: what did not change is taken
// from prev.
//
// A session whose inputs (its occurrence, the calendar's URL and
// organizer) are those it had in prev keeps prev's event, stamped, and
// its document, when the calendar's head is the same too, keeps its
// bytes and ETag. When Reparse made s from prev's schedule by a splice
// (schedule.Splice), only the sessions it replaced are looked at: the
// others keep their events and documents without a lookup, and the
// maps of events and sessions' feeds are prev's with those entries
// changed (overlay.Map), not copies. Otherwise each session is looked
// up in prev; one that Reparse kept (schedule.Session.Origin) is known
// to be unchanged by a comparison of pointers.
func Update(ctx context.Context, prev *Set, s *schedule.Schedule, st State, now time.Time) (*Set, error) {
	return render(ctx, prev, s, st, now, packAll)
}

// render is Update, which compresses the text of the events it made
// anew with pack (packAll; a test renders without).
func render(ctx context.Context, prev *Set, s *schedule.Schedule, st State, now time.Time, pack func([]*component)) (*Set, error) {
	r := &renderer{s: s, segs: map[string][]segment{}, prev: prev, uidSuffix: s.UID("")}
	var sp schedule.Splice
	spliced := false
	if prev != nil {
		sp, spliced = s.SpliceOf(prev.sched)
		if sameHead(prev.sched, s) {
			r.prevDocs, r.prevSessions = prev.docs, prev.sessions
		}
	}
	// The sessions looked at: those the splice replaced, or all.
	from, to := 0, len(s.Sessions)
	all := make([]*component, len(s.Sessions), len(s.Sessions)+len(s.Series))
	if spliced {
		from, to = sp.From, sp.From+sp.N
		prevAll := prev.docs["/calendar.ics"].d.cs // the sessions' events first
		copy(all, prevAll[:sp.From])
		copy(all[to:], prevAll[sp.To:len(prev.sched.Sessions)])
	}
	kept := make([]bool, to-from)
	parallel(to-from, func(j int) { all[from+j], kept[j] = r.session(s.Sessions[from+j]) })
	var laidOut []int // the sessions whose document is laid out anew
	for j := range kept {
		// A kept event was the one of the document prev has for its
		// session: the document is kept too, when its head is.
		if !kept[j] || r.prevSessions == nil {
			laidOut = append(laidOut, from+j)
		}
	}
	series, seriesTitles := map[string][]*component{}, map[string]string{}
	seriesCS, titles := r.seriesEvents()
	for i, cs := range seriesCS {
		series[s.Series[i].ID], seriesTitles[s.Series[i].ID] = cs, titles[i]
		all = append(all, cs...)
	}
	looked := slices.Concat(all[from:to], all[len(s.Sessions):]) // the events looked at

	// Documents are laid out before their events are stamped: what a
	// document holds besides its events' versions is known now, and its
	// events' versions change only with their content, so one Stamp
	// records both. Only what is new is stamped: a kept event or
	// document keeps the version it was stamped with.
	set := &Set{Series: map[string]Doc{}, sched: s, segs: r.segs, docs: map[string]builtDoc{}}
	var full *doc
	if spliced {
		prevFull := prev.docs["/calendar.ics"].d
		full = r.relayout(prevFull, s.Calendar.Name, all, sp.From, sp.To, sp.N, len(prev.sched.Sessions), len(s.Sessions))
	} else {
		full = r.layout(s.Calendar.Name, all)
	}
	docs := map[string]*doc{"/calendar.ics": full}
	for id, cs := range series {
		docs["/series/"+id+".ics"] = r.layout(s.Calendar.Name+": "+seriesTitles[id], cs)
	}
	newSessions := map[string]*doc{}
	for _, i := range laidOut {
		ss := s.Sessions[i]
		newSessions[ss.ID] = r.layout(sessionFeedName(s, ss.Title), all[i:i+1])
	}
	prints := map[string]string{}
	for _, c := range looked {
		if c.stamped == "" { // not kept from prev
			prints[c.key] = c.print
		}
	}
	for name, d := range docs {
		prints["doc:"+name] = d.print()
	}
	for id, d := range newSessions {
		prints[sessionDoc(id)] = d.print()
	}
	versions, err := st.Stamp(ctx, now, prints)
	if err != nil {
		return nil, err
	}
	events := make(map[string]*component, len(looked))
	var fresh []*component
	for _, c := range looked {
		if c.stamped == "" {
			fresh = append(fresh, c)
		}
		events[c.key] = c
	}
	stampAll(fresh, versions)
	pack(fresh)
	feeds := make(map[string]*sessionFeed, to-from)
	for i := from; i < to; i++ {
		id := s.Sessions[i].ID
		if d, ok := newSessions[id]; ok {
			feeds[id] = newSessionFeed(d, s.Sessions[i].Title, versions[sessionDoc(id)].Modified)
		} else {
			feeds[id], _ = r.prevSessions.Get(id)
		}
	}
	set.head = [2][]byte{r.headStart, r.headEnd}
	if spliced {
		// prev's maps, less the entries of the sessions replaced and
		// of the series, plus those looked at.
		var gone, goneEvents []string
		for _, ss := range prev.sched.Sessions[sp.From:sp.To] {
			gone = append(gone, ss.ID)
		}
		prevAll := prev.docs["/calendar.ics"].d.cs
		for _, c := range slices.Concat(prevAll[sp.From:sp.To], prevAll[len(prev.sched.Sessions):]) {
			goneEvents = append(goneEvents, c.key)
		}
		set.comps = prev.comps.Change(goneEvents, events)
		set.sessions = prev.sessions.Change(gone, feeds)
		for _, id := range gone {
			if _, ok := set.sessions.Get(id); !ok {
				set.removed = append(set.removed, "/sessions/"+id+".ics")
			}
		}
	} else {
		set.comps, set.sessions = overlay.From(events), overlay.From(feeds)
		if prev != nil {
			for id := range prev.sessions.All {
				if _, ok := feeds[id]; !ok {
					set.removed = append(set.removed, "/sessions/"+id+".ics")
				}
			}
		}
	}
	set.id = setIDs.Add(1)
	if prev != nil {
		set.base = prev.id
		for id := range newSessions {
			set.changed = append(set.changed, "/sessions/"+id+".ics")
		}
		for name := range docs {
			set.changed = append(set.changed, name)
		}
		for id := range prev.Series {
			if _, ok := series[id]; !ok {
				set.removed = append(set.removed, "/series/"+id+".ics")
			}
		}
	}
	for name, d := range docs {
		out := Doc{ETag: d.etag(), Modified: versions["doc:"+name].Modified}
		if b, ok := r.prevDocs[name]; ok && b.out.ETag == out.ETag && b.out.Modified.Equal(out.Modified) {
			out = b.out // the same bytes: not assembled again
		} else {
			d.assemble(&out)
		}
		set.docs[name] = builtDoc{d, out}
		if name == "/calendar.ics" {
			set.All = out
		} else {
			set.Series[strings.TrimSuffix(strings.TrimPrefix(name, "/series/"), ".ics")] = out
		}
	}
	return set, nil
}

// seriesEvents returns the events of each series of r.s, in its order:
// one per segment, then one per changed occurrence, then an override
// for each occurrence in a gap or an overlap, which states its instant,
// as clients resolve such times differently. titles holds the title of
// each series' first event, which its document is named after.
func (r *renderer) seriesEvents() (events [][]*component, titles []string) {
	s := r.s
	odd := map[string][]schedule.Occurrence{}
	for _, o := range s.ExpandSeries(time.Time{}, horizon) {
		if !o.Changed && r.odd(o) {
			odd[o.ID] = append(odd[o.ID], o)
		}
	}
	events, titles = make([][]*component, len(s.Series)), make([]string, len(s.Series))
	for i := range s.Series {
		sr := &s.Series[i]
		add := func(o schedule.Occurrence, seg *segment) {
			if events[i] == nil {
				titles[i] = o.Title
			}
			events[i] = append(events[i], r.kept(r.event(o, seg)))
		}
		for _, seg := range r.segments(sr) {
			add(r.segmentStart(sr, seg), &seg)
		}
		for _, o := range s.Changed(sr) {
			add(o, nil)
		}
		for _, o := range odd[sr.ID] {
			add(o, nil)
		}
	}
	return events, titles
}

// kept returns the event the previous render holds under c's key when
// it has c's text, stamped and packed already, else c. A series' events
// are serialized anew each render, and most are the same.
func (r *renderer) kept(c *component) *component {
	if r.prev != nil {
		if prev, ok := r.prev.comps.Get(c.key); ok && prev.sum == c.sum {
			return prev
		}
	}
	return c
}

// byPath returns the document at a URL path.
func (set *Set) byPath(path string) (Doc, bool) {
	if path == "/calendar.ics" {
		return set.All, true
	}
	if id, ok := strings.CutPrefix(path, "/series/"); ok {
		d, ok := set.Series[strings.TrimSuffix(id, ".ics")]
		return d, ok
	}
	return set.session(sessionID(path))
}

// sessionID returns the id of the session whose feed is at path, or ""
// when path is not a session's feed.
func sessionID(path string) string {
	id, ok := strings.CutPrefix(path, "/sessions/")
	if id, isICS := strings.CutSuffix(id, ".ics"); ok && isICS {
		return id
	}
	return ""
}

// parallelRanges calls f for ranges of [0, n) that cover it, one per
// core, each on its own: for work that keeps state from one i to the
// next.
func parallelRanges(n int, f func(from, to int)) {
	k := min(runtime.GOMAXPROCS(0), n/64+1)
	var wg sync.WaitGroup
	for w := range k {
		wg.Go(func() { f(w*n/k, (w+1)*n/k) })
	}
	wg.Wait()
}

// parallel calls f(i) for each i below n, on every core. Serializing
// the sessions' events is most of a first render.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n/64+1) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// sessionDoc is the key under which the document of session id is
// stamped.
func sessionDoc(id string) string { return "doc:/sessions/" + id + ".ics" }

// horizon is where the feed stops writing overrides for occurrences of
// endless series and where VTIMEZONEs stop listing changes one by one.
var horizon = time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)

// tzFloor is the year from which every VTIMEZONE is written at the
// latest. python vobject (Radicale's parser) compares each VTIMEZONE with
// UTC over 2000 to 2020 and, where they agree, drops it for its own zone
// data: one that began in 2024 agrees with UTC before then for a zone
// on UTC in winter (Europe/London), and vobject then read summer times
// an hour late.
const tzFloor = 2000

// Docs returns every document by its URL path.
func (set *Set) Docs() map[string]Doc {
	docs := map[string]Doc{"/calendar.ics": set.All}
	for id, d := range set.Series {
		docs["/series/"+id+".ics"] = d
	}
	for id := range set.sessions.All {
		docs["/sessions/"+id+".ics"], _ = set.session(id)
	}
	return docs
}

// Event renders one occurrence alone as a calendar (METHOD:PUBLISH), with
// the UID and SEQUENCE it has in the feed: the file a reminder attaches.
func (set *Set) Event(o schedule.Occurrence) []byte {
	r := &renderer{s: set.sched, segs: set.segs}
	c := r.event(o, nil)
	c.stamp(set.version(r, o))
	return r.layout(o.Title, []*component{c}).doc(time.Time{}).Bytes()
}

// Sequence returns the SEQUENCE the feed gives o.
func (set *Set) Sequence(o schedule.Occurrence) int {
	return set.version(&renderer{s: set.sched, segs: set.segs}, o).Sequence
}

// version returns the version of the event that holds o: its own, or for
// an unchanged occurrence of a series, its segment's.
func (set *Set) version(r *renderer, o schedule.Occurrence) store.Version {
	if c, ok := set.comps.Get(r.key(o)); ok {
		return c.version()
	}
	if c, ok := set.comps.Get(r.uid(o)); ok {
		return c.version()
	}
	return store.Version{}
}

// session returns the event of a one-off session, taken from the
// previous render when it is the same (kept): without serializing it
// when Reparse read it from the same text with the same defaults and
// the calendar's URL and organizer, which every event writes, are the
// previous render's; else when it serializes to the same text. Nothing
// else is kept to compare: a copy of each session's occurrence was 3.4
// MB at 10,000 sessions.
func (r *renderer) session(ss *schedule.Session) (c *component, kept bool) {
	var prev *component
	if r.prev != nil {
		prev, _ = r.prev.comps.Get(ss.ID + r.uidSuffix) // its key, as r.key gives it
	}
	if prev != nil && prev.origin != nil && prev.origin == ss.Origin() && sameEventCalendar(r.prev.sched, r.s) {
		return prev, true
	}
	c = r.event(r.s.Single(ss), nil)
	if prev != nil && prev.sum == c.sum {
		return prev, true
	}
	c.origin = ss.Origin()
	return c, false
}

// sameEventCalendar reports whether the calendars of a and b give their
// events the same URL and organizer.
func sameEventCalendar(a, b *schedule.Schedule) bool {
	return a.Calendar.URL == b.Calendar.URL && a.Calendar.Organizer == b.Calendar.Organizer
}

// sameHead reports whether the calendars of a and b write the same
// document heads.
func sameHead(a, b *schedule.Schedule) bool {
	return a.Calendar.Name == b.Calendar.Name && a.Calendar.Description == b.Calendar.Description &&
		a.Calendar.Zone == b.Calendar.Zone
}
