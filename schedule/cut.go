package schedule

// Cutting a text into its tables, and cutting a new version of it again
// around what changed: the text side of Reparse.

import (
	"slices"
	"strings"
	"unsafe"
	"weak"

	"github.com/convene/convene/overlay"
)

// textEdit is how a schedule's text differs from the text of the one it
// was reparsed from, base: as Unchanged gives it. base is a weak pointer
// (to the text's first byte, with its length n): it tells that text from
// others while something else holds it, and does not keep it alive once
// nothing else does, as a string would for as long as the schedule is
// served (2.9 MB at 10,000 sessions, 30 MB at 100,000).
type textEdit struct {
	base           weak.Pointer[byte]
	n              int
	prefix, suffix int
}

// Unchanged is Unchanged(old, s.Text()), found without reading the
// texts again when old is the text of the schedule s was reparsed from.
func (s *Schedule) Unchanged(old string) (prefix, suffix int) {
	if e := s.edit; e != nil && e.n == len(old) && old != "" && e.base.Value() == unsafe.StringData(old) {
		return e.prefix, e.suffix
	}
	return Unchanged(old, s.Text())
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
	head, tables, _, ok = scanTables(text, 0, nil)
	return head, tables, ok
}

// scanTables is splitTables from position from, the start of the text
// or of a table's header, up to the first header after from at which
// stop, if set, says to stop: rest is where it stopped (len(text) at
// the end).
func scanTables(text string, from int, stop func(pos int) bool) (head string, tables []tableText, rest int, ok bool) {
	var sc valueScanner
	start, kind := -1, ""
	pos := from
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
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#':
		case t[0] == '[':
			name := strings.TrimSpace(strings.Trim(cut(t, "]"), "[ "))
			if strings.HasPrefix(t, "[[") && (name == "sessions" || name == "series") {
				if start >= 0 {
					tables = append(tables, tableText{kind, text[start:pos]})
					if stop != nil && stop(pos) {
						return head, tables, pos, true
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
				return "", nil, 0, false
			}
		default:
			if _, value, found := strings.Cut(t, "="); found {
				sc.scan(value)
			}
		}
		pos = next
	}
	if start < 0 {
		return text, nil, len(text), true
	}
	tables = append(tables, tableText{kind, text[start:]})
	return head, tables, len(text), true
}

// cutText is a text as Reparse cut it, with where each table starts and
// what each table was decoded and read into.
type cutText struct {
	text   string
	starts []int                          // where each table starts
	tables []*parsedTable                 // in the order of starts
	series []int                          // the indexes of the series' tables, in order
	ids    *overlay.Map[string, struct{}] // of the sessions
	unkept int                            // sessions' tables that had something to report
}

// tableText returns the text of table i.
func (c *cutText) tableText(i int) string {
	end := len(c.text)
	if i+1 < len(c.starts) {
		end = c.starts[i+1]
	}
	return c.text[c.starts[i]:end]
}

// sessionIndex returns the index in Sessions of the session whose table
// is table i (or would be, for i past the last table).
func (c *cutText) sessionIndex(i int) int {
	n, _ := slices.BinarySearch(c.series, i)
	return i - n
}

// splice returns the cut of text that e makes of c (nil: none): c's
// tables before e.from and from e.to on, moved, and mid between. ids
// and unkept are left for the caller to set, unkept from c's.
func (c *cutText) splice(text string, head int, e edit, mid []*parsedTable) *cutText {
	if c == nil {
		c = &cutText{}
	}
	n := len(c.starts) - (e.to - e.from) + len(mid)
	out := &cutText{text: text, starts: make([]int, 0, n), tables: make([]*parsedTable, 0, n), unkept: c.unkept}
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
	delta := len(text) - len(c.text)
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
	// change (Unchanged)
	prefix, suffix int
}

// splitAgain cuts text, a new version of the text prev was cut from
// (nil: none), as splitTables would. The text that did not change,
// before the first byte that did and after the last, keeps its tables,
// moved: only the tables between are scanned again, from the one before
// the first change (whose end a changed header would move) up to the
// first header in the unchanged end that began a table of prev.
func splitAgain(prev *cutText, text string) (e edit, ok bool) {
	if prev == nil || len(prev.starts) == 0 {
		e.head, e.mid, ok = splitTables(text)
		if prev != nil {
			e.to = len(prev.starts)
		}
		return e, ok
	}
	old, starts := prev.text, prev.starts
	p, q := Unchanged(old, text)
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
	delta := len(text) - len(old)
	same := len(text) - q // text[same:] did not change
	e.to = len(starts)
	head, mid, _, ok := scanTables(text, at, func(pos int) bool {
		i, found := slices.BinarySearch(starts, pos-delta)
		if pos >= same && found {
			e.to = i
			return true
		}
		return false
	})
	if !ok {
		return edit{}, false
	}
	e.mid = mid
	if at > 0 {
		head = text[:starts[0]]
	}
	e.head = head
	return e, true
}

// Unchanged returns how many bytes new begins with that old begins with
// too, prefix, and how many of the rest it ends with that old ends with,
// suffix: new is old with old[prefix:len(old)-suffix] replaced by
// new[prefix:len(new)-suffix].
func Unchanged(old, new string) (prefix, suffix int) {
	prefix = commonPrefix(old, new)
	return prefix, commonSuffix(old[prefix:], new[prefix:])
}

// Text returns the text s was read from by Reparse, "" for a schedule
// read otherwise.
func (s *Schedule) Text() string {
	if s.cut == nil {
		return ""
	}
	return s.cut.text
}

// commonPrefix returns how many bytes a and b begin with in common.
func commonPrefix(a, b string) int {
	n, i := min(len(a), len(b)), 0
	for i+4096 <= n && a[i:i+4096] == b[i:i+4096] {
		i += 4096
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix returns how many bytes a and b end with in common.
func commonSuffix(a, b string) int {
	n, i := min(len(a), len(b)), 0
	for i+4096 <= n && a[len(a)-i-4096:len(a)-i] == b[len(b)-i-4096:len(b)-i] {
		i += 4096
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}
