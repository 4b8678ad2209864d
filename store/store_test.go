package store

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func stamp(t *testing.T, s *Store, now time.Time, prints map[string]string) map[string]Version {
	t.Helper()
	v, err := s.Stamp(context.Background(), now, prints)
	if err != nil {
		t.Fatalf("Stamp: %v", err)
	}
	if len(v) != len(prints) {
		t.Fatalf("Stamp returned %d versions for %d keys", len(v), len(prints))
	}
	return v
}

func TestStamp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		s := openState(t, newState())
		t0 := time.Date(2024, 1, 1, 12, 0, 0, 500, time.UTC)
		sec := func(n int) time.Time { return t0.Truncate(time.Second).Add(time.Duration(n) * time.Second) }

		tests := []struct {
			name   string
			now    time.Time
			prints map[string]string
			want   map[string]Version
		}{
			{
				name:   "new keys start at sequence 0, created = modified = now",
				now:    t0,
				prints: map[string]string{"a": "1", "b": "1"},
				want:   map[string]Version{"a": {0, sec(0), sec(0)}, "b": {0, sec(0), sec(0)}},
			},
			{
				name:   "unchanged keeps its version",
				now:    t0.Add(time.Hour),
				prints: map[string]string{"a": "1", "b": "1"},
				want:   map[string]Version{"a": {0, sec(0), sec(0)}, "b": {0, sec(0), sec(0)}},
			},
			{
				name:   "changed: sequence+1, modified = now, created kept",
				now:    t0.Add(time.Minute),
				prints: map[string]string{"a": "2", "b": "1"},
				want:   map[string]Version{"a": {1, sec(0), sec(60)}, "b": {0, sec(0), sec(0)}},
			},
			{
				name:   "clock went back: modified still moves forward",
				now:    t0.Add(-time.Hour),
				prints: map[string]string{"a": "3"},
				want:   map[string]Version{"a": {2, sec(0), sec(61)}},
			},
			{
				name:   "same second: modified still moves forward",
				now:    sec(61),
				prints: map[string]string{"a": "4"},
				want:   map[string]Version{"a": {3, sec(0), sec(62)}},
			},
			{
				name:   "a key left out keeps its version for when it returns",
				now:    t0.Add(2 * time.Hour),
				prints: map[string]string{"b": "1"},
				want:   map[string]Version{"b": {0, sec(0), sec(0)}},
			},
			{
				name:   "back to an old fingerprint is a change too",
				now:    sec(7300),
				prints: map[string]string{"a": "1"},
				want:   map[string]Version{"a": {4, sec(0), sec(7300)}},
			},
			{
				name:   "empty map",
				now:    t0,
				prints: map[string]string{},
				want:   map[string]Version{},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := stamp(t, s, tt.now, tt.prints)
				for k, w := range tt.want {
					g := got[k]
					if g.Sequence != w.Sequence || !g.Created.Equal(w.Created) || !g.Modified.Equal(w.Modified) {
						t.Errorf("Stamp(%s)[%q] = %+v, want %+v", tt.now.Format(time.TimeOnly), k, g, w)
					}
					if g.Created.Location() != time.UTC || g.Modified.Location() != time.UTC {
						t.Errorf("Stamp[%q] times are not in UTC: %v", k, g)
					}
				}
			})
		}
	})
}

// TestStampPersists checks that versions survive closing and reopening
// the file, which is what keeps a restarted daemon's feed byte-identical.
func TestStampPersists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		path := newState()
		t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		stamp(t, s, t0, map[string]string{"a": "1"})
		stamp(t, s, t0.Add(time.Hour), map[string]string{"a": "2"})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got := stamp(t, s, t0.Add(2*time.Hour), map[string]string{"a": "2"})["a"]
		if want := (Version{1, t0, t0.Add(time.Hour)}); got != want {
			t.Errorf("after reopening, Stamp = %+v, want %+v", got, want)
		}
		if err := s.Writable(context.Background()); err != nil {
			t.Errorf("Writable = %v", err)
		}
	})
}

func TestStampConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		s := openState(t, newState())
		t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				_, err := s.Stamp(context.Background(), t0, map[string]string{"k": string(rune('a' + i))})
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatalf("concurrent Stamp: %v", err)
			}
		}
		// Every stamp after the first changed the fingerprint once.
		got := stamp(t, s, t0, map[string]string{"k": "final"})["k"]
		if got.Sequence != 8 {
			t.Errorf("after 8 concurrent changes and 1 more, sequence = %d, want 8", got.Sequence)
		}
	})
}

func TestOpenBadPath(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "dir", "state.db")); err == nil {
		t.Error("Open in a missing directory = nil error")
	}
}

// An unreachable PostgreSQL state is an error that names it without its
// password.
func TestOpenPostgresUnreachable(t *testing.T) {
	_, err := Open("postgres://convene:hunter2@127.0.0.1:1/convene?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "postgres://convene:xxxxx@127.0.0.1:1/convene") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open = %v; want an error naming the URL without the password", err)
	}
}

// Several serve processes share a PostgreSQL state: OpenExclusive takes
// no lock there.
func TestOpenExclusivePostgres(t *testing.T) {
	state := newDatabase(t, testPostgres(t))
	for range 2 {
		s, err := OpenExclusive(state)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
	}
}

// Writable fails on a PostgreSQL database that refuses writes (a standby,
// or one set read-only), which /readyz reports.
func TestWritablePostgresReadOnly(t *testing.T) {
	state := newDatabase(t, testPostgres(t))
	s := openState(t, state)
	if err := s.Writable(context.Background()); err != nil {
		t.Fatalf("Writable = %v", err)
	}
	u, _ := url.Parse(state)
	if _, err := s.DB().Exec(`ALTER DATABASE "` + strings.TrimPrefix(u.Path, "/") + `" SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	ro := openState(t, state) // new connections are read-only
	if err := ro.Writable(context.Background()); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Writable on a read-only database = %v, want an error saying read-only", err)
	}
}

// TestSQLiteCacheSize: every connection of the pool has the small page
// cache that keeps serve's resident memory down, not SQLite's 2 MiB.
func TestSQLiteCacheSize(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 {
		c, err := st.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var size int
		if err := c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&size); err != nil {
			t.Fatal(err)
		}
		if size != -sqliteCacheKiB {
			t.Errorf("connection %d: cache_size %d, want %d", len(conns), size, -sqliteCacheKiB)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}
