// Package reload turns events.toml into what `convene serve` serves. A
// reload runs one pipeline, top to bottom:
//
//	read → load and validate → expand and render the feeds →
//	build the page → keep the text as the last good one (written
//	while the feeds and the page are built) → plan reminders
//
// into one new immutable Snapshot, and then swaps it in at once: the
// feeds, the page and the mailer all move to it together, and nothing
// after the swap can fail. If any step fails, nothing changes: the
// previous snapshot stays served, the error names every problem, the
// failed-reload counter rises and Ready says why.
//
// A reload whose file bytes did not change renders nothing: it only plans
// the reminders again, since the subscribers may have changed.
package reload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

// Snapshot is one loaded schedule and everything built from it. It is
// never modified once swapped in.
type Snapshot struct {
	Schedule *schedule.Schedule
	Feeds    *feed.Set
	Page     any         // the page's rendering (Page.Build), passed back to Page.Show
	Sum      Fingerprint // of the text it was loaded from
	Loaded   time.Time
	// Fallback is set when the file did not load at start and this is
	// the last good text kept in the state file.
	Fallback bool
}

// scheduleOf returns the schedule of snap, nil for none.
func scheduleOf(snap *Snapshot) *schedule.Schedule {
	if snap == nil {
		return nil
	}
	return snap.Schedule
}

// Page renders the web page of a snapshot: Build may fail and changes
// nothing; Show makes a built page the one served and cannot fail.
type Page interface {
	Build(s *schedule.Schedule, set *feed.Set) (any, error)
	Show(built any)
}

// WebPage is the page step of srv, the landing page and its routes.
func WebPage(srv *web.Server) Page { return webPage{srv} }

type webPage struct{ srv *web.Server }

func (p webPage) Build(s *schedule.Schedule, set *feed.Set) (any, error) { return p.srv.Build(s, set) }
func (p webPage) Show(built any)                                         { p.srv.Show(built.(*web.Page)) }

// Mailer plans reminders: Load plans the outbox for a new schedule in
// one transaction and, only if that succeeds, makes it the one reminders
// are built from; Replan plans again for the current one (subscribers
// changed).
type Mailer interface {
	Load(ctx context.Context, s *schedule.Schedule, set *feed.Set) error
	Replan(ctx context.Context) error
}

// Config is what a Pipeline needs. Path, Store and Feeds are required.
type Config struct {
	Path   string // events.toml
	Store  *store.Store
	Feeds  *feed.Handler
	Page   Page   // nil: no page
	Mailer Mailer // nil: no reminders
	Log    *slog.Logger
	// Reloaded, if set, is told the result of every reload (metrics).
	Reloaded func(err error, now time.Time)
	// Memory, if set, is told when a build begins and when it is over:
	// after its snapshot is swapped in, or after it failed.
	Memory Memory
	Now    func() time.Time // default time.Now
}

// Memory is the process's memory policy around builds, which run one at
// a time: a build transiently allocates many times what it keeps
// (cmd/convene/memory.go).
type Memory interface {
	Building()
	Built(swapped bool)
}

// Pipeline reloads the schedule. Reload and Current are safe to call
// from several goroutines; reloads run one at a time.
type Pipeline struct {
	cfg  Config
	name string // the absolute path: the key of the last good text in the store

	mu     sync.Mutex // one reload at a time
	saved  saved      // what this pipeline last kept in the state; under mu
	cur    atomic.Pointer[Snapshot]
	failed atomic.Pointer[error]       // the last reload's error, nil after a good one
	tried  atomic.Pointer[Fingerprint] // the text the last reload read
	loaded chan struct{}               // closed by the first swap
	// building is set by a build and cleared by built, after the swap
	// or the failure; buildFrom is the snapshot served when it began.
	// Under mu.
	building  bool
	buildFrom *Snapshot
}

// New returns a pipeline for cfg. It does no I/O.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Path == "" || cfg.Store == nil || cfg.Feeds == nil {
		return nil, errors.New("reload: Path, Store and Feeds are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	name, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, err
	}
	return &Pipeline{cfg: cfg, name: name, loaded: make(chan struct{})}, nil
}

// Loaded is closed once the first snapshot is served.
func (p *Pipeline) Loaded() <-chan struct{} { return p.loaded }

// Current returns the snapshot being served, nil before the first.
func (p *Pipeline) Current() *Snapshot { return p.cur.Load() }

// Ready reports whether a snapshot is served: the error says why not.
// After a failed reload the previous snapshot is still served, so Ready
// holds; Warning names the failure.
func (p *Pipeline) Ready(context.Context) error {
	if p.cur.Load() != nil {
		return nil
	}
	if err := p.failed.Load(); err != nil {
		return fmt.Errorf("%s did not load: %w", p.cfg.Path, *err)
	}
	return errors.New("loading " + p.cfg.Path)
}

