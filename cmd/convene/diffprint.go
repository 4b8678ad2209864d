package main

// How convene diff prints its report: the meetings that change, the
// feeds, and the email the edit would send.

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

func (r *editReport) print(w io.Writer, zone *time.Location) {
	at := func(t time.Time) string {
		return t.In(zone).Format("Mon 2006-01-02 15:04 MST") + " (" + t.UTC().Format("2006-01-02 15:04") + " UTC)"
	}
	for _, warn := range r.warnings {
		fmt.Fprintln(w, "\nwarning:", warn)
	}
	fmt.Fprintf(w, "\nMeetings from %s to %s, in %s and UTC:\n", r.from.In(zone).Format(time.DateOnly), r.to.In(zone).Format(time.DateOnly), zone)
	if len(r.edits) == 0 {
		fmt.Fprintln(w, "  no meeting changes")
	}
	for _, e := range r.edits {
		o := e.New
		if o == nil {
			o = e.Old
		}
		switch n := r.alike(e); {
		case n < 0:
			continue // printed with the first of its series
		case n > 1:
			fmt.Fprintf(w, "  %-9s  %s: %d meetings alike; the first, %s %q:\n", e.Kind, o.ID, n, o.Key(), o.Title)
		default:
			fmt.Fprintf(w, "  %-9s  %s %q\n", e.Kind, o.Key(), o.Title)
		}
		switch e.Kind {
		case schedule.Moved:
			fmt.Fprintf(w, "             from %s\n             to   %s\n", at(e.Old.Start), at(e.New.Start))
		case schedule.Added:
			fmt.Fprintf(w, "             at %s\n", at(o.Start))
		default:
			fmt.Fprintf(w, "             at %s\n", at(e.Old.Start))
			if e.Kind != schedule.Removed && !e.New.Start.Equal(e.Old.Start) {
				fmt.Fprintf(w, "             now %s\n", at(e.New.Start))
			}
		}
		if len(e.Fields) > 0 {
			fmt.Fprintf(w, "             changed: %s\n", strings.Join(e.Fields, ", "))
		}
		if e.New != nil {
			fmt.Fprintf(w, "             SEQUENCE %d\n", r.newSet.Sequence(*e.New))
		}
	}
	source := "a new state (give --state for the live numbers)"
	if r.withState {
		source = "the state"
	}
	if r.live {
		fmt.Fprintln(w, "\nThe state already serves the new file (serve has loaded it): the SEQUENCE numbers are the live ones,\n"+
			"and its notices were planned when serve loaded it (see `convene subscribers` and the outbox).")
	}
	fmt.Fprintf(w, "\nFeeds, with SEQUENCE from %s:\n", source)
	if len(r.feeds) == 0 {
		fmt.Fprintln(w, "  no feed changes")
	}
	for _, f := range r.feeds {
		fmt.Fprintf(w, "  %-8s %s\n", f.how, f.path)
	}
	for _, v := range r.sequences {
		if r.live {
			fmt.Fprintf(w, "  SEQUENCE %d (live)  %s\n", v.old, v.uid)
			continue
		}
		fmt.Fprintf(w, "  SEQUENCE %d -> %d  %s\n", v.old, v.new, v.uid)
	}
	fmt.Fprintln(w, "\nEmail if this went live now:")
	if !r.withState {
		fmt.Fprintln(w, "  (give --state to see which notices would go out to whom)")
	}
	r.printNotices(w)
	fmt.Fprintf(w, "  reminders: %d added, %d dropped, %d moved\n", r.reminders.added, r.reminders.dropped, r.reminders.moved)
}

// alike counts, for the first "changed" or "moved" edit of a series, the
// edits of the series that change the same fields and move by the same
// time, so that an edit of a whole series prints once; it returns -1 for
// the others and 1 for any other edit.
func (r *editReport) alike(e schedule.Edit) int {
	if (e.Kind != schedule.ChangedEdit && e.Kind != schedule.Moved) || !e.New.Series {
		return 1
	}
	shift := func(x schedule.Edit) time.Duration { return x.New.Start.Sub(x.Old.Start) }
	n, first := 0, true
	for _, x := range r.edits {
		if x.Kind == e.Kind && x.New.ID == e.New.ID && slices.Equal(x.Fields, e.Fields) && shift(x) == shift(e) {
			if n == 0 && x.New != e.New {
				first = false
			}
			n++
		}
	}
	if !first {
		return -1
	}
	return n
}

func (r *editReport) printNotices(w io.Writer) {
	if r.live {
		fmt.Fprintln(w, "  notices: already planned by serve")
		return
	}
	if r.withState && len(r.notices) == 0 {
		fmt.Fprintln(w, "  no notices")
	}
	type group struct {
		kind       store.Kind
		occurrence string
	}
	count := map[group]int{}
	var order []group
	recipients := map[string]bool{}
	for _, n := range r.notices {
		g := group{n.Kind, n.Occurrence}
		if count[g] == 0 {
			order = append(order, g)
		}
		count[g]++
		recipients[strings.ToLower(n.Recipient)] = true
	}
	for _, g := range order {
		fmt.Fprintf(w, "  %-9s  notice about %s to %d recipient%s\n", g.kind, g.occurrence, count[g], plural(count[g]))
	}
	if len(r.notices) > 0 {
		fmt.Fprintf(w, "  %d notice%s to %d recipient%s\n", len(r.notices), plural(len(r.notices)), len(recipients), plural(len(recipients)))
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
