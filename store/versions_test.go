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
		if got := stampAgain(t, filepath.Join(dir, "cached.db"), now.Add(time.Hour), prints); !reflect.DeepEqual(got, want) {
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

// TestStampMatchesReference: over random rounds of stamps (keys added,
// removed, their text changed by one byte or back to an earlier text,
// left alone, at the same second or later), a store that keeps hashes of
// the fingerprints, opened exclusively or not, on each backend, gives
// the versions of a reference that compares the texts themselves (how
// Stamp worked before it kept hashes), and the table holds each key's
// last text whole, as replicas and older versions read it.
func TestStampMatchesReference(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		for _, exclusive := range []bool{true, false} {
			t.Run(fmt.Sprint("exclusive=", exclusive), func(t *testing.T) {
				for seed := range uint64(3) {
					stampMatchesReference(t, newState(), exclusive, seed) // a new state for each seed
				}
			})
		}
	})
}

// referenceRow is a row as the reference keeps it: the text itself.
type referenceRow struct {
	print             string
	sequence          int
	created, modified int64
}

// referenceStamp is Stamp as it was when rows held their text.
func referenceStamp(rows map[string]referenceRow, now time.Time, prints map[string]string) map[string]Version {
	now = now.UTC().Truncate(time.Second)
	out := map[string]Version{}
	for key, print := range prints {
		r, ok := rows[key]
		switch {
		case !ok:
			r = referenceRow{print, 0, now.Unix(), now.Unix()}
		case r.print != print:
			r.print = print
			r.sequence++
			r.modified = max(now.Unix(), r.modified+1)
		}
		rows[key] = r
		out[key] = Version{r.sequence, time.Unix(r.created, 0).UTC(), time.Unix(r.modified, 0).UTC()}
	}
	return out
}

func stampMatchesReference(t *testing.T, state string, exclusive bool, seed uint64) {
	ctx := context.Background()
	var st *Store
	var err error
	if exclusive {
		st, err = OpenExclusive(state)
	} else {
		st, err = Open(state)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(17, seed))
	// Texts like an event's, some of them a byte apart.
	base := strings.Repeat("BEGIN:VEVENT\r\nSUMMARY:Reading group ü\r\n", 20)
	text := func() string {
		r := []rune(base)[:rng.IntN(len(base)/2)]
		if len(r) > 0 {
			r[rng.IntN(len(r))] += rune(1 + rng.IntN(3))
		}
		return string(r)
	}
	ref := map[string]referenceRow{}
	prints := map[string]string{}
	var seen []string
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 40 {
		for k := range prints {
			switch rng.IntN(8) {
			case 0:
				prints[k] = text()
			case 1:
				prints[k] = seen[rng.IntN(len(seen))] // an earlier text again
			case 2:
				delete(prints, k)
			}
		}
		for range rng.IntN(30) {
			prints[fmt.Sprint("k", rng.IntN(200))] = text()
		}
		for _, p := range prints {
			seen = append(seen, p)
		}
		now = now.Add(time.Duration(rng.IntN(3)) * time.Second) // sometimes the same second
		got, err := st.Stamp(ctx, now, prints)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceStamp(ref, now, prints); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d, round %d: the versions differ from the reference's", seed, round)
		}
	}
	rows, err := st.db.QueryContext(ctx, `SELECT key, fingerprint FROM versions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var key, print string
		if err := rows.Scan(&key, &print); err != nil {
			t.Fatal(err)
		}
		if n++; ref[key].print != print {
			t.Errorf("seed %d: the table holds for %s another text than the last stamped", seed, key)
		}
	}
	if n != len(ref) {
		t.Errorf("seed %d: the table holds %d rows, want %d", seed, n, len(ref))
	}
	// Another store reads the same versions from the table (a replica,
	// or the next start).
	st.Close()
	got := stampAgain(t, state, now.Add(time.Hour), prints)
	if want := referenceStamp(ref, now.Add(time.Hour), prints); !reflect.DeepEqual(got, want) {
		t.Errorf("seed %d: a store opened again gives other versions than the reference", seed)
	}
}

// stampAgain opens state anew, as another process would, and stamps
// prints at now.
func stampAgain(t *testing.T, state string, now time.Time, prints map[string]string) map[string]Version {
	t.Helper()
	st, err := Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Stamp(context.Background(), now, prints)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestStampKeepsCallersKeys: a store opened exclusively on a state that
// has versions keeps, for each unchanged key, the key string its caller
// gave (which the caller holds anyway), not the copy it read from the
// table, and a hash of the text, not the text.
func TestStampKeepsCallersKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stamp(ctx, now, map[string]string{"event-a": "BEGIN:VEVENT a", "event-b": "BEGIN:VEVENT b"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = OpenExclusive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := map[string]string{}
	prints := map[string]string{}
	for _, k := range []string{"event-a", "event-b"} {
		kk := strings.Clone(k)
		keys[k] = kk
		prints[kk] = "BEGIN:VEVENT " + k[len(k)-1:]
	}
	if _, err := st.Stamp(ctx, now.Add(time.Hour), prints); err != nil {
		t.Fatal(err)
	}
	for k, r := range st.versions {
		if unsafe.StringData(k) != unsafe.StringData(keys[k]) {
			t.Errorf("key %s: the store keeps its own copy of the key read from the table", k)
		}
		if r.print != hashPrint(prints[k]) {
			t.Errorf("key %s: the store keeps another hash than its text's", k)
		}
	}
}
