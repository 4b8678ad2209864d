package schedule

// Cutting a text into its tables, and cutting a new version of it again
// around what changed: the text side of Reparse.

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/convene/convene/overlay"
)

// textEdit is how a schedule's text differs from the text of the one
// it was reparsed from, the schedule numbered base: to the precision of
// a block (comparison).
type textEdit struct {
	base           uint64
	prefix, suffix int
}

// EditOf returns how the text s was read from differs from the text
// prev was read from, when s was reparsed from prev: s's text begins
// with the prefix bytes that prev's begins with and, after those, ends
// with the suffix bytes that prev's ends with. What lies between is what
// changed, and up to a block (4 KiB) more on either side. ok is false
// when s was not reparsed from prev.
func (s *Schedule) EditOf(prev *Schedule) (prefix, suffix int, ok bool) {
	if s.edit == nil || prev == nil || prev.gen == 0 || s.edit.base != prev.gen {
		return 0, 0, false
	}
	return s.edit.prefix, s.edit.suffix, true
}

// tableText is the text of one [[sessions]] or [[series]] table, with
// the tables nested in it.
type tableText struct {
	kind string // "sessions" or "series"
	text string
}

// splitTables cuts text into what comes before the first [[sessions]]
// or [[series]] header and one piece per such header. It reads the text
// as keyLines does, so that a header inside a multi-line string is not
// taken for one; ok is false when a header other than a session's or a
// series' own follows the first of them.
func splitTables(text string) (head string, tables []tableText, ok bool) {
	return scanTables(text, nil)
}

// scanTables is splitTables up to the first header, after the first
// table's, at which stop, if set, says to stop.
func scanTables(text string, stop func(pos int) bool) (head string, tables []tableText, ok bool) {
	var sc valueScanner
	start, kind := -1, ""
	pos := 0
	for pos < len(text) {
		end := strings.IndexByte(text[pos:], '\n')
		next := len(text)
		if end >= 0 {
			next = pos + end + 1
		}
		line := text[pos:next]
		if sc.open() {
			sc.scan(line)
			pos = next
			continue
		}
		// Closed, as at every header: after a stray ] too (depth below
		// 0), so that the scan from a header is the same whatever came
		// before it, as splitAgain needs.
		sc = valueScanner{}
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#':
		case t[0] == '[':
			name := strings.TrimSpace(strings.Trim(cut(t, "]"), "[ "))
			if strings.HasPrefix(t, "[[") && (name == "sessions" || name == "series") {
				if start >= 0 {
					tables = append(tables, tableText{kind, text[start:pos]})
					if stop != nil && stop(pos) {
						return head, tables, true
					}
				} else {
					head = text[:pos]
				}
				// kind is a constant, not name: a part of text would
				// keep all of it alive in each table read from it,
				// which may be kept over many edits.
				start, kind = pos, "sessions"
				if name == "series" {
					kind = "series"
				}
				break
			}
			if start >= 0 && !strings.HasPrefix(name, kind+".") {
				return "", nil, false
			}
		default:
			if _, value, found := strings.Cut(t, "="); found {
				sc.scan(value)
			}
		}
		pos = next
	}
	if start < 0 {
		return text, nil, true
	}
	tables = append(tables, tableText{kind, text[start:]})
	return head, tables, true
}

// cutText is a text as Reparse cut it: not the text, but the hashes of
// its blocks, where each table starts and what each table was decoded
// and read into.
type cutText struct {
	sums   blocks
	starts []int                          // where each table starts
	tables []*parsedTable                 // in the order of starts
	series []int                          // the indexes of the series' tables, in order
	ids    *overlay.Map[string, struct{}] // of the sessions
	unkept int                            // sessions' tables that had something to report
}

// tableText returns the text of table i in text, the whole text c was
// cut from.
func (c *cutText) tableText(text string, i int) string {
	end := len(text)
	if i+1 < len(c.starts) {
		end = c.starts[i+1]
	}
	return text[c.starts[i]:end]
}

// sessionIndex returns the index in Sessions of the session whose table
// is table i (or would be, for i past the last table).
func (c *cutText) sessionIndex(i int) int {
	n, _ := slices.BinarySearch(c.series, i)
	return i - n
}

