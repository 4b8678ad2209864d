package feed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// TestUpdateMatchesRender: over random rounds of edits (a title, a time,
// a zone, a session added or removed, the calendar's name or URL), a
// render that reuses the previous one gives every document byte for
// byte, with the same ETag and Last-Modified, as a render from scratch
// against the same versions.
func TestUpdateMatchesRender(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	incr, err := store.OpenExclusive(filepath.Join(dir, "incremental.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer incr.Close()
	full, err := store.Open(filepath.Join(dir, "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()

	rng := rand.New(rand.NewPCG(5, 8))
	type session struct {
		id, title, zone string
		hour            int
	}
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"}
	var sessions []session
	for i := range 30 {
		sessions = append(sessions, session{fmt.Sprint("s", i), fmt.Sprint("Session ", i), zones[i%3], 18})
	}
	name, url := "Group", "https://a.example.org"
	text := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "[calendar]\nname = %q\ntimezone = \"Europe/Berlin\"\nurl = %q\n", name, url)
		b.WriteString("\n[[series]]\nid = \"weekly\"\ntitle = \"Weekly\"\nstart = 2030-03-03T19:00:00\nrrule = \"FREQ=WEEKLY;COUNT=10\"\n")
		for i, ss := range sessions {
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = 2030-%02d-%02dT%02d:00:00\ntimezone = %q\n",
				ss.id, ss.title, 1+i%12, 1+i%28, ss.hour, ss.zone)
		}
		return b.String()
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var prev *Set
	next := 30
	for round := range 40 {
		switch k := rng.IntN(10); {
		case k < 4:
			i := rng.IntN(len(sessions))
			sessions[i].title = fmt.Sprintf("Session %d, round %d", i, round)
		case k == 4:
			sessions[rng.IntN(len(sessions))].hour = 10 + rng.IntN(10)
		case k == 5:
			sessions[rng.IntN(len(sessions))].zone = zones[rng.IntN(len(zones))]
		case k == 6:
			sessions = append(sessions, session{fmt.Sprint("s", next), fmt.Sprint("Added ", next), zones[next%4], 12})
			next++
		case k == 7:
			i := rng.IntN(len(sessions))
			sessions = append(sessions[:i], sessions[i+1:]...)
		case k == 8:
			name = fmt.Sprint("Group ", round)
		case k == 9:
			url = fmt.Sprintf("https://%c.example.org", 'a'+rune(round%3))
		}
		now = now.Add(time.Duration(rng.IntN(2)) * time.Second)
		s, err := schedule.Parse("events.toml", []byte(text()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Update(ctx, prev, s, incr, now)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Render(ctx, s, full, now)
		if err != nil {
			t.Fatal(err)
		}
		gd, wd := got.Docs(), want.Docs()
		if len(gd) != len(wd) {
			t.Fatalf("round %d: %d documents, want %d", round, len(gd), len(wd))
		}
		for path, w := range wd {
			g := gd[path]
			if string(g.Body) != string(w.Body) || g.ETag != w.ETag || !g.Modified.Equal(w.Modified) {
				t.Fatalf("round %d: %s differs from a render from scratch", round, path)
			}
		}
		prev = got
	}
}
