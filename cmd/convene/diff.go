package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/mailer"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// errChanged is diff's answer that the edit changes what subscribers see
// or get: exit status 1.
var errChanged = statusError{errors.New("the edit changes what subscribers see"), 1}

// diffCmd shows what going from one events.toml to another would do:
// meetings added, removed, moved, cancelled or changed; feeds that change
// and their SEQUENCE; and, given the live state, the notices that would
// be emailed. Exit status 0: nothing changes; 1: something does; 2: an
// error.
func diffCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("diff", stderr)
	usageLine(fs, stderr, "usage: convene diff [flags] OLD.toml NEW.toml\n       convene diff [flags] --git REV    (REV's --config against the working file)")
	config := fs.String("config", "events.toml", "with --git: the schedule file, compared with its version at REV")
	rev := fs.String("git", "", "compare --config with its version at this git revision (such as origin/main)")
	state := fs.String("state", "", "the live state file: SEQUENCE numbers and notices as they would be now (read, never written)")
	days := fs.Int("days", 365, "how many days ahead to compare meetings")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := diff(ctx, stdout, *rev, *config, files, *state, *days, time.Now()); err != nil && err != errChanged {
		return statusError{err, 2}
	} else if err != nil {
		return err
	}
	return nil
}

func diff(ctx context.Context, stdout io.Writer, rev, config string, files []string, state string, days int, now time.Time) error {
	var oldName, newName string
	var oldData, newData []byte
	var err error
	switch {
	case rev != "" && len(files) == 0:
		oldName, newName = rev+":"+config, config
		if oldData, err = gitShow(ctx, rev, config); err != nil {
			return err
		}
	case rev == "" && len(files) == 2:
		oldName, newName = files[0], files[1]
		if oldData, err = os.ReadFile(oldName); err != nil {
			return err
		}
	default:
		return usageError{errors.New("give OLD.toml NEW.toml, or --git REV")}
	}
	if newData, err = os.ReadFile(newName); err != nil {
		return err
	}
	old, err := schedule.Parse(oldName, oldData)
	if err != nil {
		return err
	}
	new, err := schedule.Parse(newName, newData)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "convene-diff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := stateCopy(ctx, state, filepath.Join(dir, "state.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := compareEdit(ctx, old, new, st, state != "", now, now.AddDate(0, 0, days))
	if err != nil {
		return err
	}
	if state != "" {
		if err := r.checkLive(ctx, old, new, state, filepath.Join(dir, "live.db"), now); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "convene diff %s -> %s\n", oldName, newName)
	r.print(stdout, new.Calendar.Zone)
	if r.changes() {
		return errChanged
	}
	return nil
}

// gitShow returns file as it is at rev, read with the git binary from
// the repository that holds file.
func gitShow(ctx context.Context, rev, file string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", "show", rev+":./"+filepath.Base(file))
	cmd.Dir = filepath.Dir(file)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git show %s:./%s: %v: %s", rev, filepath.Base(file), err, strings.TrimSpace(errOut.String()))
	}
	return out, nil
}

// stateCopy opens a copy, at to, of the state file at path, or a new
// empty state when path is "". The copy is a consistent snapshot made
// through a read-only connection (VACUUM INTO), so the live file is
// never written nor locked while serve runs.
func stateCopy(ctx context.Context, path, to string) (*store.Store, error) {
	if store.IsPostgres(path) {
		return nil, fmt.Errorf("state %s: diff copies a SQLite state file, not a PostgreSQL database: "+
			"leave --state out to see the edit without the live SEQUENCE numbers and notices", store.Redact(path))
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			return nil, err
		}
		_, err = db.ExecContext(ctx, "VACUUM INTO ?", to)
		db.Close()
		if err != nil {
			return nil, fmt.Errorf("copy state %s: %w", path, err)
		}
	}
	return store.Open(to)
}