// Warning describes the last reload when it failed while an older
// snapshot stays served; "" otherwise.
func (p *Pipeline) Warning() string {
	err := p.failed.Load()
	if err == nil || p.cur.Load() == nil {
		return ""
	}
	return fmt.Sprintf("the last reload of %s failed, serving the schedule loaded %s: %v",
		p.cfg.Path, p.cur.Load().Loaded.UTC().Format(time.RFC3339), *err)
}

// Start loads the schedule when the daemon starts. When events.toml does
// not load, it serves the last good text kept in the state file, if any,
// and still returns the error, so that the caller logs it.
func (p *Pipeline) Start(ctx context.Context) error {
	err := p.Reload(ctx)
	if err == nil || p.cur.Load() != nil {
		return err
	}
	data, loaded, serr := p.cfg.Store.Source(ctx, p.name)
	if serr != nil {
		if !errors.Is(serr, store.ErrNotFound) {
			p.cfg.Log.Error("read the last good schedule from the state file", "err", serr)
		}
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.built()
	snap, ferr := p.build(ctx, nil, schedule.TextOf(data), p.name+" (last good copy in the state file)")
	if ferr != nil {
		p.cfg.Log.Error("the last good schedule in the state file does not load either", "err", ferr)
		return err
	}
	snap.Fallback = true
	p.swap(snap)
	p.cfg.Log.Warn("serving the last good schedule from the state file", "config", p.cfg.Path,
		"loaded", loaded, "sessions", len(snap.Schedule.Sessions), "series", len(snap.Schedule.Series))
	return err
}

// Reload reads events.toml and, if it loads, swaps in a new snapshot.
// On error the previous snapshot stays served.
func (p *Pipeline) Reload(ctx context.Context) error {
	return p.reloadText(ctx, nil)
}

// reloadText is Reload of t, events.toml just opened by the caller (nil:
// open it).
func (p *Pipeline) reloadText(ctx context.Context, t *schedule.Text) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.built()
	start := p.cfg.Now()
	snap, err := p.reload(ctx, t)
	// Counted before the swap, so that whoever sees the new snapshot
	// sees it counted.
	if err != nil {
		p.failed.Store(&err)
	} else {
		p.failed.Store(nil)
	}
	if p.cfg.Reloaded != nil {
		p.cfg.Reloaded(err, p.cfg.Now())
	}
	if snap == nil {
		return err
	}
	p.swap(snap)
	for _, w := range snap.Schedule.Warnings {
		p.cfg.Log.Warn("schedule warning", "warning", w.Error())
	}
	p.cfg.Log.Info("schedule loaded", "config", p.cfg.Path, "sessions", len(snap.Schedule.Sessions),
		"series", len(snap.Schedule.Series), "etag", snap.Feeds.All.ETag, "took", time.Since(start))
	return nil
}

// Fingerprint identifies a text within the process (schedule.Text.Sum):
// equal texts have equal fingerprints, and different ones, by chance,
// the same one in 2^64.
type Fingerprint uint64

// rereads is how many times a reload opens the file again when it was
// written in place while being read (schedule.ErrChanged).
const rereads = 3

// reload reads the file, unless t holds it, and builds its snapshot;
// nil when the text did not change, and then only the reminders are
// planned again. The file is read in small pieces and hashed, then
// read again only where it changed (schedule.ReparseText): nothing as
// large as the file is allocated for an edit or for unchanged bytes.
func (p *Pipeline) reload(ctx context.Context, t *schedule.Text) (*Snapshot, error) {
	for try := 1; ; try++ {
		snap, err := p.reloadOnce(ctx, t)
		if !errors.Is(err, schedule.ErrChanged) || try == rereads {
			return snap, err
		}
		p.cfg.Log.Debug("the schedule changed while it was read; reading it again", "config", p.cfg.Path)
		t = nil
	}
}

func (p *Pipeline) reloadOnce(ctx context.Context, t *schedule.Text) (*Snapshot, error) {
	prev := p.cur.Load()
	if t == nil {
		var err error
		if t, err = schedule.OpenText(p.cfg.Path, scheduleOf(prev)); err != nil {
			return nil, err
		}
	}
	defer t.Close()
	sum := Fingerprint(t.Sum())
	p.tried.Store(&sum)
	if prev != nil && !prev.Fallback && prev.Sum == sum {
		// Nothing to render; subscribers may have changed.
		if p.cfg.Mailer != nil {
			if err := p.cfg.Mailer.Replan(ctx); err != nil {
				return nil, fmt.Errorf("plan reminders: %w", err)
			}
		}
		p.cfg.Log.Debug("schedule unchanged", "config", p.cfg.Path)
		return nil, nil
	}
	return p.build(ctx, prev, t, p.cfg.Path)
}

