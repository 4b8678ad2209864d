package schedule

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/BurntSushi/toml"
)

// Reparse is Parse for a new text of the file prev was parsed from (nil:
// none): ReparseText of data, whole. The caller must not change data
// afterwards.
func Reparse(prev *Schedule, name string, data []byte) (*Schedule, error) {
	return ReparseText(prev, name, TextOf(data))
}

// ReparseText is Parse for t, a new version of the file prev was parsed
// from (nil: none). The text is cut where each [[sessions]] and
// [[series]] table starts; the blocks of t that changed are found from
// their hashes, and only the tables around them are read (the rest of
// t is not read again), cut and decoded again; the others keep their
// place, shifted. When the calendar's defaults did not change, the
// sessions outside the change are prev's own (the same pointers, see
// Splice), and only the changed ones and the series are read and
// checked: the cost is that of the change, not of the file. Otherwise
// every session is read again (one whose text and defaults did not
// change, and that had nothing to report, keeps its value), from t read
// whole. Either way the result and the problems are those of Parse; the
// lines of problems are found in t read whole. A file laid out
// otherwise (a table such as [reminders] after the first session) is
// parsed whole.
//
// The schedule keeps no part of the text: only the hashes of its
// blocks (blockSize), for the next ReparseText to find what changed.
// An error reading t (ErrChanged: written in place meanwhile) is
// returned as it is.
func ReparseText(prev *Schedule, name string, t *Text) (*Schedule, error) {
	s, err := reparse(prev, name, t)
	if t.err != nil { // read whole for the lines of a problem, or a warning
		return nil, t.err
	}
	return s, err
}

func reparse(prev *Schedule, name string, t *Text) (*Schedule, error) {
	if t.Size() > MaxFileSize {
		return parseText(name, t)
	}
	var prevCut *cutText
	if prev != nil {
		prevCut = prev.cut
	}
	e, ok, err := splitAgain(prevCut, t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return parseText(name, t)
	}
	var raw map[string]any
	// From a copy: a value read from the text would keep all of it.
	if _, err := toml.Decode(strings.Clone(e.head), &raw); err != nil || raw["sessions"] != nil || raw["series"] != nil {
		return parseText(name, t)
	}
	d := &decoder{file: name, whole: t}
	s, top := d.head(raw)
	splicing := prev != nil && prevCut != nil && prevCut.ids != nil && prevCut.unkept == 0 && len(d.problems) == 0 && s.Calendar == prev.Calendar
	read := d.bulkReader(len(e.mid), &s.Calendar)
	if read != nil && splicing {
		read.block = 0 // most read as before and are dropped (slabs)
	}
	mid, ok := decodeTables(e.mid, read)
	if !ok {
		return parseText(name, t) // for the exact message and line
	}
	cut := prevCut.splice(t.sums, len(e.head), e, mid)
	var splice *Splice
	if splicing {
		sp, ok := d.splice(s, top, prev, cut, e, mid)
		if !ok {
			return parseText(name, t) // for the messages of Parse
		}
		splice = &sp
	} else {
		data, err := t.Bytes()
		if err != nil {
			return nil, err
		}
		d.text = data
		cut.own()
		d.cutTables(s, top, cut, unsafe.String(unsafe.SliceData(data), len(data)))
		if len(d.problems) == 0 {
			cut.index(s)
		}
	}
	if len(d.problems) > 0 {
		return nil, d.sorted()
	}
	d.finish(s)
	s.cut, s.gen, s.splice = cut, schedules.Add(1), splice
	if prevCut != nil {
		s.edit = &textEdit{base: prev.gen, prefix: e.prefix, suffix: e.suffix}
	}
	return s, nil
}

