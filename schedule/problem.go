package schedule

// How the decoder reports what is wrong in events.toml: each problem or
// warning with its file, line, key path and rule.

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong in events.toml.
type Problem struct {
	File string
	Line int    // 0 when unknown
	Key  string // key path such as "sessions[2].start"; empty for syntax
	Rule string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Key != "" {
		b.WriteString(": " + p.Key)
	}
	return b.String() + ": " + p.Rule
}

// Problems is every problem found in one file, in file order.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// sorted returns the problems in the order of their lines.
func (d *decoder) sorted() Problems {
	sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
	return d.problems
}

// finish gives s its warnings, in the order of their lines.
func (d *decoder) finish(s *Schedule) {
	sort.SliceStable(d.warnings, func(i, j int) bool { return d.warnings[i].Line < d.warnings[j].Line })
	s.Warnings = d.warnings
}

func (d *decoder) fail(path, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: d.line(path), Key: path, Rule: fmt.Sprintf(format, args...)})
}

func (d *decoder) warn(path, format string, args ...any) {
	d.warnings = append(d.warnings, Problem{File: d.file, Line: d.line(path), Key: path, Rule: fmt.Sprintf(format, args...)})
}

// line finds the line of path, or of the nearest enclosing key written.
// The lines are read from the text only when there is something to
// report: a schedule without problems does not pay for them.
func (d *decoder) line(path string) int {
	if d.lines == nil {
		if d.text == nil && d.whole != nil {
			d.text, _ = d.whole.Bytes() // an error is the Text's, which ReparseText returns
		}
		d.lines = keyLines(string(d.text))
	}
	for path != "" {
		if n, ok := d.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
