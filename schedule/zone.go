package schedule

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// zoneinfo is Go's zone database (GOROOT/lib/time/zoneinfo.zip, the data
// that time/tzdata embeds). Zones are read from it alone, never from the
// host, so that every machine computes the same instants.
//
//go:embed zoneinfo.zip
var zoneinfo []byte

var zoneFiles = sync.OnceValue(func() map[string]*zip.File {
	r, err := zip.NewReader(bytes.NewReader(zoneinfo), int64(len(zoneinfo)))
	if err != nil {
		panic("schedule: embedded zoneinfo.zip: " + err.Error())
	}
	files := map[string]*zip.File{}
	for _, f := range r.File {
		files[f.Name] = f
	}
	return files
})

// ZoneNames returns the name of every zone in the bundled database.
func ZoneNames() []string {
	var names []string
	for name := range zoneFiles() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func loadBundled(name string) (*time.Location, error) {
	if name == "UTC" {
		return time.UTC, nil
	}
	data, err := bundledData(name)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocationFromTZData(name, data)
	if err != nil {
		return nil, err
	}
	if fat, ok := fatten(data, loc); ok {
		return time.LoadLocationFromTZData(name, fat)
	}
	return loc, nil
}

// bundledData returns the TZif file of the zone called name, as the
// bundled database has it.
func bundledData(name string) ([]byte, error) {
	f, ok := zoneFiles()[name]
	if !ok {
		return nil, fmt.Errorf("unknown zone %q", name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Fit tells how a wall-clock time maps onto a zone's timeline.
type Fit int

const (
	Exact   Fit = iota // the local time occurs once
	Gap                // it does not occur: clocks jumped over it
	Overlap            // it occurs twice: clocks went back over it
)

// LoadZone returns the IANA zone called name. Unlike time.LoadLocation it
// refuses "" and "Local", whose meaning depends on the host.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.Contains(name, "..") {
		return nil, fmt.Errorf("%q is not an IANA time zone name", name)
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := loadBundled(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone name", name)
	}
	zones.Store(strings.Clone(name), loc) // not the decoded text name is a part of, kept for good
	return loc, nil
}

// zones caches the zones loaded, by name. A Location is immutable and
// holds every transition of its zone (kilobytes), so a schedule of
// thousands of sessions shares one per zone instead of decoding and
// keeping one per session.
var zones sync.Map

// Wall returns the wall-clock fields of t in loc, stored in time.UTC.
func Wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

// Resolve returns the instant of the wall-clock time wall (fields in
// time.UTC) in loc, as RFC 5545 section 3.3.5 says: a time that occurs
// twice is the first one, and a time that does not occur is read with the
// UTC offset from before the gap.
func Resolve(wall time.Time, loc *time.Location) (time.Time, Fit) {
	t := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	// Most times are days away from any change of offset, and no
	// change moves the clock by two days: such a time occurs once.
	const margin = 48 * time.Hour
	if start, end := t.ZoneBounds(); (start.IsZero() || t.Sub(start) > margin) && (end.IsZero() || end.Sub(t) > margin) {
		return t, Exact
	}
	if got := Wall(t, loc); !got.Equal(wall) {
		// A gap. Go picked an instant on one side of the transition
		// that skipped wall; find that transition.
		start, end := t.ZoneBounds()
		transition := end
		if got.After(wall) {
			transition = start
		}
		_, before := transition.Add(-time.Second).Zone()
		return wall.Add(-time.Duration(before) * time.Second).In(loc), Gap
	}
	// An overlap if the period before t's also holds wall. (The first
	// period has no start, but the one after it may still repeat wall.)
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		_, before := start.Add(-time.Second).Zone()
		earlier := wall.Add(-time.Duration(before) * time.Second)
		if earlier.Before(start) && !earlier.Equal(t) && Wall(earlier, loc).Equal(wall) {
			return earlier.In(loc), Overlap
		}
	}
	if !end.IsZero() {
		_, after := end.Zone()
		later := wall.Add(-time.Duration(after) * time.Second)
		if !later.Before(end) && Wall(later, loc).Equal(wall) {
			return t, Overlap
		}
	}
	return t, Exact
}

// describeGap explains why wall does not exist in loc, for messages.
func describeGap(wall time.Time, loc *time.Location) string {
	t, _ := Resolve(wall, loc)
	start, _ := t.ZoneBounds()
	_, before := start.Add(-time.Second).Zone()
	jump := start.In(time.FixedZone("", before))
	return fmt.Sprintf("%s does not exist in %s (clocks go forward at %s)",
		wall.Format("2006-01-02T15:04"), loc, jump.Format("15:04"))
}
