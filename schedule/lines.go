package schedule

import (
	"fmt"
	"strings"
)

// keyLines maps key paths such as "sessions[3].start" to the line where
// they are written. The TOML decoder does not report positions of keys,
// so this reads the text the way the decoder does, far enough to see
// table headers and the keys that start each line.
func keyLines(text string) map[string]int {
	lines := map[string]int{}
	counts := map[string]int{} // array-of-tables path -> elements so far
	table := ""
	var sc valueScanner
	for n, line := range strings.Split(text, "\n") {
		if sc.open() {
			sc.scan(line)
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#':
		case strings.HasPrefix(t, "[["):
			name := strings.TrimSpace(strings.Trim(cut(t, "]]"), "[ "))
			parent := arrayPath(name, counts)
			table = fmt.Sprintf("%s[%d]", parent, counts[parent])
			counts[parent]++
			setLine(lines, parent, n+1)
			setLine(lines, table, n+1)
		case t[0] == '[':
			table = arrayPath(strings.TrimSpace(strings.Trim(cut(t, "]"), "[ ")), counts)
			setLine(lines, table, n+1)
		default:
			key, value, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			path := table
			for _, part := range strings.Split(key, ".") {
				path = join(path, strings.Trim(strings.TrimSpace(part), `"'`))
			}
			setLine(lines, path, n+1)
			sc.scan(value)
		}
	}
	return lines
}

// arrayPath turns a header name like "series.changes" into the path of
// the table it names, "series[1].changes", indexing every array of
// tables along the way at its latest element.
func arrayPath(name string, counts map[string]int) string {
	path := ""
	parts := strings.Split(name, ".")
	for i, part := range parts {
		path = join(path, strings.Trim(strings.TrimSpace(part), `"'`))
		// Every part but the last names its latest element; the last
		// is the array or table itself.
		if c := counts[path]; c > 0 && i < len(parts)-1 {
			path = fmt.Sprintf("%s[%d]", path, c-1)
		}
	}
	return path
}

func setLine(lines map[string]int, path string, n int) {
	if _, ok := lines[path]; !ok {
		lines[path] = n
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func cut(s, sep string) string {
	before, _, _ := strings.Cut(s, sep)
	return before
}

// valueScanner follows strings and brackets across lines, so that lines
// inside a multi-line string or array are not read as keys.
type valueScanner struct {
	multi string // `"""` or `'''` while inside a multi-line string
	depth int    // open [ and {
}

func (v *valueScanner) open() bool { return v.multi != "" || v.depth > 0 }

func (v *valueScanner) scan(s string) {
	for i := 0; i < len(s); i++ {
		if v.multi != "" {
			if v.multi == `"""` && s[i] == '\\' {
				i++
				continue
			}
			if strings.HasPrefix(s[i:], v.multi) {
				i += 2
				v.multi = ""
			}
			continue
		}
		switch c := s[i]; c {
		case '"', '\'':
			if strings.HasPrefix(s[i:], `"""`) || strings.HasPrefix(s[i:], `'''`) {
				v.multi = s[i : i+3]
				i += 2
				continue
			}
			for i++; i < len(s) && s[i] != c; i++ {
				if c == '"' && s[i] == '\\' {
					i++
				}
			}
		case '#':
			return
		case '[', '{':
			v.depth++
		case ']', '}':
			v.depth--
		}
	}
}
