package schedule

import (
	"reflect"
	"sort"
	"strings"
	"time"
)

// EditKind is what an edit of events.toml does to one meeting.
type EditKind string

const (
	Added         EditKind = "added"
	Removed       EditKind = "removed"   // gone from calendars, not marked cancelled
	Moved         EditKind = "moved"     // another start (Fields may list more)
	CancelledEdit EditKind = "cancelled" // now marked cancelled
	BackOn        EditKind = "back on"   // was cancelled, is on again
	ChangedEdit   EditKind = "changed"   // same time, other details (Fields)
)

// Edit is how one meeting differs between two schedules.
type Edit struct {
	Kind   EditKind
	Old    *Occurrence // nil when added
	New    *Occurrence // nil when removed
	Fields []string    // the keys whose value changed, as written in events.toml
}

// Compare returns how every meeting that overlaps [from, to) differs
// from old to new, in order of start. A meeting is the same meeting when
// it has the same Key; an occurrence of a series whose start time was
// edited, so that its key changed, is matched by its id and original
// date.
func Compare(old, new *Schedule, from, to time.Time) []Edit {
	before := old.Expand(from, to)
	after := new.Expand(from, to)
	byKey := map[string]*Occurrence{}
	for i := range after {
		byKey[after[i].Key()] = &after[i]
	}
	matched := map[*Occurrence]bool{}
	var edits []Edit
	for i := range before {
		o := &before[i]
		n := byKey[o.Key()]
		if n == nil {
			n = sameDay(o, after, matched)
		}
		if n == nil {
			edits = append(edits, Edit{Kind: Removed, Old: o})
			continue
		}
		matched[n] = true
		if e, ok := compare(o, n); ok {
			edits = append(edits, e)
		}
	}
	for i := range after {
		if !matched[&after[i]] {
			edits = append(edits, Edit{Kind: Added, New: &after[i]})
		}
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].at().Before(edits[j].at()) })
	return edits
}

// at is when the edit's meeting starts, as it was if it still exists.
func (e Edit) at() time.Time {
	if e.Old != nil {
		return e.Old.Start
	}
	return e.New.Start
}

// sameDay finds the one unmatched occurrence of o's series with o's
// original date, for an edit of the series' start time.
func sameDay(o *Occurrence, after []Occurrence, matched map[*Occurrence]bool) *Occurrence {
	if !o.Series {
		return nil
	}
	var found *Occurrence
	for i := range after {
		n := &after[i]
		if n.Series && n.ID == o.ID && !matched[n] && n.Original.Format(time.DateOnly) == o.Original.Format(time.DateOnly) {
			if found != nil {
				return nil
			}
			found = n
		}
	}
	return found
}

func compare(o, n *Occurrence) (Edit, bool) {
	e := Edit{Old: o, New: n, Fields: changedFields(o, n)}
	was, is := o.Status == Cancelled, n.Status == Cancelled
	switch {
	case !was && is:
		e.Kind = CancelledEdit
	case was && !is:
		e.Kind = BackOn
	case !o.Start.Equal(n.Start):
		e.Kind = Moved
	case len(e.Fields) > 0:
		e.Kind = ChangedEdit
	default:
		return e, false
	}
	return e, true
}

// changedFields names the keys whose values differ between o and n: the
// length, the zone, and each field of Details by its key in events.toml.
func changedFields(o, n *Occurrence) []string {
	var fields []string
	if o.End.Sub(o.Start) != n.End.Sub(n.Start) {
		fields = append(fields, "duration")
	}
	if o.Zone.String() != n.Zone.String() {
		fields = append(fields, "timezone")
	}
	a, b := reflect.ValueOf(o.Details), reflect.ValueOf(n.Details)
	for i := range a.NumField() {
		name := strings.ToLower(a.Type().Field(i).Name)
		if name == "status" && (o.Status == Cancelled) != (n.Status == Cancelled) {
			continue // the edit's kind says it
		}
		if name == "recordings" {
			name = "recording"
		}
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			fields = append(fields, name)
		}
	}
	return fields
}