// parseText is Parse of t, read whole.
func parseText(name string, t *Text) (*Schedule, error) {
	data, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// schedules numbers the schedules Reparse makes.
var schedules atomic.Uint64

// Splice says how a schedule was made from the one it was reparsed
// from, prev: its Sessions are prev's with prev.Sessions[From:To]
// replaced by its own Sessions[From:From+N]. Every other session is
// prev's (the same pointer), read with the same calendar.
type Splice struct {
	From, To, N int
	base        uint64 // prev's number
}

// SpliceOf returns how s was made from prev, or false when s was not
// made from prev by a splice: read anew, from another schedule, or with
// other calendar defaults.
func (s *Schedule) SpliceOf(prev *Schedule) (Splice, bool) {
	if s.splice == nil || prev == nil || prev.gen == 0 || s.splice.base != prev.gen {
		return Splice{}, false
	}
	return *s.splice, true
}

// cutTables reads the sessions and series of cut, every one, into s;
// text is the whole text cut was cut from.
func (d *decoder) cutTables(s *Schedule, top *table, cut *cutText, text string) {
	var sessions, series []any
	for i, pt := range cut.tables {
		if pt.kind == "sessions" {
			sessions = append(sessions, cutTable{pt, cut.tableText(text, i)})
		} else {
			series = append(series, pt.raw)
		}
	}
	if sessions != nil {
		top.m["sessions"] = sessions
	}
	if series != nil {
		top.m["series"] = series
	}
	d.tables(s, top)
}

// cutTable is a session's table as Reparse hands it to tables.
type cutTable struct {
	pt   *parsedTable
	text string
}

// splice reads into s the sessions of mid, the tables of e.mid, which
// replace the tables [e.from, e.to) of prev's cut, and keeps prev's
// others; every series is read again. ok is false when an id is not
// unique, which Parse then reports with the tables that share it.
func (d *decoder) splice(s *Schedule, top *table, prev *Schedule, cut *cutText, e edit, mid []*parsedTable) (sp Splice, ok bool) {
	sp = Splice{From: prev.cut.sessionIndex(e.from), To: prev.cut.sessionIndex(e.to), base: prev.gen}
	var added []*Session
	for j, pt := range mid {
		if pt.kind == "sessions" {
			ss := d.cachedSession(sp.From+len(added), pt, e.mid[j].text, &s.Calendar)
			added = append(added, ss)
			if pt.session == nil {
				cut.unkept++
			}
		}
	}
	front, back := keepSame(prev, cut, e, mid, added)
	sp.From, sp.To, added = sp.From+front, sp.To-back, added[front:len(added)-back]
	sp.N = len(added)
	s.Sessions = slices.Concat(prev.Sessions[:sp.From], added, prev.Sessions[sp.To:])
	removed := make([]string, 0, sp.To-sp.From)
	for _, ss := range prev.Sessions[sp.From:sp.To] {
		removed = append(removed, ss.ID)
	}
	set := make(map[string]struct{}, len(added))
	ok = true
	for _, ss := range added {
		if _, dup := set[ss.ID]; dup {
			ok = false
		}
		set[ss.ID] = struct{}{}
	}
	cut.ids = prev.cut.ids.Change(removed, set)
	if cut.ids.Len() != len(s.Sessions) {
		ok = false // an added id that a kept session has
	}
	seriesIDs := map[string]bool{}
	for i, t := range cut.series {
		sr := d.series(fmt.Sprintf("series[%d]", i), cut.tables[t].raw, &s.Calendar)
		if _, dup := cut.ids.Get(sr.ID); dup || seriesIDs[sr.ID] {
			ok = false
		}
		seriesIDs[sr.ID] = true
		s.Series = append(s.Series, sr)
	}
	top.used["sessions"], top.used["series"] = true, true
	top.done()
	return sp, ok
}

// keepSame keeps, of the sessions added from mid (the tables of e.mid,
// which replace prev's [e.from, e.to) in cut), those at the start and
// at the end that read as the sessions they replace: the change is
// found to a block, and the tables around it are read again though they
// did not change. Each is then prev's session, with its table, so that
// nothing built from it is built again. It returns how many it kept at
// the start and at the end.
func keepSame(prev *Schedule, cut *cutText, e edit, mid []*parsedTable, added []*Session) (front, back int) {
	first := prev.cut.sessionIndex(e.from)
	// mid[j] reads as prev's table i, session k: both sessions, kept
	// (nothing to report), and equal.
	same := func(j, i, k int) bool {
		a, b := mid[j], prev.cut.tables[i]
		if a.kind != "sessions" || b.kind != "sessions" || a.session == nil || b.session != prev.Sessions[k] {
			return false
		}
		x, y := *a.session, *b.session
		x.origin, y.origin = nil, nil
		return reflect.DeepEqual(x, y)
	}
	for front < len(mid) && e.from+front < e.to && same(front, e.from+front, first+front) {
		cut.tables[e.from+front] = prev.cut.tables[e.from+front]
		front++
	}
	last := prev.cut.sessionIndex(e.to) - 1
	for back < len(mid)-front && e.to-1-back >= e.from+front && same(len(mid)-1-back, e.to-1-back, last-back) {
		cut.tables[e.from+len(mid)-1-back] = prev.cut.tables[e.to-1-back]
		back++
	}
	return front, back
}

// decodeTables decodes the tables of chunks, on every core (decoding
// is most of the time of a first load), and has read read the sessions
// of each batch as soon as it is decoded (nil: none). ok is false when
// a chunk does not decode as one table of its kind.
func decodeTables(chunks []tableText, read *bulkReader) (tables []*parsedTable, ok bool) {
	tables = make([]*parsedTable, len(chunks))
	// Runs of up to tableBatch chunks of one kind are decoded together,
	// as one text: a call of the decoder costs as much as a few tables.
	var batches [][]int
	for i, c := range chunks {
		if n := len(batches); n > 0 && len(batches[n-1]) < tableBatch && chunks[batches[n-1][0]].kind == c.kind {
			batches[n-1] = append(batches[n-1], i)
		} else {
			batches = append(batches, []int{i})
		}
	}
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(batches)) {
		wg.Go(func() {
			w := read.worker()
			for !failed.Load() {
				n := int(next.Add(1)) - 1
				if n >= len(batches) {
					return
				}
				if !decodeBatch(chunks, batches[n], tables) {
					failed.Store(true)
					return
				}
				read.batch(w, chunks, batches[n], tables)
			}
		})
	}
	wg.Wait()
	return tables, !failed.Load()
}

