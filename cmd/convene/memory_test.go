package main

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/reload"
	"github.com/convene/convene/schedule"
)

// limitPage is a page step that records the memory limit in force while
// a reload builds, and fails when told to.
type limitPage struct {
	during  int64 // the limit during the last Build
	fail    bool
	garbage int // bytes to allocate and drop, as a full render does
}

var sink []byte

func (p *limitPage) Build(*schedule.Schedule, *feed.Set) (any, error) {
	p.during = debug.SetMemoryLimit(-1)
	for range p.garbage >> 20 {
		sink = make([]byte, 1<<20)
	}
	sink = nil
	if p.fail {
		return nil, errors.New("the page fails")
	}
	return nil, nil
}

func (p *limitPage) Show(any) {}

// TestMemoryPolicy runs real reloads with serve's memory policy: the
// limit is lifted while a reload builds and set again after the swap
// and after a failed build, a little above what the process then holds;
// a limit of the operator's (GOMEMLIMIT) is left alone.
func TestMemoryPolicy(t *testing.T) {
	const mark = 1 << 40 // a limit set before: the operator's, say
	before := debug.SetMemoryLimit(mark)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	for _, env := range []string{"", "off", "48MiB"} {
		t.Run("GOMEMLIMIT="+env, func(t *testing.T) {
			debug.SetMemoryLimit(mark)
			config, st := opsState(t)
			m := newMemoryPolicy(env, slog.New(slog.DiscardHandler))
			defer m.Close()
			page := &limitPage{}
			p, err := reload.New(reload.Config{Path: config, Store: st, Feeds: &feed.Handler{}, Page: page, Memory: m})
			if err != nil {
				t.Fatal(err)
			}
			ours := env == ""
			// check that the limit was lifted during the build and is
			// set after it: after a swap, a little above what the
			// runtime holds once the garbage is handed back.
			check := func(when string, swapped bool) {
				t.Helper()
				after := debug.SetMemoryLimit(-1)
				if !ours {
					if page.during != mark || after != mark {
						t.Errorf("%s: limit %d during the build and %d after, want the operator's %d throughout", when, page.during, after, mark)
					}
					return
				}
				if page.during != math.MaxInt64 {
					t.Errorf("%s: limit during the build = %d, want none (%d)", when, page.during, int64(math.MaxInt64))
				}
				if after == math.MaxInt64 || after == mark {
					t.Errorf("%s: limit after the build = %d, want one set", when, after)
				}
				r := readRuntime()
				if swapped && after < r.total || after > r.total+headroom(r.live)+64<<20 {
					t.Errorf("%s: limit after the build = %d, want a little above the runtime's %d bytes", when, after, r.total)
				}
			}
			if err := p.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			check("first load", true)
			// An edit: a small build, whose garbage the limit set before
			// takes, with no collection forced.
			first, forced := debug.SetMemoryLimit(-1), forcedCollections()
			if err := os.WriteFile(config, []byte(opsSchedule+"\n# edited\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := p.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := forcedCollections() - forced; n != 0 {
				t.Errorf("a small edit forced %d collections, want none", n)
			}
			if after := debug.SetMemoryLimit(-1); ours && (page.during != math.MaxInt64 || after < first || after == math.MaxInt64) {
				t.Errorf("edit: limit %d during the build and %d after, want none and at least the %d set after the first load", page.during, after, first)
			}
			// A build that allocates more than twice what is kept (a
			// full render): its garbage is handed back and the limit set
			// anew.
			page.garbage = int(3*readRuntime().live) + 8<<20
			if err := os.WriteFile(config, []byte(opsSchedule+"\n# edited whole\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			forced = forcedCollections()
			if err := p.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			page.garbage = 0
			if n := forcedCollections() - forced; ours && n == 0 {
				t.Error("a full render's garbage was not handed back")
			}
			check("full render", true)
			swapLimit := debug.SetMemoryLimit(-1)
			if err := os.WriteFile(config, []byte(opsSchedule+"\n# edited again\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			page.fail = true
			if err := p.Reload(context.Background()); err == nil {
				t.Fatal("the reload did not fail")
			}
			check("failed build", false)
			if ours {
				// Collections between reloads keep the limit at or above
				// the one set after the last swap.
				runtime.GC()
				runtime.GC()
				if got := debug.SetMemoryLimit(-1); got < swapLimit && got != math.MaxInt64 {
					t.Errorf("limit after collections = %d, want at least the %d set after the last swap", got, swapLimit)
				}
			}
			m.Close()
			if got := debug.SetMemoryLimit(-1); ours && got != math.MaxInt64 || !ours && got != mark {
				t.Errorf("limit after Close = %d", got)
			}
		})
	}
}

// forcedCollections counts the collections runtime.GC and
// debug.FreeOSMemory forced.
func forcedCollections() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestServeMemoryLimit runs serve: with no GOMEMLIMIT it sets a limit
// once the schedule is loaded; with one it leaves the runtime's alone.
func TestServeMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	for _, env := range []string{"", "48MiB"} {
		t.Run("GOMEMLIMIT="+env, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", env)
			debug.SetMemoryLimit(math.MaxInt64)
			base, _ := startServe(t, opsDir(t))
			if env == "" {
				// Set just after the swap that made serve ready.
				waitFor(t, "a memory limit", func() bool { return debug.SetMemoryLimit(-1) != math.MaxInt64 })
				return
			}
			get(t, base+"/calendar.ics")
			if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
				t.Errorf("memory limit = %d, want the runtime's own", got)
			}
		})
	}
}
