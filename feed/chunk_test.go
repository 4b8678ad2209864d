package feed

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// TestRechunkMatchesChunkAll: over random splices of a long list of
// events (some replaced, added and removed anywhere, and the tail made
// anew, as a series' events are each render), the chunks rechunk keeps
// and cuts are those of cutting the new list anew, with the same sums,
// zones, versions and sizes; and most are kept.
func TestRechunkMatchesChunkAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	zones := []*time.Location{time.UTC, gmt}
	for _, name := range []string{"Europe/Berlin", "Asia/Tokyo", "America/New_York"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, loc)
	}
	event := func() *component {
		c := &component{print: "BEGIN:VEVENT\r\nX\r\n" + eventEnd, named: rng.IntN(5) > 0, zone: zones[rng.IntN(len(zones))], gmt: rng.IntN(50) == 0}
		for i := range c.sum {
			c.sum[i] = byte(rng.IntN(256))
		}
		if rng.IntN(300) == 0 {
			c.sum[0], c.sum[1] = 0, 0 // cut after it, more often than by chance
		}
		c.from = time.Date(1990+rng.IntN(60), 1, 1, 0, 0, 0, 0, time.UTC)
		c.to = c.from.Add(time.Hour)
		c.stamp(store.Version{Sequence: rng.IntN(3), Created: c.from, Modified: c.to})
		return c
	}
	var cs []*component
	for range 6000 {
		cs = append(cs, event())
	}
	tail := len(cs) - 20
	chunks := chunkAll(cs)
	kept, total := 0, 0
	for round := range 200 {
		from := rng.IntN(tail + 1)
		to := min(tail, from+rng.IntN(4))
		var added []*component
		for range rng.IntN(4) {
			added = append(added, event())
		}
		next := slices.Concat(cs[:from], added, cs[to:tail])
		newTail := len(next)
		for range rng.IntN(30) {
			next = append(next, event())
		}
		got := rechunk(chunks, cs, next, from, to, len(added), tail, newTail)
		want := chunkAll(next)
		for _, chs := range [][]*chunk{got, want} {
			i := 0
			for _, ch := range chs {
				ch.stamp(next[i : i+ch.n])
				i += ch.n
			}
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d chunks, want %d", round, len(got), len(want))
		}
		for k := range got {
			if !reflect.DeepEqual(*got[k], *want[k]) {
				t.Fatalf("round %d: chunk %d differs", round, k)
			}
			if slices.Contains(chunks, got[k]) {
				kept++
			}
			total++
		}
		cs, tail, chunks = next, newTail, got
	}
	if kept < total*3/4 {
		t.Errorf("%d chunks of %d kept", kept, total)
	}
}
