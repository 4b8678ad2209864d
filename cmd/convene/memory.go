package main

import (
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"github.com/convene/convene/reload"
)

// memoryPolicy keeps serve's resident size near what it serves. Go's
// collector lets the heap grow to twice the live size between
// collections (GOGC=100), which the garbage of requests reaches: at
// 10,000 sessions 28 MB live became about 57 MB of heap. Unless the
// operator set GOMEMLIMIT (a limit of their own, or off), after each
// swap of a new snapshot serve hands the build's garbage back to the
// system once and sets a soft memory limit a little above what it then
// holds. A build is not held to it (a full render transiently needs
// many times what is kept): the limit is lifted while a reload builds.
//
// Between reloads the live heap may grow (more connections, the year
// pages of the archive asked for): after each collection the limit is
// raised to keep the same headroom above it, and it falls back as the
// heap does, never below what the last swap set, so that the collector
// never runs continuously against a limit the heap outgrew.
type memoryPolicy struct {
	// own: the operator set GOMEMLIMIT; their limit is left alone.
	own bool
	log *slog.Logger

	mu       sync.Mutex
	closed   bool // stops following collections
	building bool
	allocs   uint64        // allocated before the build began
	floor    int64         // the limit set after the last swap; 0: none set
	swapped  runtimeMemory // what the runtime held then
}

var _ reload.Memory = (*memoryPolicy)(nil)

// newMemoryPolicy returns the policy for a process whose GOMEMLIMIT is
// env ("" when unset).
func newMemoryPolicy(env string, log *slog.Logger) *memoryPolicy {
	m := &memoryPolicy{own: env != "", log: log}
	if !m.own {
		m.watchCollections()
	}
	return m
}

// minHeadroom is the least room for garbage above the live heap: about
// 2,700 requests' worth of net/http's garbage between collections.
const minHeadroom = 8 << 20

// headroom is the room left for garbage above a live heap of live bytes.
func headroom(live uint64) int64 { return max(int64(live/4), minHeadroom) }

// Building lifts the limit for the build about to begin.
func (m *memoryPolicy) Building() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.building = true
	m.allocs = readRuntime().allocs
	if !m.own {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// Built sets the limit again, after the build's snapshot was swapped in
// or the build failed. After the first swap, and after a build that
// allocated more than twice what the process keeps (a full render), the
// garbage is handed back and the limit set anew. After an edit of a few
// meetings, or a failure, the last limit is set again, and the collector
// takes the build's garbage when the heap reaches it: a forced
// collection would cost more than the reload (its heap is marked whole,
// whatever the edit: 10 ms of CPU at 10,000 sessions, ten times that at
// 100,000).
func (m *memoryPolicy) Built(swapped bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.building {
		return
	}
	m.building = false
	r := readRuntime()
	large := swapped && r.allocs-m.allocs > 2*r.live
	if m.own {
		// The operator's limit governs the heap; still, hand a full
		// render's garbage back.
		if large {
			debug.FreeOSMemory()
		}
		return
	}
	if m.floor != 0 && !large || !swapped {
		if m.floor != 0 {
			debug.SetMemoryLimit(m.limit(r))
		}
		return
	}
	debug.FreeOSMemory()
	r = readRuntime()
	m.floor, m.swapped = r.total+headroom(r.live), r
	debug.SetMemoryLimit(m.floor)
	m.log.Debug("memory limit set", "limit", m.floor, "live_heap", r.live, "runtime_total", r.total)
}

// limit is the limit for a runtime holding r, found after the last
// collection: the one set at the last swap, raised by what the stacks,
// the runtime's metadata and the live heap (with its headroom) grew
// since. Stacks and buffers of connections grow with the load, and the
// year pages asked for stay.
func (m *memoryPolicy) limit(r runtimeMemory) int64 {
	was := m.swapped
	grown := r.nonHeap - was.nonHeap + int64(r.live) - int64(was.live) + headroom(r.live) - headroom(was.live)
	return m.floor + max(grown, 0)
}

// collected follows the live heap between reloads: run after each
// collection.
func (m *memoryPolicy) collected() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.building || m.floor == 0 || m.closed {
		return
	}
	debug.SetMemoryLimit(m.limit(readRuntime()))
}

// watchCollections calls collected after every collection, for as long
// as the process runs: a cleanup of an object nobody holds runs once
// the next collection has found it unreachable, and arms the next one.
func (m *memoryPolicy) watchCollections() {
	var arm func()
	arm = func() {
		// With a pointer, so that it is not one of the tiny objects
		// the allocator packs together and frees together.
		runtime.AddCleanup(&struct{ _ *byte }{}, func(struct{}) {
			m.collected()
			m.mu.Lock()
			closed := m.closed
			m.mu.Unlock()
			if !closed {
				arm()
			}
		}, struct{}{})
	}
	arm()
}

// Close stops following collections and lifts the limit it set.
func (m *memoryPolicy) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if !m.own {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// runtimeMemory is what the runtime reports of its memory.
type runtimeMemory struct {
	allocs  uint64 // allocated since the process started
	live    uint64 // the heap's objects found live by the last collection
	nonHeap int64  // of total, what is not the heap's spans: stacks, the runtime's metadata
	total   int64  // the runtime's memory (heap, stacks, metadata) not returned to the system
}

func readRuntime() runtimeMemory {
	s := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	total := int64(s[2].Value.Uint64() - s[3].Value.Uint64())
	return runtimeMemory{
		allocs:  s[0].Value.Uint64(),
		live:    s[1].Value.Uint64(),
		total:   total,
		nonHeap: total - int64(s[4].Value.Uint64()+s[5].Value.Uint64()+s[6].Value.Uint64()),
	}
}
