package feed

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

// A document's events are summed up in chunks, runs of events cut after
// each event whose fingerprint says so (about one in 512): where the cuts
// fall depends on the events alone, not on their places, so that a
// document that differs from another in a few events has the other's
// chunks everywhere else, and is fingerprinted, sized and given its
// VTIMEZONEs from them (relayout) instead of from each of its events.

// chunk sums up a run of n events of a document: their fingerprints, the
// zones they name, and once they are stamped, their versions and size.
// It is not changed once complete (stamped), and documents share it.
type chunk struct {
	n     int
	sums  [sha256.Size]byte // of the events' fingerprints
	zones []zoneSpan        // named zones, in order of first use, by pointer
	gmt   *zoneSpan         // the first event that writes gmt times outside gmt
	// once stamped
	stamped bool
	vers    [sha256.Size]byte // of the events' versions
	size    int               // of the events' bytes
}

// zoneSpan is a zone and the instants its events name in it.
type zoneSpan struct {
	loc      *time.Location
	from, to time.Time
}

// cuts reports whether a chunk ends after c.
func cuts(c *component) bool { return c.sum[0] == 0 && c.sum[1]&1 == 0 }

// newChunk sums up the chunk of cs that starts at cs[0]: up to the first
// event after which chunks are cut, or to the end.
func newChunk(cs []*component) *chunk {
	ch := &chunk{}
	h := sha256.New()
	b := make([]byte, 0, 8192) // hashed in blocks: a call per event costs more than its 32 bytes
	for _, c := range cs {
		ch.n++
		if len(b)+len(c.sum) > cap(b) {
			h.Write(b)
			b = b[:0]
		}
		b = append(b, c.sum[:]...)
		if c.gmt && c.zone != gmt && ch.gmt == nil {
			ch.gmt = &zoneSpan{gmt, c.from, c.to}
		}
		// A series with an offset start writes no time in its zone:
		// a VTIMEZONE nothing names would only make the file longer.
		if c.named {
			ch.span(c.zone, c.from, c.to)
		}
		if cuts(c) {
			break
		}
	}
	h.Write(b)
	h.Sum(ch.sums[:0])
	return ch
}

// span widens the span of loc to cover from and to, adding loc if new.
func (ch *chunk) span(loc *time.Location, from, to time.Time) {
	i := slices.IndexFunc(ch.zones, func(z zoneSpan) bool { return z.loc == loc })
	if i < 0 {
		ch.zones = append(ch.zones, zoneSpan{loc, from, to})
		return
	}
	z := &ch.zones[i]
	if from.Before(z.from) {
		z.from = from
	}
	if to.After(z.to) {
		z.to = to
	}
}

// stamp sums up the versions and size of cs, the chunk's events,
// stamped, once.
func (ch *chunk) stamp(cs []*component) {
	if ch.stamped {
		return
	}
	h := sha256.New()
	b := make([]byte, 0, 8192)
	for _, c := range cs {
		if len(b)+24 > cap(b) {
			h.Write(b)
			b = b[:0]
		}
		b = binary.BigEndian.AppendUint64(b, uint64(c.sequence))
		b = binary.BigEndian.AppendUint64(b, uint64(c.created))
		b = binary.BigEndian.AppendUint64(b, uint64(c.modified))
		ch.size += int(c.size) - len(eventEnd) + len(c.stamped)
	}
	h.Write(b)
	h.Sum(ch.vers[:0])
	ch.stamped = true
}

// chunkAll cuts cs into chunks.
func chunkAll(cs []*component) []*chunk {
	var out []*chunk
	for i := 0; i < len(cs); {
		ch := newChunk(cs[i:])
		out = append(out, ch)
		i += ch.n
	}
	return out
}

// rechunk returns the chunks of cs, which are prev's events with
// prev[from:to] replaced by cs[from:from+n], and with those from
// prev[prevTail:] and cs[tail:] on (a series' events, made anew each
// render) taken as changed too: the chunks of prev between the change
// and prevTail are kept, as are those before the change.
func rechunk(prev []*chunk, prevCS, cs []*component, from, to, n, prevTail, tail int) []*chunk {
	starts := make([]int, len(prev)+1)
	for k, ch := range prev {
		starts[k+1] = starts[k] + ch.n
	}
	// The chunk that holds from (or ends right before it) is cut anew.
	a, _ := slices.BinarySearch(starts, from+1)
	a = max(a-1, 0)
	if a >= len(prev) {
		a = max(len(prev)-1, 0)
	}
	out := slices.Clone(prev[:min(a, len(prev))])
	i := starts[min(a, len(prev))]
	for i < len(cs) {
		if i >= from+n && i < tail {
			old := i - (from + n) + to
			if k, found := slices.BinarySearch(starts, old); found && k < len(prev) {
				end := old + prev[k].n
				if end <= prevTail && cuts(prevCS[end-1]) {
					out = append(out, prev[k])
					i += prev[k].n
					continue
				}
			}
		}
		ch := newChunk(cs[i:])
		out = append(out, ch)
		i += ch.n
	}
	return out
}

// lay sets the VTIMEZONEs of d from its chunks: one for each zone its
// events name, in order of first use, spanning what they name, before the
// first VEVENT.
func (d *doc) lay() {
	type span struct{ from, to time.Time }
	spans := map[string]*span{}
	var order []*time.Location
	for _, ch := range d.chunks {
		for _, z := range ch.zones {
			sp := spans[tzid(z.loc)]
			if sp == nil {
				spans[tzid(z.loc)] = &span{z.from, z.to}
				order = append(order, z.loc)
				continue
			}
			if z.from.Before(sp.from) {
				sp.from = z.from
			}
			if z.to.After(sp.to) {
				sp.to = z.to
			}
		}
	}
	for _, ch := range d.chunks {
		if ch.gmt != nil {
			if spans[tzid(gmt)] == nil {
				spans[tzid(gmt)] = &span{ch.gmt.from, ch.gmt.to}
				order = append(order, gmt)
			}
			break
		}
	}
	d.tzs = nil
	for _, loc := range order {
		sp := spans[tzid(loc)]
		d.tzs = append(d.tzs, cachedTimezone(zoneKey{loc.String(), min(sp.from.Year(), tzFloor), max(sp.to.Year(), horizon.Year())}, loc))
	}
}

// chunk cuts the events of d into chunks, if it was not laid out by
// layout (Set.session builds a document of what it holds).
func (d *doc) chunk() {
	if d.chunks == nil && len(d.cs) > 0 {
		d.chunks = chunkAll(d.cs)
	}
}

// stampChunks sums up the versions and size of each chunk of d not yet
// stamped, from its stamped events.
func (d *doc) stampChunks() {
	d.chunk()
	i := 0
	for _, ch := range d.chunks {
		ch.stamp(d.cs[i : i+ch.n])
		i += ch.n
	}
}
