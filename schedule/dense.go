package schedule

import (
	"strings"
	"time"
	"unsafe"
)

// slabs is where a decoder puts the sessions it reads when it reads many
// at once (a first load, or every session again after the calendar's
// defaults changed): each session, its strings and its lists are copied
// into blocks of slabBytes, one after the other, instead of being
// allocated one by one among the decoder's garbage.
//
// Why: the garbage of decoding (the tables as TOML maps, the text of
// each batch of tables) is several times what stays, and allocated at
// the same time. Objects left scattered among it keep each of its spans
// partly filled after it is collected, and Go does not move them: 5 MB
// of a 10,000-session load stayed in the heap as unfilled spans. Packed
// in blocks, what stays fills whole spans, and the garbage frees whole
// spans, which go back to the system. A session's strings were also
// parts of the decoder's copy of its batch of tables (about 40 KB), kept
// whole for as long as any of them was used.
//
// The cost: a block stays alive while any session in it does. An edit
// (Reparse of a few tables) reads its sessions one by one, so a block
// holds sessions of one bulk read only, and what the edits leave unused
// in blocks is at most the size of that read; a new bulk read leaves the
// old blocks to be collected whole. That holds because what a block
// holds points only into blocks of the same read: the parsed tables,
// which point to their sessions and which an edit drops one by one, are
// allocated one by one (in blocks, one dropped table would keep its
// session, and that session's block, alive after every session was read
// again: TestEditsKeepHeapBounded saw 4 such reads keep 5 times the
// sessions).
type slabs struct {
	// block is the size of a block in bytes (slabBytes). 0 allocates
	// each session, string and list on its own: for the sessions of an
	// edit read in bulk (the tables between two distant changes), most
	// of which read as the previous schedule's and are dropped for its
	// own (keepSame), and each of the few that stay would keep alive a
	// block of those dropped, edit after edit.
	block      int
	sessions   []Session
	text       []byte // never written again below its length: strings point into it
	links      []Link
	recordings []Recording
	durations  []time.Duration
}

// slabBytes is the size of a block: the largest of Go's small size
// classes, so that one block fills one span exactly.
const slabBytes = 32 << 10

// take returns n elements of the block *slab, and starts a new block of
// block bytes when it has no room for them. n over a quarter of a block
// are allocated on their own, so that a long list does not leave most of
// a block empty (and so is everything when block is 0).
func take[T any](slab *[]T, n, block int) []T {
	if n > cap(*slab)-len(*slab) {
		per := block / int(unsafe.Sizeof(*new(T)))
		if n > per/4 {
			return make([]T, n)
		}
		*slab = make([]T, 0, per)
	}
	l := len(*slab)
	*slab = (*slab)[:l+n]
	return (*slab)[l : l+n : l+n]
}

// str returns a copy of s in a block.
func (a *slabs) str(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > a.block/4 {
		return strings.Clone(s)
	}
	b := take(&a.text, len(s), a.block)
	copy(b, s)
	return unsafe.String(&b[0], len(b))
}

// session returns a copy of ss in a block, with its strings and lists.
func (a *slabs) session(ss Session) *Session {
	p := &take(&a.sessions, 1, a.block)[0]
	ss.ID = a.str(ss.ID)
	a.details(&ss.Details)
	*p = ss
	return p
}

// details moves the strings and lists of d into blocks. An empty list
// that is not nil stays as it is: nil means "inherit".
func (a *slabs) details(d *Details) {
	for _, f := range []*string{&d.Title, &d.Location, &d.Description, &d.Reading, &d.Facilitator} {
		*f = a.str(*f)
	}
	d.Status = status(d.Status)
	if len(d.Links) > 0 {
		links := take(&a.links, len(d.Links), a.block)
		for i, l := range d.Links {
			links[i] = Link{Title: a.str(l.Title), URL: a.str(l.URL)}
		}
		d.Links = links
	}
	if len(d.Recordings) > 0 {
		recs := take(&a.recordings, len(d.Recordings), a.block)
		for i, r := range d.Recordings {
			r.URL, r.Type = a.str(r.URL), a.str(r.Type)
			recs[i] = r
		}
		d.Recordings = recs
	}
	if len(d.Reminders) > 0 {
		d.Reminders = append(take(&a.durations, len(d.Reminders), a.block)[:0], d.Reminders...)
	}
}

// status returns s as one of the constants, which no text holds.
func status(s Status) Status {
	for _, c := range []Status{Confirmed, Tentative, Cancelled} {
		if s == c {
			return c
		}
	}
	return s
}
