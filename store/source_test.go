package store

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSourceEdits: over random edits of a text (bytes inserted, removed
// and replaced anywhere), kept as edits or whole, Source gives the text
// kept last; an edit of a text other than the one kept last (another
// process wrote meanwhile: another whole text, or more or fewer edits)
// writes nothing and is told so.
func TestSourceEdits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		st, err := Open(newState())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rng := rand.New(rand.NewPCG(7, 8))
		now := time.Unix(1700000000, 0)
		text := bytes.Repeat([]byte("[[sessions]]\ntitle = \"x\"\n"), 40)
		kept, err := st.SaveSource(ctx, "a", text, now)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 60 {
			i := rng.IntN(len(text) + 1)
			j := min(len(text), i+rng.IntN(30))
			next := append(append(append([]byte{}, text[:i]...), bytes.Repeat([]byte{byte('a' + round%26)}, rng.IntN(20))...), text[j:]...)
			now = now.Add(time.Second)
			switch {
			case rng.IntN(10) == 0:
				if kept, err = st.SaveSource(ctx, "a", next, now); err != nil {
					t.Fatal(err)
				}
			case rng.IntN(10) == 0: // after a text no longer kept: refused
				stale := []Kept{{kept.base, kept.edits + 1}, {edits: kept.edits}}
				if kept.edits > 0 {
					stale = append(stale, Kept{kept.base, kept.edits - 1})
				}
				for _, k := range stale {
					if _, ok, err := st.SaveSourceEdit(ctx, "a", k, 0, 0, []byte("wrong"), now); ok || err != nil {
						t.Fatalf("round %d: an edit after %+v, not %+v = %v, %v", round, k, kept, ok, err)
					}
				}
				continue
			default:
				p := 0
				for p < min(len(text), len(next)) && text[p] == next[p] {
					p++
				}
				s := 0
				for s < min(len(text), len(next))-p && text[len(text)-1-s] == next[len(next)-1-s] {
					s++
				}
				var ok bool
				kept, ok, err = st.SaveSourceEdit(ctx, "a", kept, p, s, next[p:len(next)-s], now)
				if !ok || err != nil {
					t.Fatalf("round %d: SaveSourceEdit = %v, %v", round, ok, err)
				}
			}
			text = next
			got, loaded, err := st.Source(ctx, "a")
			if err != nil || !bytes.Equal(got, text) || !loaded.Equal(now.UTC()) {
				t.Fatalf("round %d: Source = %q, %v, %v; want %q, %v", round, got, loaded, err, text, now.UTC())
			}
		}
		if _, ok, err := st.SaveSourceEdit(ctx, "b", Kept{}, 0, 0, []byte("x"), now); ok || err != nil {
			t.Errorf("an edit of a text never kept = %v, %v", ok, err)
		}
	})
}
