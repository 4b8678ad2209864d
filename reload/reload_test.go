package reload

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/mailer"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

// scheduleText is a schedule whose one session is titled title and
// starts at hour, ten days from now.
func scheduleText(title string, hour int) string {
	day := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	return fmt.Sprintf(`[calendar]
name = "Reload test group"
timezone = "Europe/Berlin"
url = "https://reload.example.org"

[reminders]
before = ["24h"]
from = "Group <group@example.org>"
recipients = ["members@example.org"]

[[sessions]]
id = "meeting"
title = %q
start = %sT%02d:00:00
`, title, day, hour)
}

// rig is a pipeline with a real store, page and reminder worker, whose
// recipients can be made to fail.
type rig struct {
	t      *testing.T
	dir    string
	config string
	st     *store.Store
	feeds  *feed.Handler
	page   *web.Server
	p      *Pipeline
	fail   atomic.Bool  // the recipients of reminders cannot be read
	plans  atomic.Int32 // times the recipients were read: plans made
	ok     atomic.Int32 // good reloads
	failed atomic.Int32 // failed reloads
}

func newRig(t *testing.T) *rig { return newRigIn(t, t.TempDir()) }

// newRigIn makes a rig whose events.toml and state file are in dir.
func newRigIn(t *testing.T, dir string) *rig {
	t.Helper()
	r := &rig{t: t, dir: dir}
	r.config = filepath.Join(r.dir, "events.toml")
	var err error
	if r.st, err = store.Open(filepath.Join(r.dir, "state.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close() })
	log := slog.New(slog.DiscardHandler)
	w, err := mailer.New(mailer.Options{Store: r.st, Transport: mailer.Dir{Path: filepath.Join(r.dir, "outbox")}, Log: log,
		Recipients: func(_ context.Context, s *schedule.Schedule) ([]mailer.Recipient, error) {
			r.plans.Add(1)
			if r.fail.Load() {
				return nil, errors.New("subscribers unreadable")
			}
			return mailer.StaticRecipients(s), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if r.page, err = web.New(web.Config{Store: r.st, Secret: bytes.Repeat([]byte("s"), 32), Log: log}); err != nil {
		t.Fatal(err)
	}
	r.feeds = &feed.Handler{}
	r.p, err = New(Config{Path: r.config, Store: r.st, Feeds: r.feeds, Page: WebPage(r.page), Mailer: w, Log: log,
		Reloaded: func(err error, _ time.Time) {
			if err != nil {
				r.failed.Add(1)
			} else {
				r.ok.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) write(text string) {
	r.t.Helper()
	if err := os.WriteFile(r.config, []byte(text), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// get answers path from the feeds or the page.
func (r *rig) get(path string) (int, string) {
	mux := http.NewServeMux()
	mux.Handle("GET /calendar.ics", r.feeds)
	r.page.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

// outbox lists the pending reminders: what, when, to whom.
func (r *rig) outbox() []string {
	r.t.Helper()
	rows, err := r.st.Outbox(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, row := range rows {
		out = append(out, fmt.Sprintf("%s %s %s %s", row.Kind, row.Occurrence, row.Recipient, row.Title))
	}
	sort.Strings(out)
	return out
}

// TestFailedReplanChangesNothing: a reload whose last step, planning the
// reminders, fails leaves the feeds, the page and the outbox all as the
// previous snapshot made them; the next good reload moves all three.
func TestFailedReplanChangesNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.write(scheduleText("First title", 19))
	if err := r.p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	_, feed1 := r.get("/calendar.ics")
	_, page1 := r.get("/")
	out1 := r.outbox()
	if !strings.Contains(feed1, "SUMMARY:First title") || !strings.Contains(page1, "First title") || len(out1) == 0 {
		t.Fatalf("first load: feed has the title %v, page %v, outbox %q",
			strings.Contains(feed1, "First title"), strings.Contains(page1, "First title"), out1)
	}

	r.fail.Store(true)
	r.write(scheduleText("Second title", 20))
	err := r.p.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "plan reminders") {
		t.Fatalf("reload with failing re-plan = %v, want a plan error", err)
	}
	if _, feed := r.get("/calendar.ics"); feed != feed1 {
		t.Errorf("the feed changed after a failed reload")
	}
	if _, page := r.get("/"); !strings.Contains(page, "First title") || strings.Contains(page, "Second title") {
		t.Errorf("the page changed after a failed reload")
	}
	if out := r.outbox(); strings.Join(out, "\n") != strings.Join(out1, "\n") {
		t.Errorf("the outbox changed after a failed reload:\n%q\nwant\n%q", out, out1)
	}
	if n := r.failed.Load(); n != 1 {
		t.Errorf("failed reloads counted = %d, want 1", n)
	}
	if err := r.p.Ready(ctx); err != nil {
		t.Errorf("Ready = %v, want nil: the last good schedule is served", err)
	}
	if w := r.p.Warning(); !strings.Contains(w, "subscribers unreadable") {
		t.Errorf("Warning = %q, want it to name the failure", w)
	}

	r.fail.Store(false)
	if err := r.p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	_, feed2 := r.get("/calendar.ics")
	_, page2 := r.get("/")
	out2 := r.outbox()
	if !strings.Contains(feed2, "SUMMARY:Second title") || !strings.Contains(page2, "Second title") ||
		!strings.Contains(strings.Join(out2, "\n"), "Second title") {
		t.Errorf("after the good reload: feed %v, page %v, outbox %q", strings.Contains(feed2, "Second title"),
			strings.Contains(page2, "Second title"), out2)
	}
	if r.p.Warning() != "" {
		t.Errorf("Warning after a good reload = %q", r.p.Warning())
	}
}

// TestStartServesLastGood: a daemon started on an events.toml that does
// not load serves the last good text from the state file, and says so.
func TestStartServesLastGood(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	if err := r.p.Ready(ctx); err == nil || !strings.Contains(err.Error(), "loading") {
		t.Errorf("Ready before any load = %v, want loading", err)
	}
	if code, _ := r.get("/calendar.ics"); code != http.StatusServiceUnavailable {
		t.Errorf("feed before any load = %d, want 503", code)
	}

	// Without a last good copy, start fails and nothing is served.
	r.write("[calendar]\nname = \"Broken\n")
	if err := r.p.Start(ctx); err == nil {
		t.Fatal("Start on a broken file without a last good copy succeeded")
	}
	if err := r.p.Ready(ctx); err == nil || !strings.Contains(err.Error(), "did not load") {
		t.Errorf("Ready = %v, want it to name the failed load", err)
	}

	// A good load keeps the text, and each edit after it what it
	// changed (to a block: the file is of many); a new daemon on a
	// broken file serves the last.
	many := manySessions(3000)
	r.write(scheduleText("First title", 19) + many)
	if err := r.p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r.write(scheduleText(fmt.Sprint("Edit ", i), 19) + many)
		if err := r.p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.write(scheduleText("Kept title", 19) + many)
	if err := r.p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	r.st.Close()
	var edits int
	if err := sqlRow(t, filepath.Join(r.dir, "state.db"), `SELECT COUNT(*) FROM source_edit WHERE seq > 0`, &edits); err != nil || edits != 6 {
		t.Errorf("the state holds %d edits of the text (%v), want 6", edits, err)
	}
	r2 := newRigIn(t, r.dir)
	r2.write("[calendar]\nname = \"Broken\n")
	err := r2.p.Start(ctx)
	var ps schedule.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Start on a broken file = %v, want its problems", err)
	}
	if code, body := r2.get("/calendar.ics"); code != 200 || !strings.Contains(body, "SUMMARY:Kept title") {
		t.Errorf("feed = %d, want the last good schedule:\n%.300s", code, body)
	}
	if err := r2.p.Ready(ctx); err != nil {
		t.Errorf("Ready = %v, want nil", err)
	}
	if w := r2.p.Warning(); !strings.Contains(w, "events.toml:2") {
		t.Errorf("Warning = %q, want the problem", w)
	}
	// Fixing the file is picked up even if it equals the kept text.
	r2.write(scheduleText("Kept title", 19) + many)
	if err := r2.p.Reload(ctx); err != nil || r2.p.Current().Fallback || r2.p.Warning() != "" {
		t.Errorf("reload of the fixed file = %v, fallback %v, warning %q", err, r2.p.Current().Fallback, r2.p.Warning())
	}
}

// TestSameSizeEditReloads: an edit that keeps the file's size (one
// letter of a title) is read and served, though a reload of the same
// bytes compares them with the text served without reading them whole.
func TestSameSizeEditReloads(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	for _, title := range []string{"Title A", "Title A", "Title B", "Title B", "Title C"} {
		r.write(scheduleText(title, 19))
		if err := r.p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if _, body := r.get("/calendar.ics"); !strings.Contains(body, "SUMMARY:"+title) {
			t.Fatalf("after %q the feed serves:\n%.300s", title, body)
		}
	}
	// A file of many 64 KiB pieces, edited at its end: in place, longer,
	// shorter, and not at all.
	day := time.Now().AddDate(0, 0, 30).Format("2006-01-02")
	many := manySessions(2000)
	for _, last := range []string{"Last A", "Last A", "Last B", "Last B and longer", "Last", "Last"} {
		r.write(scheduleText("Title", 19) + many + fmt.Sprintf("\n[[sessions]]\nid = \"last\"\ntitle = %q\nstart = %sT10:00:00\n", last, day))
		if err := r.p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if _, body := r.get("/calendar.ics"); !strings.Contains(body, "SUMMARY:"+last+"\r\n") {
			t.Fatalf("after %q the feed does not hold it", last)
		}
	}
}

// manySessions is n sessions, "Session 0" to "Session n-1", a month
// from now: many blocks of the file and many 64 KiB pieces.
func manySessions(n int) string {
	day := time.Now().AddDate(0, 0, 30).Format("2006-01-02")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "\n[[sessions]]\nid = \"s%d\"\ntitle = \"Session %d\"\nstart = %sT10:00:00\n", i, i, day)
	}
	return b.String()
}

// TestLastGoodKeptAsBlockEdits: the last good text is kept in the state
// as the edits a reload found, to a block of 4 KiB, in a file of many
// blocks: titles edited at its start, in its middle and at its end, a
// session added at the end, one removed and a title made longer (every
// byte after them moves), and the same bytes again. Each edit is a few
// KiB, not the file, and the state gives back the last good text byte
// for byte; a daemon started on a broken file serves it.
func TestLastGoodKeptAsBlockEdits(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	rng := rand.New(rand.NewPCG(11, 12))
	var ids, titles []string
	for i := range 3000 {
		ids, titles = append(ids, fmt.Sprint("s", i)), append(titles, fmt.Sprint("Session ", i))
	}
	day := time.Now().AddDate(1, 0, 0).Format("2006-01-02") // past the reminders' horizon
	text := func() string {
		var b strings.Builder
		b.WriteString(scheduleText("Head", 19))
		for i, title := range titles {
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\ntitle = %q\nstart = %sT10:00:00\n", ids[i], title, day)
		}
		return b.String()
	}
	good := text()
	r.write(good)
	if err := r.p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	changed := 0
	for round := range 14 {
		switch round % 7 {
		case 0:
			titles[rng.IntN(10)] = fmt.Sprint("Start ", round)
		case 1:
			titles[len(titles)/2+rng.IntN(100)] = fmt.Sprint("Middle ", round)
		case 2:
			titles[len(titles)-1] = fmt.Sprint("End ", round)
		case 3:
			ids, titles = append(ids, fmt.Sprint("added-", round)), append(titles, fmt.Sprint("Added ", round))
		case 4:
			i := len(titles) / 3
			ids, titles = slices.Delete(ids, i, i+1), slices.Delete(titles, i, i+1)
		case 5:
			titles[rng.IntN(100)] += " and longer"
		}
		if next := text(); next != good {
			good = next
			changed++
		}
		r.write(good)
		if err := r.p.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.write(strings.Replace(good, "[[sessions]]", "[[sessions]\n", 1))
	if err := r.p.Reload(ctx); err == nil {
		t.Fatal("a broken file loaded")
	}
	data, _, err := r.st.Source(ctx, r.p.name)
	if err != nil || string(data) != good {
		t.Fatalf("the state's last good text (%v) is not the last that loaded", err)
	}
	r.st.Close()
	db, err := sql.Open("sqlite", filepath.Join(r.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT prefix, suffix, length(middle) FROM source_edit WHERE seq > 0 ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	edits := 0
	for rows.Next() {
		var prefix, suffix, middle int
		if err := rows.Scan(&prefix, &suffix, &middle); err != nil {
			t.Fatal(err)
		}
		edits++
		if prefix%4096 != 0 || middle > 3*4096 {
			t.Errorf("edit %d keeps %d bytes after %d: not what a block-grained edit keeps", edits, middle, prefix)
		}
	}
	if err := rows.Err(); err != nil || edits != changed {
		t.Errorf("the state holds %d edits (%v), want %d", edits, err, changed)
	}
	r2 := newRigIn(t, r.dir)
	if err := r2.p.Start(ctx); err == nil {
		t.Fatal("a broken file started without an error")
	}
	if code, body := r2.get("/calendar.ics"); code != 200 || !strings.Contains(body, "SUMMARY:"+titles[len(titles)-1]+"\r\n") {
		t.Errorf("feed = %d, want the last good schedule", code)
	}
}

// sqlRow scans the one row that query gives in the SQLite file path.
func sqlRow(t *testing.T, path, query string, dest ...any) error {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QueryRow(query).Scan(dest...)
}

// TestUnchangedBytesRenderNothing: a reload of the same bytes keeps the
// snapshot (nothing is rendered) but plans the reminders again.
func TestUnchangedBytesRenderNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.write(scheduleText("Same", 19))
	if err := r.p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	snap := r.p.Current()
	plans := r.plans.Load()
	if err := r.p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if r.p.Current() != snap {
		t.Error("a reload of unchanged bytes built a new snapshot")
	}
	if got := r.plans.Load(); got != plans+1 {
		t.Errorf("reminders planned %d times by a reload of unchanged bytes, want once", got-plans)
	}
}

// TestHugeFileReadBounded: a reload of a file far over the size limit
// (a log copied over events.toml) is refused after reading no more than
// the limit: it costs the daemon no more memory than a file at the limit
// (issue 8 item 6).
func TestHugeFileReadBounded(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.write(scheduleText("Small", 19))
	if err := r.p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(r.config, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(8 * schedule.MaxFileSize); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = r.p.Reload(ctx)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("reload of a %d MiB file = %v, want it refused as too large", 8*schedule.MaxFileSize>>20, err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 2*schedule.MaxFileSize {
		t.Errorf("a reload of a %d MiB file allocated %d MiB, want at most twice the limit of %d MiB",
			8*schedule.MaxFileSize>>20, got>>20, schedule.MaxFileSize>>20)
	}
}
