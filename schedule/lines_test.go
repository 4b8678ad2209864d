package schedule

import "testing"

func TestKeyLines(t *testing.T) {
	text := `# comment
[calendar]
name = "G"   # a comment with = in it
description = """
not.a = key
[[not.a.table]]
"""
organizer = { name = "O", email = "o@example.org" }

[[sessions]]
id = "a"
links = [
  { title = "x", url = "https://x.example" },
  "[[sessions]]",
]
notes = '''
id = "fake"
'''
[[sessions]]
id = "b"
"quoted" = 1
dotted.key = 2

[[series]]
id = "s"
[[series.changes]]
occurrence = 2024-01-01
[[series.changes]]
occurrence = 2024-01-08
[[series.changes.links]]
title = "deep"
[[series]]
id = "t"
[[series.changes]]
title = """one \"""
still = "inside"
"""
occurrence = 2024-02-01
[reminders]
from = "x"
`
	want := map[string]int{
		"calendar":                            2,
		"calendar.name":                       3,
		"calendar.description":                4,
		"calendar.organizer":                  8,
		"sessions":                            10, // an array of tables: its first header
		"sessions[0]":                         10,
		"sessions[0].id":                      11,
		"sessions[0].links":                   12,
		"sessions[0].notes":                   16,
		"sessions[1]":                         19,
		"sessions[1].id":                      20,
		"sessions[1].quoted":                  21,
		"sessions[1].dotted.key":              22,
		"series":                              24,
		"series[0]":                           24,
		"series[0].id":                        25,
		"series[0].changes":                   26,
		"series[0].changes[0]":                26,
		"series[0].changes[0].occurrence":     27,
		"series[0].changes[1]":                28,
		"series[0].changes[1].occurrence":     29,
		"series[0].changes[1].links":          30,
		"series[0].changes[1].links[0]":       30,
		"series[0].changes[1].links[0].title": 31,
		"series[1]":                           32,
		"series[1].id":                        33,
		"series[1].changes":                   34,
		"series[1].changes[0]":                34,
		"series[1].changes[0].title":          35,
		"series[1].changes[0].occurrence":     38,
		"reminders":                           39,
		"reminders.from":                      40,
	}
	got := keyLines(text)
	for k, n := range want {
		if got[k] != n {
			t.Errorf("keyLines()[%q] = %d, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("keyLines() has %q at line %d, which is not a key", k, n)
		}
	}
}

// TestProblemLines checks the decoder's fallback to the nearest enclosing
// key written in the file.
func TestProblemLines(t *testing.T) {
	d := &decoder{lines: map[string]int{"series[0]": 5, "series[0].changes[1]": 9, "series[0].changes[1].start": 10}}
	tests := []struct {
		path string
		want int
	}{
		{"series[0].changes[1].start", 10},
		{"series[0].changes[1].title", 9},
		{"series[0].changes[0].title", 5},
		{"series[0].links[2].url", 5},
		{"calendar.name", 0},
	}
	for _, tt := range tests {
		if got := d.line(tt.path); got != tt.want {
			t.Errorf("line(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}