// editReport is what an edit changes.
type editReport struct {
	edits     []schedule.Edit
	oldSet    *feed.Set
	newSet    *feed.Set
	feeds     []feedChange
	sequences []sequence
	withState bool
	live      bool              // the state already serves the new file
	notices   []store.OutboxRow // notices the edit would queue
	reminders struct{ added, dropped, moved int }
	warnings  []string
	from, to  time.Time
}

// sequence is the SEQUENCE of a session or series (its master VEVENT)
// before and after the edit.
type sequence struct {
	uid      string
	old, new int
}

// sequences lists the sessions and series whose SEQUENCE the edit raises.
func sequences(old, new *schedule.Schedule, oldSet, newSet *feed.Set) []sequence {
	masters := func(s *schedule.Schedule) map[string]schedule.Occurrence {
		m := map[string]schedule.Occurrence{}
		for i := range s.Sessions {
			m[s.Sessions[i].ID] = s.Single(s.Sessions[i])
		}
		for i := range s.Series {
			m[s.Series[i].ID] = s.Master(&s.Series[i])
		}
		return m
	}
	before := masters(old)
	var out []sequence
	for id, o := range masters(new) {
		if p, ok := before[id]; ok && old.UID(id) == new.UID(id) {
			if a, b := oldSet.Sequence(p), newSet.Sequence(o); a != b {
				out = append(out, sequence{new.UID(id), a, b})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

// checkLive finds out whether the state already serves new (serve loaded
// it before diff ran): then new, rendered alone on another copy of the
// state, keeps the live SEQUENCE numbers, while rendering old first, as
// compareEdit does, raised them twice. The report then gives the live
// numbers and no notices, which serve planned when it loaded the file.
func (r *editReport) checkLive(ctx context.Context, old, new *schedule.Schedule, state, to string, now time.Time) error {
	st, err := stateCopy(ctx, state, to)
	if err != nil {
		return err
	}
	defer st.Close()
	live, err := feed.Render(ctx, new, st, now)
	if err != nil {
		return err
	}
	if seqs := sequences(new, new, live, r.newSet); len(seqs) > 0 {
		r.live = true
		r.sequences, r.newSet = seqs, live
		r.notices = nil
	}
	return nil
}

type feedChange struct {
	path, how string // how: added, removed, changed
}

// compareEdit renders old and then new on st, as serve would on reload,
// and plans the outbox with the mailer's own re-plan after each, to see
// which notices the edit adds.
func compareEdit(ctx context.Context, old, new *schedule.Schedule, st *store.Store, withState bool, from, to time.Time) (*editReport, error) {
	r := &editReport{edits: schedule.Compare(old, new, from, to), withState: withState, from: from, to: to}
	r.warnings = idWarnings(old, new)
	var err error
	if r.oldSet, err = feed.Render(ctx, old, st, from); err != nil {
		return nil, err
	}
	oldRows, err := replan(ctx, st, old, r.oldSet, from)
	if err != nil {
		return nil, err
	}
	if r.newSet, err = feed.Render(ctx, new, st, from); err != nil {
		return nil, err
	}
	newRows, err := replan(ctx, st, new, r.newSet, from)
	if err != nil {
		return nil, err
	}
	r.feeds = feedChanges(r.oldSet.Docs(), r.newSet.Docs())
	r.sequences = sequences(old, new, r.oldSet, r.newSet)
	r.outbox(oldRows, newRows)
	return r, nil
}

// replan re-plans the outbox of st for s with the reminder worker, as a
// reload of serve does, and returns the pending rows.
func replan(ctx context.Context, st *store.Store, s *schedule.Schedule, set *feed.Set, now time.Time) (map[string]store.OutboxRow, error) {
	w, err := mailer.New(mailer.Options{
		Store: st, Transport: noTransport{}, Now: func() time.Time { return now },
		Recipients: func(ctx context.Context, s *schedule.Schedule) ([]mailer.Recipient, error) {
			return recipients(ctx, s, st, nil)
		},
	})
	if err != nil {
		return nil, err
	}
	if err := w.Load(ctx, s, set); err != nil {
		return nil, err
	}
	rows, err := st.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	pending := map[string]store.OutboxRow{}
	for _, row := range rows {
		if row.State == store.Pending {
			pending[row.Ident] = row
		}
	}
	return pending, nil
}

// noTransport is the transport of diff's worker, which plans and never
// sends.
type noTransport struct{}

func (noTransport) Send(context.Context, *mailer.Message) error {
	return errors.New("convene diff sends nothing")
}
func (noTransport) Close() error { return nil }

// outbox records the notices and reminder changes between the pending
// rows planned for the old and the new schedule.
func (r *editReport) outbox(old, new map[string]store.OutboxRow) {
	for id, row := range new {
		prev, was := old[id]
		switch {
		case row.Kind != store.KindReminder:
			if !was {
				r.notices = append(r.notices, row)
			}
		case !was:
			r.reminders.added++
		case !prev.Due.Equal(row.Due):
			r.reminders.moved++
		}
	}
	for id, row := range old {
		if _, ok := new[id]; !ok && row.Kind == store.KindReminder {
			r.reminders.dropped++
		}
	}
	sort.Slice(r.notices, func(i, j int) bool {
		a, b := r.notices[i], r.notices[j]
		if a.Occurrence != b.Occurrence {
			return a.Occurrence < b.Occurrence
		}
		return a.Kind < b.Kind
	})
}

func feedChanges(old, new map[string]feed.Doc) []feedChange {
	var out []feedChange
	for path, d := range new {
		if o, ok := old[path]; !ok {
			out = append(out, feedChange{path, "added"})
		} else if o.ETag != d.ETag {
			out = append(out, feedChange{path, "changed"})
		}
	}
	for path := range old {
		if _, ok := new[path]; !ok {
			out = append(out, feedChange{path, "removed"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// idWarnings calls out an edit of a published id: a session or series
// gone with another one at the same start, or a new host in
// calendar.url, which changes every UID.
func idWarnings(old, new *schedule.Schedule) []string {
	var out []string
	if a, b := old.UID("x"), new.UID("x"); a != b {
		out = append(out, fmt.Sprintf("calendar.url moves the UIDs to another host (%s -> %s): every calendar drops every meeting and adds it again as new; keep the old host in calendar.url", strings.TrimPrefix(a, "x"), strings.TrimPrefix(b, "x")))
	}
	// A meeting is the same one under a new id when it has the same
	// start (and rule), or else the same title.
	type meeting struct{ start, title string }
	meetings := func(s *schedule.Schedule) map[string]meeting {
		m := map[string]meeting{}
		for _, ss := range s.Sessions {
			m[ss.ID] = meeting{ss.Start.String(), ss.Title}
		}
		for _, sr := range s.Series {
			m[sr.ID] = meeting{sr.Start.String() + " " + sr.RRule, sr.Title}
		}
		return m
	}
	before, after := meetings(old), meetings(new)
	var gone, added []string
	for id := range before {
		if _, ok := after[id]; !ok {
			gone = append(gone, id)
		}
	}
	for id := range after {
		if _, ok := before[id]; !ok {
			added = append(added, id)
		}
	}
	sort.Strings(gone)
	sort.Strings(added)
	for _, id := range gone {
		i := slices.IndexFunc(added, func(n string) bool { return after[n].start == before[id].start })
		if i < 0 {
			i = slices.IndexFunc(added, func(n string) bool { return after[n].title == before[id].title })
		}
		if i >= 0 {
			out = append(out, fmt.Sprintf("id %q became %q: ids are published (the UID %s), so every calendar drops the meeting and adds a new one, and reminders start over; keep id = %q", id, added[i], old.UID(id), id))
			added = slices.Delete(added, i, i+1)
		}
	}
	return out
}

// changes reports whether subscribers would see or get anything new.
func (r *editReport) changes() bool {
	return len(r.edits) > 0 || len(r.feeds) > 0 || len(r.notices) > 0
}
