// Package overlay provides Map, an immutable map of which a new version
// that changes a few entries is made without copying the others.
//
// A Map is a base map, shared by many versions and never modified, and
// the entries this version changed since (set or removed). Change copies
// those changes and adds its own; once they outgrow about four times the
// square root of the base's size, they are folded into a new base. An
// edit of c entries of a map of n then costs O(c + √n), amortized,
// instead of the O(n) of copying the map, and every version stays valid
// and unchanged: a snapshot built from one never sees the next.
package overlay

import "math"

// Map is an immutable map from K to V. The zero value and nil are empty
// maps. It is safe to read from several goroutines.
type Map[K comparable, V any] struct {
	base  map[K]V         // never modified once a Map holds it
	delta map[K]change[V] // this version's changes to base
	n     int
}

type change[V any] struct {
	v       V
	removed bool
}

// From returns a Map holding m, which the caller must not modify after.
func From[K comparable, V any](m map[K]V) *Map[K, V] {
	return &Map[K, V]{base: m, n: len(m)}
}

// Get returns the value of k, and whether m holds k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if m == nil {
		var zero V
		return zero, false
	}
	if c, ok := m.delta[k]; ok {
		return c.v, !c.removed
	}
	v, ok := m.base[k]
	return v, ok
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}

// All yields every entry, in no particular order.
func (m *Map[K, V]) All(yield func(K, V) bool) {
	if m == nil {
		return
	}
	for k, c := range m.delta {
		if !c.removed && !yield(k, c.v) {
			return
		}
	}
	for k, v := range m.base {
		if _, changed := m.delta[k]; !changed && !yield(k, v) {
			return
		}
	}
}

// Change returns a Map holding m's entries with those of remove removed,
// and then those of set put. m itself does not change.
func (m *Map[K, V]) Change(remove []K, set map[K]V) *Map[K, V] {
	if m == nil {
		m = &Map[K, V]{}
	}
	out := &Map[K, V]{base: m.base, n: m.n, delta: make(map[K]change[V], len(m.delta)+len(remove)+len(set))}
	for k, c := range m.delta {
		out.delta[k] = c
	}
	for _, k := range remove {
		if _, ok := out.Get(k); !ok {
			continue
		}
		out.n--
		if _, inBase := out.base[k]; inBase {
			out.delta[k] = change[V]{removed: true}
		} else {
			delete(out.delta, k)
		}
	}
	for k, v := range set {
		if _, ok := out.Get(k); !ok {
			out.n++
		}
		out.delta[k] = change[V]{v: v}
	}
	if len(out.delta) > 64+4*int(math.Sqrt(float64(len(out.base)))) {
		return out.flat()
	}
	return out
}

// flat returns m with its changes folded into a new base.
func (m *Map[K, V]) flat() *Map[K, V] {
	base := make(map[K]V, m.n)
	for k, v := range m.All {
		base[k] = v
	}
	return From(base)
}
