package feed

import (
	"bytes"
	"testing"

	"github.com/convene/convene/schedule"
)

// TestDocsShareBytes: the text of each event is held once, by the full
// feed and the event's own feed alike, and the calendar properties every
// document has are held once for all of them.
func TestDocsShareBytes(t *testing.T) {
	s, err := schedule.Parse("events.toml", []byte(httpTestSchedule+`
[[sessions]]
id = "review"
title = "Review"
start = 2023-12-10T20:00:00
timezone = "Europe/Berlin"
`))
	if err != nil {
		t.Fatal(err)
	}
	set := renderTestSet(t, s)
	held := map[*byte]bool{}
	for p := range set.All.parts {
		held[&p[0]] = true
	}
	var head *byte
	for id, d := range set.Sessions {
		var parts [][]byte
		for p := range d.parts {
			parts = append(parts, p)
		}
		if !bytes.Equal(d.Bytes(), bytes.Join(parts, nil)) || d.Len() != len(d.Bytes()) {
			t.Fatalf("session %s: Len %d, Bytes %d bytes", id, d.Len(), len(d.Bytes()))
		}
		event := -1
		for i, p := range parts {
			if bytes.HasPrefix(p, []byte("BEGIN:VEVENT")) {
				event = i
			}
		}
		if event < 0 || !held[&parts[event][0]] || !held[&parts[event+1][0]] {
			t.Errorf("session %s: its event is not the full feed's bytes", id)
		}
		if head == nil {
			head = &parts[0][0]
		} else if head != &parts[0][0] {
			t.Errorf("session %s: its calendar properties are a copy of their own", id)
		}
	}
	if len(set.Sessions) < 2 {
		t.Fatalf("the sample has %d sessions", len(set.Sessions))
	}
	var b bytes.Buffer
	if n, err := set.All.WriteTo(&b); err != nil || n != int64(set.All.Len()) || !bytes.Equal(b.Bytes(), set.All.Bytes()) {
		t.Errorf("WriteTo = %d, %v; want the %d bytes of Bytes", n, err, set.All.Len())
	}
}
