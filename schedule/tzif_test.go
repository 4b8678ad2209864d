package schedule

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestFattenSameZone: every zone of the database, loaded with its
// transitions written out, gives the offset, name and DST flag the
// zone's own file gives, at random instants from 1900 to 2200 and
// around each change, and Resolve gives the instant and fit for
// random wall clocks before fatUntil and those around each change as the offsets around
// them say. (The file alone does not: Go reports a period from the TZ
// string as ending at a new year, and then, for up to a day, the same
// period again, which Resolve read as an overlap.)
func TestFattenSameZone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	from, to := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	fattened := 0
	for _, name := range ZoneNames() {
		data, err := bundledData(name)
		if err != nil {
			t.Fatal(err)
		}
		slim, err := time.LoadLocationFromTZData(name, data)
		if err != nil {
			t.Fatal(err)
		}
		fat, err := loadBundled(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fat.String() != name {
			t.Fatalf("%s loads as %s", name, fat)
		}
		if _, ok := fatten(data, slim); ok {
			fattened++
		}
		var probes []int64
		for range 50 {
			probes = append(probes, from+rng.Int64N(to-from))
		}
		// Around each bound Go reports, new years' too, where the
		// transitions are written out, in the years schedules hold.
		for at := time.Date(1995, 1, 1, 0, 0, 0, 0, slim); at.Year() < 2045; {
			_, end := at.ZoneBounds()
			if end.IsZero() {
				break
			}
			if !end.After(at) {
				end = at.Add(time.Hour)
			}
			probes = append(probes, end.Unix()-1800, end.Unix()-1, end.Unix(), end.Unix()+1800)
			at = end
		}
		for _, sec := range probes {
			a, b := time.Unix(sec, 0).In(slim), time.Unix(sec, 0).In(fat)
			an, ao := a.Zone()
			bn, bo := b.Zone()
			if an != bn || ao != bo || a.IsDST() != b.IsDST() {
				t.Fatalf("%s at %v: fattened %s %d dst %v, want %s %d dst %v", name, a.UTC(), bn, bo, b.IsDST(), an, ao, a.IsDST())
			}
			wall := time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), a.Second(), 0, time.UTC)
			if wall.Year() >= fatUntil { // from the TZ string again
				continue
			}
			want, wfit := resolveByOffsets(wall, slim)
			got, fit := Resolve(wall, fat)
			if fit != wfit || (fit != Gap && !got.Equal(want)) {
				t.Fatalf("%s: Resolve(%v) fattened %v %v, want %v %v", name, wall, got, fit, want, wfit)
			}
		}
	}
	if fattened < 100 {
		t.Errorf("only %d zones had transitions to write out", fattened)
	}
}

// resolveByOffsets resolves wall in loc from the offsets loc has within
// a day and a half of it alone: the instants it names are those at which
// one of them gives wall.
func resolveByOffsets(wall time.Time, loc *time.Location) (time.Time, Fit) {
	var at []time.Time
	for h := -36; h <= 36; h += 6 {
		_, off := wall.Add(time.Duration(h) * time.Hour).In(loc).Zone()
		t := wall.Add(-time.Duration(off) * time.Second)
		if Wall(t, loc).Equal(wall) && !slices.ContainsFunc(at, t.Equal) {
			at = append(at, t)
		}
	}
	slices.SortFunc(at, time.Time.Compare)
	switch len(at) {
	case 0:
		return time.Time{}, Gap
	case 1:
		return at[0], Exact
	}
	return at[0], Overlap
}
