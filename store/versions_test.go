package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestStampCached: a store opened exclusively keeps the versions in
// memory and writes only what changed; over random rounds of edits it
// gives the same versions as a store that reads the table every time,
// and the file holds them all (a new process reads the same).
func TestStampCached(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		dir := t.TempDir()
		cached, err := OpenExclusive(filepath.Join(dir, "cached.db"))
		if err != nil {
			t.Fatal(err)
		}
		plain := openState(t, newState())
		rng := rand.New(rand.NewPCG(9, 9))
		prints := map[string]string{}
		for i := range 700 { // more than one INSERT batch
			prints[fmt.Sprint("k", i)] = "v0"
		}
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		for round := range 30 {
			for k := range prints {
				switch rng.IntN(20) {
				case 0:
					prints[k] = fmt.Sprint("v", round)
				case 1:
					delete(prints, k)
				}
			}
			prints[fmt.Sprint("new", round)] = "v"
			now = now.Add(time.Duration(rng.IntN(3)) * time.Second) // sometimes the same second
			a, err := cached.Stamp(ctx, now, prints)
			if err != nil {
				t.Fatal(err)
			}
			b, err := plain.Stamp(ctx, now, prints)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("round %d: the cached store's versions differ from the plain one's", round)
			}
		}
		want, _ := cached.Stamp(ctx, now, prints)
		cached.Close()
		again, err := Open(filepath.Join(dir, "cached.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		got, err := again.Stamp(ctx, now.Add(time.Hour), prints)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Error("the file does not hold the versions the cached store gave")
		}
	})
}

// BenchmarkStampEdit is the store's part of an edit on each backend: a
// state of 20,000 published keys, and an edit that changes 10 of them
// (the keys the feed stamps after an edit). On PostgreSQL, shared by
// replicas, each stamp reads the rows of its keys under the lock.
func BenchmarkStampEdit(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		all := map[string]string{}
		for i := range 20000 {
			all[fmt.Sprint("k", i)] = "v"
		}
		if _, err := s.Stamp(ctx, now, all); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			edit := map[string]string{}
			for j := range 10 {
				edit[fmt.Sprint("k", (i*10+j)%20000)] = fmt.Sprint("v", i)
			}
			if _, err := s.Stamp(ctx, now.Add(time.Duration(i)*time.Second), edit); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestStampKeepsCallersText: a store opened exclusively on a state that
// has versions keeps, for each unchanged key, the fingerprint its caller
// gave (which the caller holds anyway), not the copy it read from the
// table: the text of every event is then held once, not twice.
func TestStampKeepsCallersText(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stamp(ctx, now, map[string]string{"a": "BEGIN:VEVENT a", "b": "BEGIN:VEVENT b"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = OpenExclusive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	prints := map[string]string{"a": strings.Clone("BEGIN:VEVENT a"), "b": strings.Clone("BEGIN:VEVENT b")}
	if _, err := st.Stamp(ctx, now.Add(time.Hour), prints); err != nil {
		t.Fatal(err)
	}
	for k, print := range prints {
		if kept := st.versions[k].print; unsafe.StringData(kept) != unsafe.StringData(print) {
			t.Errorf("key %s: the store keeps its own copy of the text read from the table", k)
		}
	}
}
