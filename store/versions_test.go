package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"
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