const tableBatch = 128

// decodeBatch decodes the chunks at the indexes batch, all of one kind,
// into tables. It reports whether they are that many tables of the kind.
func decodeBatch(chunks []tableText, batch []int, tables []*parsedTable) bool {
	kind := chunks[batch[0]].kind
	var text strings.Builder
	for _, i := range batch {
		text.WriteString(chunks[i].text)
	}
	var m map[string]any
	if _, err := toml.Decode(text.String(), &m); err != nil {
		return false
	}
	var l []any
	switch v := m[kind].(type) {
	case []map[string]any:
		for _, t := range v {
			l = append(l, t)
		}
	case []any:
		l = v
	}
	if len(m) != 1 || len(l) != len(batch) {
		return false
	}
	for j, i := range batch {
		tables[i] = &parsedTable{kind: kind, raw: l[j]}
	}
	return true
}

// parsedTable is one [[sessions]] or [[series]] table of a file: as
// decoded, and for a session that had nothing to report, its value and
// the calendar defaults it was read with. It holds no text of its own,
// so that a table kept over many edits does not keep the text of each.
type parsedTable struct {
	kind    string // "sessions" or "series"
	raw     any    // as decoded; dropped once session is kept
	session *Session
	cal     *Calendar // shared by the tables one decoder kept (decoder.calendar)
}

// cachedSession reads the session of pt, whose text is text, at index
// i, or returns the one kept.
func (d *decoder) cachedSession(i int, pt *parsedTable, text string, cal *Calendar) *Session {
	if pt.session != nil && *pt.cal == *cal {
		return pt.session
	}
	path := sessionPath(i)
	raw := pt.raw
	if raw == nil { // kept, but the calendar's defaults changed
		// From a copy: a value kept from the text would keep all of it
		// after it is replaced.
		var one map[string]any
		toml.Decode(strings.Clone(text), &one) // it decoded before
		raw, _ = only(one, "sessions")
	}
	problems, warnings := len(d.problems), len(d.warnings)
	ss := d.keep(d.session(path, raw, cal))
	if len(d.problems) == problems && len(d.warnings) == warnings {
		ss.origin = ss
		pt.session, pt.cal, pt.raw = ss, d.calendar(cal), nil
	} else {
		pt.session, pt.raw = nil, raw
	}
	return ss
}

// calendar returns a copy of cal, the same for every table d keeps with
// those defaults: one per load rather than one per session (128 bytes
// each), and not cal itself, which would keep its schedule.
func (d *decoder) calendar(cal *Calendar) *Calendar {
	if d.cal == nil || *d.cal != *cal {
		c := *cal
		d.cal = &c
	}
	return d.cal
}

// only returns the one table of the array kind in m, decoded from the
// text of one table.
func only(m map[string]any, kind string) (any, bool) {
	if len(m) != 1 {
		return nil, false
	}
	switch l := m[kind].(type) {
	case []map[string]any:
		if len(l) == 1 {
			return l[0], true
		}
	case []any:
		if len(l) == 1 {
			return l[0], true
		}
	}
	return nil, false
}
