package schedule

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/BurntSushi/toml"
)

// Reparse is Parse for a new text of the file prev was parsed from (nil:
// none). The text is cut where each [[sessions]] and [[series]] table
// starts; a table whose text did not change is not decoded again, and a
// session whose text and calendar defaults did not change and that had
// nothing to report keeps its value. Everything else (ids unique, every
// series) is checked as Parse checks it, so the result and the problems
// are those of Parse. A file laid out otherwise (a table such as
// [reminders] after the first session) is parsed whole.
func Reparse(prev *Schedule, name string, data []byte) (*Schedule, error) {
	if len(data) > MaxFileSize {
		return Parse(name, data)
	}
	var prevCut *cutText
	if prev != nil {
		prevCut = prev.cut
	}
	text := string(data)
	head, chunks, ok := splitAgain(prevCut, text)
	if !ok {
		return Parse(name, data)
	}
	var raw map[string]any
	if _, err := toml.Decode(head, &raw); err != nil || raw["sessions"] != nil || raw["series"] != nil {
		return Parse(name, data)
	}
	var old map[string]*parsedTable
	if prev != nil {
		old = prev.tables
	}
	decoded, ok := decodeTables(chunks, old)
	if !ok {
		return Parse(name, data) // for the exact message and line
	}
	tables := make(map[string]*parsedTable, len(chunks))
	var sessions, series []any
	for i, c := range chunks {
		pt := decoded[i]
		tables[c.text] = pt
		if c.kind == "sessions" {
			sessions = append(sessions, pt)
		} else {
			series = append(series, pt.raw)
		}
	}
	if sessions != nil {
		raw["sessions"] = sessions
	}
	if series != nil {
		raw["series"] = series
	}
	d := &decoder{file: name, text: data}
	s := d.schedule(raw)
	if len(d.problems) > 0 {
		return nil, d.sorted()
	}
	d.finish(s)
	s.tables, s.cut = tables, newCut(text, head, chunks)
	return s, nil
}

// decodeTables returns the table of each chunk: old's when it has the
// same text, else decoded, on every core (decoding is most of the time
// of a first load). ok is false when a chunk does not decode as one
// table of its kind.
func decodeTables(chunks []tableText, old map[string]*parsedTable) (tables []*parsedTable, ok bool) {
	tables = make([]*parsedTable, len(chunks))
	// Runs of up to tableBatch chunks of one kind are decoded together,
	// as one text: a call of the decoder costs as much as a few tables.
	var batches [][]int
	for i, c := range chunks {
		if tables[i] = old[c.text]; tables[i] != nil {
			continue
		}
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
			for !failed.Load() {
				n := int(next.Add(1)) - 1
				if n >= len(batches) {
					return
				}
				if !decodeBatch(chunks, batches[n], tables) {
					failed.Store(true)
				}
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
		tables[i] = &parsedTable{text: chunks[i].text, raw: l[j]}
	}
	return true
}

// parsedTable is one [[sessions]] or [[series]] table of a file: as
// decoded, and for a session that had nothing to report, its value and
// the calendar defaults it was read with.
type parsedTable struct {
	text    string
	raw     any // as decoded; dropped once session is kept
	session *Session
	cal     Calendar
}

// cachedSession reads the session of pt, the one at index i, or returns
// the one kept.
func (d *decoder) cachedSession(i int, pt *parsedTable, cal *Calendar) Session {
	if pt.session != nil && pt.cal == *cal {
		return *pt.session
	}
	path := sessionPath(i)
	raw := pt.raw
	if raw == nil { // kept, but the calendar's defaults changed
		var one map[string]any
		toml.Decode(pt.text, &one) // it decoded before
		raw, _ = only(one, "sessions")
	}
	problems, warnings := len(d.problems), len(d.warnings)
	ss := d.session(path, raw, cal)
	if len(d.problems) == problems && len(d.warnings) == warnings {
		kept := new(Session)
		ss.origin = kept
		*kept = ss
		pt.session, pt.cal, pt.raw = kept, *cal, nil
	} else {
		pt.raw = raw
	}
	return ss
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
				start, kind = pos, name
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

// cutText is a text as splitTables cut it, with where each table starts.
type cutText struct {
	text   string
	tables []tableText
	starts []int
}

func newCut(text, head string, tables []tableText) *cutText {
	c := &cutText{text: text, tables: tables, starts: make([]int, len(tables))}
	pos := len(head)
	for i, t := range tables {
		c.starts[i] = pos
		pos += len(t.text)
	}
	return c
}

// splitAgain is splitTables for text, a new version of the text prev
// was cut from (nil: none). The text that did not change, before the
// first byte that did and after the last, keeps its tables, moved: only
// the tables between are scanned again, from the one before the first
// change (whose end a changed header would move) up to the first header
// in the unchanged end that began a table of prev.
func splitAgain(prev *cutText, text string) (head string, tables []tableText, ok bool) {
	if prev == nil || len(prev.tables) == 0 {
		return splitTables(text)
	}
	old, starts := prev.text, prev.starts
	p := commonPrefix(old, text)
	// The table holding the first change, and the one before it, are
	// scanned again; a change in the first table or before it, anew.
	j, _ := slices.BinarySearch(starts, p+1)
	from := j - 2
	if from < 0 {
		return splitTables(text)
	}
	delta := len(text) - len(old)
	same := len(text) - commonSuffix(old[p:], text[p:]) // text[same:] did not change
	k := len(starts)
	_, mid, rest, ok := scanTables(text, starts[from], func(pos int) bool {
		i, found := slices.BinarySearch(starts, pos-delta)
		if pos >= same && found {
			k = i
			return true
		}
		return false
	})
	if !ok {
		return "", nil, false
	}
	tables = make([]tableText, 0, len(prev.tables)+len(mid)+1)
	for i := range from {
		tables = append(tables, tableText{prev.tables[i].kind, text[starts[i]:starts[i+1]]})
	}
	tables = append(tables, mid...)
	if rest < len(text) {
		for i := k; i < len(starts); i++ {
			end := len(old)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			tables = append(tables, tableText{prev.tables[i].kind, text[starts[i]+delta : end+delta]})
		}
	}
	return text[:starts[0]], tables, true
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
