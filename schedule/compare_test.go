package schedule

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestCompareGenerated applies random edits to random schedules (move,
// cancel, retitle, remove, add, for sessions and single occurrences of a
// series) and checks that Compare reports each edit, with its kind and
// fields, and nothing else.
func TestCompareGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	const cal = "[calendar]\nname = \"G\"\ntimezone = \"America/New_York\"\n"
	base := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	edits := []EditKind{"", Moved, CancelledEdit, ChangedEdit, Removed}
	for round := range 200 {
		var old, new strings.Builder
		old.WriteString(cal)
		new.WriteString(cal)
		session := func(b *strings.Builder, id, title, start, status string) {
			fmt.Fprintf(b, "[[sessions]]\nid = %q\ntitle = %q\nstart = %s\n", id, title, start)
			if status != "" {
				fmt.Fprintf(b, "status = %q\n", status)
			}
		}
		for i := range 1 + rng.IntN(6) {
			id := fmt.Sprintf("s%d", i)
			day := base.AddDate(0, 0, rng.IntN(60))
			start := day.Add(time.Duration(9+rng.IntN(10)) * time.Hour).Format("2006-01-02T15:04:05")
			session(&old, id, "Title", start, "")
			switch e := edits[rng.IntN(len(edits))]; e {
			case "":
				session(&new, id, "Title", start, "")
			case Moved:
				session(&new, id, "Title", day.Add(time.Duration(20+rng.IntN(3))*time.Hour).Format("2006-01-02T15:04:05"), "")
			case CancelledEdit:
				session(&new, id, "Title", start, "cancelled")
			case ChangedEdit:
				session(&new, id, "Other title", start, "")
			case Removed:
			}
		}
		// The kinds wanted for the sessions, read back from what was
		// written.
		oldText, newText := old.String(), new.String()
		want := map[string]EditKind{}
		for i := 0; strings.Contains(oldText, fmt.Sprintf("id = \"s%d\"", i)); i++ {
			id := fmt.Sprintf("s%d", i)
			o, n := block(oldText, id), block(newText, id)
			switch {
			case n == "":
				want[id] = Removed
			case strings.Contains(n, "cancelled"):
				want[id] = CancelledEdit
			case strings.Contains(n, "Other title"):
				want[id] = ChangedEdit
			case n != o:
				want[id] = Moved
			}
		}
		// A series of ten weekly meetings; some get a change or a skip.
		first := base.AddDate(0, 0, rng.IntN(7)).Add(19 * time.Hour)
		series := fmt.Sprintf("[[series]]\nid = \"w\"\ntitle = \"W\"\nstart = %s\nrrule = \"FREQ=WEEKLY;COUNT=10\"\n", first.Format("2006-01-02T15:04:05"))
		old.WriteString(series)
		new.WriteString(series)
		var skips []string
		for i := range 10 {
			occ := first.AddDate(0, 0, 7*i)
			key := "w/" + occ.Format("20060102T150405")
			date := occ.Format("2006-01-02")
			switch e := edits[rng.IntN(len(edits))]; e {
			case Moved:
				fmt.Fprintf(&new, "[[series.changes]]\noccurrence = %s\nstart = %s\n", date, occ.Add(-time.Hour).Format("2006-01-02T15:04:05"))
				want[key] = e
			case CancelledEdit:
				fmt.Fprintf(&new, "[[series.changes]]\noccurrence = %s\nstatus = \"cancelled\"\n", date)
				want[key] = e
			case ChangedEdit:
				fmt.Fprintf(&new, "[[series.changes]]\noccurrence = %s\ntitle = \"Special\"\n", date)
				want[key] = e
			case Removed:
				skips = append(skips, date)
				want[key] = e
			}
		}
		if len(skips) > 0 {
			// skip belongs to the series table, before its changes.
			newText := strings.Replace(new.String(), "rrule = \"FREQ=WEEKLY;COUNT=10\"\n", "rrule = \"FREQ=WEEKLY;COUNT=10\"\nskip = ["+strings.Join(skips, ", ")+"]\n", 1)
			new.Reset()
			new.WriteString(newText)
		}
		// One session added.
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&new, "[[sessions]]\nid = \"added\"\ntitle = \"New\"\nstart = %s\n", base.AddDate(0, 0, rng.IntN(60)).Add(12*time.Hour).Format("2006-01-02T15:04:05"))
			want["added"] = Added
		}

		before, err := Parse("old.toml", []byte(old.String()))
		if err != nil {
			t.Fatalf("round %d: old: %v\n%s", round, err, old.String())
		}
		after, err := Parse("new.toml", []byte(new.String()))
		if err != nil {
			t.Fatalf("round %d: new: %v\n%s", round, err, new.String())
		}
		got := map[string]EditKind{}
		for _, e := range Compare(before, after, base.AddDate(0, 0, -7), base.AddDate(0, 0, 120)) {
			o := e.New
			if o == nil {
				o = e.Old
			}
			got[o.Key()] = e.Kind
			if e.Kind == ChangedEdit && strings.Join(e.Fields, ",") != "title" {
				t.Errorf("round %d: %s changed %v, want [title]", round, o.Key(), e.Fields)
			}
			if e.Kind == Moved && len(e.Fields) != 0 {
				t.Errorf("round %d: %s moved and changed %v, want no fields", round, o.Key(), e.Fields)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: Compare =\n%v\nwant\n%v\nold:\n%s\nnew:\n%s", round, got, want, old.String(), new.String())
		}
	}
}

// block returns the [[sessions]] table of id in text, or "".
func block(text, id string) string {
	for _, b := range strings.Split(text, "[[sessions]]\n") {
		if strings.HasPrefix(b, fmt.Sprintf("id = %q\n", id)) {
			return b
		}
	}
	return ""
}
