package schedule

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse checks that no events.toml makes Parse panic, and that a
// schedule it accepts expands over a window without panicking, with
// every occurrence ending after it starts and sorted by start.
func FuzzParse(f *testing.F) {
	for _, name := range []string{filepath.Join("..", "events.toml"), filepath.Join("testdata", "bad.toml")} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(header + `[[series]]
id = "m"
title = "M"
start = 2024-01-21T20:00:00
rrule = "FREQ=MONTHLY;BYDAY=3SU;UNTIL=20250101"
skip = [2024-02-18]
[[series.changes]]
occurrence = 2024-03-17
start = 2024-03-10T02:30:00
status = "cancelled"
[[sessions]]
id = "o"
title = "O"
start = 2024-03-20T20:00:00-04:00
timezone = "Pacific/Apia"
`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("events.toml", data)
		if err != nil {
			if s != nil {
				t.Fatalf("Parse returned a schedule and an error")
			}
			return
		}
		from := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
		os := s.Expand(from, from.AddDate(3, 0, 0))
		for i, o := range os {
			if !o.End.After(o.Start) {
				t.Errorf("%s: end %v is not after start %v", o.Key(), o.End, o.Start)
			}
			if i > 0 && o.Start.Before(os[i-1].Start) {
				t.Errorf("%s: not sorted by start", o.Key())
			}
		}
	})
}