// build runs every step that can fail, in order, into a new snapshot.
// The last step, planning the reminders, commits them to the outbox only
// if it succeeds; swap then makes everything else visible.
func (p *Pipeline) build(ctx context.Context, prev *Snapshot, text *schedule.Text, name string) (*Snapshot, error) {
	if p.cfg.Memory != nil && !p.building {
		p.building, p.buildFrom = true, prev
		p.cfg.Memory.Building()
	}
	now := p.cfg.Now()
	var prevSched *schedule.Schedule
	var prevSet *feed.Set
	if prev != nil {
		prevSched, prevSet = prev.Schedule, prev.Feeds
	}
	var steps []any // how long each step took, for the log
	step := func(name string, start time.Time) {
		steps = append(steps, name, time.Since(start).Round(time.Microsecond))
	}
	t := time.Now()
	s, err := schedule.ReparseText(prevSched, name, text)
	if err != nil {
		return nil, err
	}
	step("load", t)
	// The text is kept as the last good one while the rest is built,
	// writing it costs about as much as rendering an edit. Every return
	// waits for it, so that an older text is never written after a
	// newer one.
	sum := Fingerprint(text.Sum())
	kept := make(chan error, 1)
	if prev == nil || prev.Sum != sum {
		go func() { kept <- p.keep(ctx, prev, s, text, now) }()
	} else {
		kept <- nil
	}
	waited := false
	var keepErr error
	keep := func() error {
		if !waited {
			keepErr, waited = <-kept, true
		}
		return keepErr
	}
	defer keep()
	t = time.Now()
	set, err := feed.Update(ctx, prevSet, s, p.cfg.Store, now)
	if err != nil {
		return nil, fmt.Errorf("render feeds: %w", err)
	}
	step("render", t)
	snap := &Snapshot{Schedule: s, Feeds: set, Sum: sum, Loaded: now}
	if p.cfg.Page != nil {
		t = time.Now()
		if snap.Page, err = p.cfg.Page.Build(s, set); err != nil {
			return nil, fmt.Errorf("render page: %w", err)
		}
		step("page", t)
	}
	t = time.Now()
	if err := keep(); err != nil {
		return nil, fmt.Errorf("keep the schedule in the state file: %w", err)
	}
	step("keep", t)
	if p.cfg.Mailer != nil {
		t = time.Now()
		if err := p.cfg.Mailer.Load(ctx, s, set); err != nil {
			return nil, fmt.Errorf("plan reminders: %w", err)
		}
		step("plan", t)
	}
	p.cfg.Log.Debug("reload steps", steps...)
	return snap, nil
}

// saved is the text a pipeline kept last in the state, by its
// fingerprint and as the store identifies it, and how many edits of the
// whole text, of how many bytes, the state holds for it.
type saved struct {
	sum          Fingerprint // 0 when unknown
	kept         store.Kept
	edits, bytes int
}

// Kept as edits, the text is written whole again after maxEdits of them,
// or once they hold a quarter of its size: Store.Source applies them all
// to the whole text.
const maxEdits = 64

// keep keeps t, the text of s, as the last good one in the state: as an
// edit of the one kept before when this pipeline kept that one and s
// was reparsed from its schedule, prev's, and whole otherwise. The edit
// is what ReparseText found changed, to a block (4 KiB): an edit of one
// session of 100,000 writes a few KiB instead of 30 MB, and reads no
// more of the file. Written whole, the text is read whole.
func (p *Pipeline) keep(ctx context.Context, prev *Snapshot, s *schedule.Schedule, t *schedule.Text, now time.Time) error {
	last := p.saved
	p.saved = saved{} // unknown, until written
	sum := Fingerprint(t.Sum())
	if prev != nil && last.sum == prev.Sum && last.sum != 0 && last.edits < maxEdits && last.bytes < t.Size()/4 {
		if prefix, suffix, ok := s.EditOf(prev.Schedule); ok {
			middle, err := t.Range(prefix, t.Size()-suffix)
			if err != nil {
				return err
			}
			k, ok, err := p.cfg.Store.SaveSourceEdit(ctx, p.name, last.kept, prefix, suffix, middle, now)
			if err != nil {
				return err
			}
			if ok {
				p.saved = saved{sum, k, last.edits + 1, last.bytes + len(middle)}
				return nil
			}
		}
	}
	data, err := t.Bytes()
	if err != nil {
		return err
	}
	k, err := p.cfg.Store.SaveSource(ctx, p.name, data, now)
	if err != nil {
		return err
	}
	p.saved = saved{sum: sum, kept: k}
	return nil
}

// built tells the memory policy that the build begun since the last
// call, if any, is over: its snapshot swapped in, or failed.
func (p *Pipeline) built() {
	if p.building {
		p.building = false
		p.cfg.Memory.Built(p.cur.Load() != p.buildFrom)
		p.buildFrom = nil
	}
}

// swap makes snap the one served. It cannot fail.
func (p *Pipeline) swap(snap *Snapshot) {
	p.cfg.Feeds.Swap(snap.Feeds)
	if p.cfg.Page != nil {
		p.cfg.Page.Show(snap.Page)
	}
	if p.cur.Swap(snap) == nil {
		close(p.loaded)
	}
}
