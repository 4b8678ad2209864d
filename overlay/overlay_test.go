package overlay

import (
	"maps"
	"math/rand/v2"
	"testing"
)

// TestMapMatchesMap: over random changes (entries set, replaced and
// removed, keys that are not there removed, the base folded), every
// version holds what a plain map changed the same way holds, and older
// versions keep what they held.
func TestMapMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[int]int{}
	for i := range 500 {
		want[i] = i
	}
	m := From(maps.Clone(want))
	type version struct {
		m    *Map[int, int]
		want map[int]int
	}
	var versions []version
	for round := range 1000 {
		var remove []int
		set := map[int]int{}
		for range rng.IntN(8) {
			k := rng.IntN(1500)
			if rng.IntN(2) == 0 {
				remove = append(remove, k)
			} else {
				set[k] = round
			}
		}
		m = m.Change(remove, set)
		for _, k := range remove {
			delete(want, k)
		}
		maps.Copy(want, set)
		if round%50 == 0 {
			versions = append(versions, version{m, maps.Clone(want)})
		}
		check(t, round, m, want)
	}
	for i, v := range versions {
		check(t, i, v.m, v.want)
	}
}

func check(t *testing.T, round int, m *Map[int, int], want map[int]int) {
	t.Helper()
	got := map[int]int{}
	for k, v := range m.All {
		if _, twice := got[k]; twice {
			t.Fatalf("round %d: All yields %d twice", round, k)
		}
		got[k] = v
	}
	if !maps.Equal(got, want) || m.Len() != len(want) {
		t.Fatalf("round %d: Map holds %d entries (Len %d), want %d", round, len(got), m.Len(), len(want))
	}
	for k := range 1500 {
		v, ok := m.Get(k)
		w, wok := want[k]
		if v != w || ok != wok {
			t.Fatalf("round %d: Get(%d) = %d, %v, want %d, %v", round, k, v, ok, w, wok)
		}
	}
}

func TestNil(t *testing.T) {
	var m *Map[string, int]
	if _, ok := m.Get("a"); ok || m.Len() != 0 {
		t.Error("a nil Map is not empty")
	}
	if v, ok := m.Change(nil, map[string]int{"a": 1}).Get("a"); !ok || v != 1 {
		t.Error("Change of a nil Map lost what it set")
	}
}
