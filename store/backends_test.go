package store

import (
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// forEachBackend runs f as a subtest on each backend, "sqlite" and
// "postgres", with newState, which returns the name of a new, empty
// state there: a file in a temporary directory, or a new database on the
// PostgreSQL server of CONVENE_TEST_POSTGRES (the postgres half skips
// when it is unset, and fails if CONVENE_REQUIRE_INTEROP=1).
func forEachBackend(t *testing.T, f func(t *testing.T, newState func() string)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, func() string { return filepath.Join(t.TempDir(), "state.db") })
	})
	t.Run("postgres", func(t *testing.T) {
		server := testPostgres(t)
		f(t, func() string { return newDatabase(t, server) })
	})
}

// testPostgres returns the URL of the test server, or skips.
func testPostgres(t *testing.T) string {
	t.Helper()
	u := os.Getenv("CONVENE_TEST_POSTGRES")
	if u == "" {
		msg := `no PostgreSQL for the tests: run eval "$(.ci/postgres)" to start one (needs Debian's postgresql)`
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatal(msg + " (CONVENE_REQUIRE_INTEROP=1)")
		}
		t.Skip(msg)
	}
	return u
}

// newDatabase creates a database with a random name on server, dropped
// when the test ends, and returns its URL.
func newDatabase(t testing.TB, server string) string {
	t.Helper()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	name := "convene_test_" + rand.Text()[:12]
	if _, err := admin.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		admin.Close()
		t.Fatalf("create database %s on %s: %v", name, Redact(server), err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE "` + name + `" WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// openState opens state, closed when the test ends.
func openState(t *testing.T, state string) *Store {
	t.Helper()
	s, err := Open(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// benchBackends runs f as a sub-benchmark on each backend, with a new
// state opened as serve opens it; the postgres half skips without
// CONVENE_TEST_POSTGRES.
func benchBackends(b *testing.B, f func(b *testing.B, s *Store)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			state := filepath.Join(b.TempDir(), "state.db")
			if backend == "postgres" {
				server := os.Getenv("CONVENE_TEST_POSTGRES")
				if server == "" {
					b.Skip(`no PostgreSQL: run eval "$(.ci/postgres)"`)
				}
				state = newDatabase(b, server)
			}
			s, err := OpenExclusive(state)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			f(b, s)
		})
	}
}
