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
	"hash/maphash"
	"io"
	"log/slog"
	"os"
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
	snap, ferr := p.build(ctx, nil, data, fingerprint(data), p.name+" (last good copy in the state file)")
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
	return p.reloadText(ctx, nil, 0)
}

// reloadText is Reload of data, the text just read from events.toml by
// the caller, whose fingerprint is sum (data nil: read it).
func (p *Pipeline) reloadText(ctx context.Context, data []byte, sum Fingerprint) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.built()
	start := p.cfg.Now()
	snap, err := p.reload(ctx, data, sum)
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

// Fingerprint identifies a text within the process: equal texts have
// equal fingerprints, and different ones, by chance, the same one in
// 2^64. It is not kept anywhere, so a fast hash with a seed of the
// process's own does: 2.7 MB (10,000 sessions) in a third of a
// millisecond, where SHA-256 took two.
type Fingerprint uint64

var textSeed = maphash.MakeSeed()

func fingerprint(data []byte) Fingerprint { return Fingerprint(maphash.Bytes(textSeed, data)) }

// reload reads the file, unless data holds it (with its fingerprint
// sum), and builds its snapshot; nil when the text did not change, and
// then only the reminders are planned again. The text is fingerprinted
// once (9 ms at 100,000 sessions).
func (p *Pipeline) reload(ctx context.Context, data []byte, sum Fingerprint) (*Snapshot, error) {
	prev := p.cur.Load()
	if data == nil {
		served := ""
		if prev != nil && !prev.Fallback {
			served = prev.Schedule.Text()
		}
		// Into a new buffer, which the schedule keeps as its text; one
		// kept for the next read would be as large as the file (2.9 MB
		// at 10,000 sessions) and held all the time. The same bytes as
		// served are not read into one at all.
		var err error
		var same bool
		if data, same, err = readChanged(p.cfg.Path, served); err != nil {
			return nil, err
		}
		if same {
			sum = prev.Sum
		} else {
			sum = fingerprint(data)
		}
	}
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
	return p.build(ctx, prev, data, sum, p.cfg.Path)
}

// readChanged reads the file at path into a new buffer, unless it holds
// text, the text served: then same is true, and it was compared in
// small pieces, not read whole into memory (a SIGHUP with the file
// unchanged allocates nothing as large as it).
func readChanged(path, text string) (data []byte, same bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if fi, err := f.Stat(); text == "" || err != nil || fi.Size() != int64(len(text)) {
		data, err := schedule.ReadFile(path)
		return data, false, err
	}
	buf := make([]byte, 64<<10)
	off := 0
	for {
		n, err := io.ReadFull(f, buf)
		if n > len(text)-off {
			break // grew since Stat
		}
		if string(buf[:n]) != text[off:off+n] {
			// Changed: what was read so far is kept, not read again
			// (an edit near the end of 30 MB), and the rest read
			// after it, one byte more than Stat said, to see growth.
			data = make([]byte, off+n, len(text)+1)
			copy(data, text[:off])
			copy(data[off:], buf[:n])
			if n == len(buf) {
				m, err := io.ReadFull(f, data[off+n:cap(data)])
				data = data[:off+n+m]
				if err == nil { // grew since Stat
					data, err = schedule.ReadFile(path)
					return data, false, err
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, false, err
				}
			}
			return data, false, nil
		}
		off += n
		if (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && off == len(text) {
			return nil, true, nil
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break // shorter than Stat said
		}
		if err != nil {
			return nil, false, err
		}
	}
	data, err = schedule.ReadFile(path)
	return data, false, err
}

// build runs every step that can fail, in order, into a new snapshot.
// The last step, planning the reminders, commits them to the outbox only
// if it succeeds; swap then makes everything else visible.
func (p *Pipeline) build(ctx context.Context, prev *Snapshot, data []byte, sum Fingerprint, name string) (*Snapshot, error) {
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
	s, err := schedule.Reparse(prevSched, name, data)
	if err != nil {
		return nil, err
	}
	step("load", t)
	// The text is kept as the last good one while the rest is built,
	// writing it costs about as much as rendering an edit. Every return
	// waits for it, so that an older text is never written after a
	// newer one.
	kept := make(chan error, 1)
	if prev == nil || prev.Sum != sum {
		go func() { kept <- p.keep(ctx, s, data, now) }()
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

// saved is the text a pipeline kept last in the state, as the store
// identifies it, and how many edits of the whole text, of how many
// bytes, the state holds for it.
type saved struct {
	text         string // "" when unknown
	kept         store.Kept
	edits, bytes int
}

// Kept as edits, the text is written whole again after maxEdits of them,
// or once they hold a quarter of its size: Store.Source applies them all
// to the whole text.
const maxEdits = 64

// keep keeps data, the text of s, as the last good one in the state: as
// an edit of the one kept before when this pipeline kept that one, and
// whole otherwise. An edit of one session of 100,000 writes a few
// hundred bytes instead of 30 MB.
func (p *Pipeline) keep(ctx context.Context, s *schedule.Schedule, data []byte, now time.Time) error {
	text := s.Text()
	last := p.saved
	p.saved = saved{} // unknown, until written
	if last.text != "" && text != "" && last.edits < maxEdits && last.bytes < len(text)/4 {
		prefix, suffix := s.Unchanged(last.text)
		middle := data[prefix : len(data)-suffix]
		k, ok, err := p.cfg.Store.SaveSourceEdit(ctx, p.name, last.kept, prefix, suffix, middle, now)
		if err != nil {
			return err
		}
		if ok {
			p.saved = saved{text, k, last.edits + 1, last.bytes + len(middle)}
			return nil
		}
	}
	k, err := p.cfg.Store.SaveSource(ctx, p.name, data, now)
	if err != nil {
		return err
	}
	p.saved = saved{text: text, kept: k}
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
