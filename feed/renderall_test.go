package feed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

// TestRenderAllMatchesRender: over random schedules (sessions in many
// zones at random times from 1970 to 2037, in gaps and overlaps too,
// series with changes and skips) and random rounds of edits, RenderAll
// gives the full feed Render gives, byte for byte, with its ETag and
// Last-Modified, each against its own state with the same history.
func TestRenderAllMatchesRender(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { renderAllMatchesRender(t, seed) })
	}
}

func renderAllMatchesRender(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, seed))
	all, set := tempStore(t), tempStore(t)
	type session struct {
		title, zone string
		start       time.Time // wall clock
		minutes     int
	}
	randomSession := func(i int) session {
		for {
			wall := time.Unix(rng.Int64N(67*365*86400), 0).UTC().Truncate(15 * time.Minute)
			zone := fuzzZones[rng.IntN(len(fuzzZones))]
			loc, err := schedule.LoadZone(zone)
			if err != nil {
				t.Fatal(err)
			}
			if _, fit := schedule.Resolve(wall, loc); fit != schedule.Gap { // a session in a gap is refused
				return session{fmt.Sprint("Session ", i), zone, wall, 15 * (1 + rng.IntN(12))}
			}
		}
	}
	var sessions []session
	for i := range 20 + rng.IntN(40) {
		sessions = append(sessions, randomSession(i))
	}
	calName, rule, changed := "Group", fuzzRules[rng.IntN(len(fuzzRules))], 1+rng.IntN(5)
	text := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "[calendar]\nname = %q\ntimezone = %q\nurl = \"https://g.example.org\"\n", calName, fuzzZones[int(seed)%len(fuzzZones)])
		fmt.Fprintf(&b, "\n[[series]]\nid = \"many\"\ntitle = \"Many\"\nstart = 2029-03-04T19:30:00\nrrule = %q\n", rule)
		day := time.Date(2029, 3, 4, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*changed)
		if strings.HasPrefix(rule, "FREQ=WEEKLY") && !strings.Contains(rule, "INTERVAL") {
			fmt.Fprintf(&b, "skip = [%s]\n", day.AddDate(0, 0, 7).Format("2006-01-02"))
			fmt.Fprintf(&b, "\n[[series.changes]]\noccurrence = %s\nstart = %sT08:00:00\ntitle = \"Moved\"\n",
				day.Format("2006-01-02"), day.Format("2006-01-02"))
		}
		for i, ss := range sessions {
			fmt.Fprintf(&b, "\n[[sessions]]\nid = \"s%d\"\ntitle = %q\nstart = %s\ntimezone = %q\nduration = \"%dm\"\n",
				i, ss.title, ss.start.Format("2006-01-02T15:04:05"), ss.zone, ss.minutes)
		}
		return b.String()
	}
	now := fixedNow
	for round := range 12 {
		switch rng.IntN(6) {
		case 0:
			sessions[rng.IntN(len(sessions))].title = fmt.Sprint("Edited in round ", round)
		case 1:
			i := rng.IntN(len(sessions))
			sessions[i] = randomSession(i)
		case 2:
			sessions = append(sessions, randomSession(len(sessions)))
		case 3:
			calName = fmt.Sprint("Group ", round)
		case 4:
			rule, changed = fuzzRules[rng.IntN(len(fuzzRules))], 1+rng.IntN(5)
		}
		now = now.Add(time.Duration(rng.IntN(2)) * time.Second)
		s, err := schedule.Parse("events.toml", []byte(text()))
		if err != nil {
			t.Fatal(err)
		}
		want, err := Render(ctx, s, set, now)
		if err != nil {
			t.Fatal(err)
		}
		got, err := RenderAll(ctx, s, all, now)
		if err != nil {
			t.Fatal(err)
		}
		if w := want.All; string(got.Bytes()) != string(w.Bytes()) || got.ETag != w.ETag || !got.Modified.Equal(w.Modified) {
			t.Fatalf("round %d: RenderAll differs from Render's full feed (ETag %s, want %s; modified %v, want %v):\n%s",
				round, got.ETag, w.ETag, got.Modified, w.Modified, firstDiff(string(w.Bytes()), string(got.Bytes())))
		}
	}
}

// TestCleanRandom: clean, which returns most texts as they are, gives
// for random bytes (control characters, CR LF, invalid UTF-8, many
// scripts) what mapping every rune gives.
func TestCleanRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	pieces := []string{"a", "Z", " ", "\n", "\t", "\r", "\r\n", "\x00", "\x1b", "\x7f", "\x80", "\xff", "\xe6\xbc",
		"é", "漢", "🎉", "\u0085", "\u2028", ";", ",", "\\"}
	reference := func(s string) string {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		return strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if got, want := clean(b.String()), reference(b.String()); got != want {
			t.Fatalf("clean(%q) = %q, want %q", b.String(), got, want)
		}
	}
}