// splice returns the cut of the text whose blocks are sums that e makes
// of c (nil: none): c's tables before e.from and from e.to on, moved,
// and mid between. ids and unkept are left for the caller to set,
// unkept from c's.
func (c *cutText) splice(sums blocks, head int, e edit, mid []*parsedTable) *cutText {
	if c == nil {
		c = &cutText{}
	}
	n := len(c.starts) - (e.to - e.from) + len(mid)
	out := &cutText{sums: sums, starts: make([]int, 0, n), tables: make([]*parsedTable, 0, n), unkept: c.unkept}
	out.starts = append(out.starts, c.starts[:e.from]...)
	out.tables = append(out.tables, c.tables[:e.from]...)
	pos := head
	if e.from > 0 {
		pos = c.starts[e.from]
	}
	for j, t := range e.mid {
		out.starts = append(out.starts, pos)
		out.tables = append(out.tables, mid[j])
		pos += len(t.text)
	}
	delta := sums.size - c.sums.size
	for _, st := range c.starts[e.to:] {
		out.starts = append(out.starts, st+delta)
	}
	out.tables = append(out.tables, c.tables[e.to:]...)
	for _, pt := range c.tables[e.from:e.to] {
		if pt.kind == "sessions" && pt.session == nil {
			out.unkept--
		}
	}
	shift := len(mid) - (e.to - e.from)
	for _, i := range c.series {
		if i < e.from {
			out.series = append(out.series, i)
		}
	}
	for j, pt := range mid {
		if pt.kind == "series" {
			out.series = append(out.series, e.from+j)
		}
	}
	for _, i := range c.series {
		if i >= e.to {
			out.series = append(out.series, i+shift)
		}
	}
	return out
}

// own gives c copies of its tables, which are shared with the cut it
// was spliced from until then: reading every session again changes
// them, and a read that fails must leave the other cut as it was (its
// kept sessions those of its schedule).
func (c *cutText) own() {
	copies := make([]parsedTable, len(c.tables))
	for i, pt := range c.tables {
		copies[i] = *pt
		c.tables[i] = &copies[i]
	}
}

// index sets the ids and unkept of c from s, read from every table of c.
func (c *cutText) index(s *Schedule) {
	ids := make(map[string]struct{}, len(s.Sessions))
	for _, ss := range s.Sessions {
		ids[ss.ID] = struct{}{}
	}
	c.ids, c.unkept = overlay.From(ids), 0
	for _, pt := range c.tables {
		if pt.kind == "sessions" && pt.session == nil {
			c.unkept++
		}
	}
}

// edit is how a text differs from the one a cut was made of: its head
// (what comes before the first table), and the tables [from, to) of
// the cut replaced by mid.
type edit struct {
	head     string
	from, to int
	mid      []tableText
	// the bytes at the start, and after those at the end, that did not
	// change, to the precision of a block (comparison)
	prefix, suffix int
}

// splitAgain cuts t, a new version of the text prev was cut from (nil:
// none), as splitTables would. The text that did not change, before the
// first block that did and after the last, keeps its tables, moved:
// only the tables between are read and scanned again, from the one
// before the first change (whose end a changed header would move) up to
// the first header in the unchanged end that began a table of prev.
// Without prev, or a prev without tables, t is read whole.
func splitAgain(prev *cutText, t *Text) (e edit, ok bool, err error) {
	if prev == nil || len(prev.starts) == 0 {
		data, err := t.Bytes()
		if err != nil {
			return edit{}, false, err
		}
		e.head, e.mid, ok = splitTables(unsafe.String(unsafe.SliceData(data), len(data)))
		if prev != nil {
			e.to = len(prev.starts)
			if e.prefix, e.suffix, err = t.unchanged(prev); err != nil {
				return edit{}, false, err
			}
		}
		return e, ok, nil
	}
	p, q, err := t.unchanged(prev)
	if err != nil {
		return edit{}, false, err
	}
	return splitAt(prev, t, p, q)
}

// splitAt is splitAgain of t, which begins with the first p bytes of
// the text prev was cut from and, after those, ends with its last q
// bytes.
func splitAt(prev *cutText, t *Text, p, q int) (e edit, ok bool, err error) {
	starts := prev.starts
	e.prefix, e.suffix = p, q
	// The table holding the first change, and the one before it, are
	// scanned again; a change in the first table or before it, from
	// the start of the text.
	j, _ := slices.BinarySearch(starts, p+1)
	e.from = max(j-2, 0)
	at := 0
	if j-2 >= 0 {
		at = starts[e.from]
	}
	size := t.Size()
	delta := size - prev.sums.size
	same := size - q // t[same:] did not change
	// What is read: up to the end of the first table of prev that
	// begins in the unchanged end, so that its header is seen; more
	// when that header is not one in t (a multi-line string opened
	// before it), up to the whole rest.
	first, _ := slices.BinarySearch(starts, same-delta)
	for k := first; ; k += 1 + k - first {
		end := size
		if k+1 < len(starts) {
			end = starts[k+1] + delta
		}
		text, err := t.text(at, end)
		if err != nil {
			return edit{}, false, err
		}
		e.to = len(starts)
		stopped := false
		head, mid, ok := scanTables(text, func(pos int) bool {
			i, found := slices.BinarySearch(starts, at+pos-delta)
			if at+pos >= same && found {
				e.to, stopped = i, true
			}
			return stopped
		})
		if !ok {
			return edit{}, false, nil
		}
		if !stopped && end < size {
			continue // the last table may go on past end
		}
		e.mid = mid
		if at > 0 {
			if head, err = t.text(0, starts[0]); err != nil {
				return edit{}, false, err
			}
		}
		e.head = head
		return e, true, nil
	}
}
