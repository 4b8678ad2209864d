package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadMigrations(t *testing.T) {
	file := func(names ...string) fstest.MapFS {
		m := fstest.MapFS{}
		for _, n := range names {
			m["migrations/"+n] = &fstest.MapFile{Data: []byte("-- " + n)}
		}
		return m
	}
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    int
		wantErr string
	}{
		{"in order", file("0001_a.sql", "0002_b.sql", "0003_c.sql"), 3, ""},
		{"a gap", file("0001_a.sql", "0003_c.sql"), 0, "0002_"},
		{"a repeat", file("0001_a.sql", "0001_b.sql"), 0, "0002_"},
		{"no number", file("0001_a.sql", "init.sql"), 0, "0002_"},
		{"not from 1", file("0002_b.sql"), 0, "0001_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadMigrations(tt.fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadMigrations = %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("loadMigrations = %d, %v; want %d files", len(got), err, tt.want)
			}
		})
	}
	// The files shipped in the binary.
	if errMigrations != nil {
		t.Fatal(errMigrations)
	}
}

// userVersion reads the schema version recorded in the file at path.
func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestOpenRecordsSchemaVersion(t *testing.T) {
	_, path := open(t)
	if got := userVersion(t, path); got != SchemaVersion() || got < 1 {
		t.Fatalf("user_version = %d, want %d", got, SchemaVersion())
	}
}

// A state written before migrations were numbered has its tables and
// user_version 0: it opens as schema 1 and keeps its rows.
func TestOpenUnnumberedState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	rawExec(t, path, migrations[0],
		`INSERT INTO versions VALUES ('k', 'f', 7, 1, 2)`,
		`PRAGMA user_version = 0`)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var seq int
	if err := s.DB().QueryRow(`SELECT sequence FROM versions WHERE key = 'k'`).Scan(&seq); err != nil || seq != 7 {
		t.Fatalf("sequence = %d, %v; want 7", seq, err)
	}
	s.Close()
	if got := userVersion(t, path); got != SchemaVersion() {
		t.Fatalf("user_version = %d, want %d", got, SchemaVersion())
	}
}

func TestOpenRefusesNewerState(t *testing.T) {
	s, path := open(t)
	s.Close()
	newer := SchemaVersion() + 2
	rawExec(t, path, fmt.Sprintf(`PRAGMA user_version = %d`, newer))
	_, err := Open(path)
	var ne *NewerSchemaError
	if !errors.As(err, &ne) || ne.State != newer || ne.Binary != SchemaVersion() {
		t.Fatalf("Open = %v, want a NewerSchemaError %d > %d", err, newer, SchemaVersion())
	}
	want := fmt.Sprintf("this state was written by a newer convene (schema %d, this binary knows %d): upgrade the binary or restore a backup", newer, SchemaVersion())
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %q, want it to say %q", err, want)
	}
	if got := userVersion(t, path); got != newer {
		t.Fatalf("user_version = %d after a refused Open, want %d", got, newer)
	}
}

// A migration that fails leaves the state as it was: no half-applied
// schema, the version unchanged.
func TestMigrationsRunInOneTransaction(t *testing.T) {
	s, path := open(t)
	s.Close()
	before := migrations
	t.Cleanup(func() { migrations = before })
	migrations = append(append([]string{}, before...),
		`CREATE TABLE added (a INTEGER)`,
		`INSERT INTO no_such_table VALUES (1)`)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", len(before)+2)) {
		t.Fatalf("Open = %v, want migration %d to fail", err, len(before)+2)
	}
	migrations = before
	if got := userVersion(t, path); got != len(before) {
		t.Fatalf("user_version = %d, want %d", got, len(before))
	}
	rawExec(t, path, `CREATE TABLE added (b TEXT)`) // fails if the first migration stayed
}

// A state written by the release before the leases (schema 3), with a
// row left "sending" by a crash, opens as the current schema with its
// rows, and the row is sent again.
func TestOpenSchema3State(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	rawExec(t, path, append(append([]string{}, migrations[:3]...),
		`INSERT INTO versions VALUES ('k', 'f', 7, 1, 2)`,
		`INSERT INTO outbox (ident, kind, occurrence, offset_ms, recipient, zone, title, starts, due, next_try, state, attempts)
			VALUES ('r1', 'reminder', 'a', 0, 'x@example.org', 'UTC', 'A', 2000, 1000, 1000, 'sending', 1)`,
		`PRAGMA user_version = 3`)...)
	s, err := OpenExclusive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := userVersion(t, path); got != SchemaVersion() {
		t.Fatalf("user_version = %d, want %d", got, SchemaVersion())
	}
	ctx := context.Background()
	v, err := s.Stamp(ctx, time.Unix(10, 0), map[string]string{"k": "f"})
	if err != nil || v["k"].Sequence != 7 {
		t.Fatalf("Stamp = %v, %v; want the sequence 7 kept", v, err)
	}
	if n, err := s.RecoverOutbox(ctx, time.Unix(1, 0)); err != nil || n != 1 {
		t.Fatalf("RecoverOutbox = %d, %v; want the row left sending", n, err)
	}
	rows, err := s.ReserveOutbox(ctx, time.Unix(1, 0), time.Minute, 10)
	if err != nil || len(rows) != 1 || rows[0].Attempts != 1 {
		t.Fatalf("ReserveOutbox = %v, %v; want r1 again", rows, err)
	}
}

// pgVersion reads the schema version recorded in the database at state.
func pgVersion(t *testing.T, state string) int {
	t.Helper()
	db, err := sql.Open("pgx", state)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// On PostgreSQL as on SQLite: a newer schema is refused and left alone,
// and a migration that fails leaves the schema as it was.
func TestPostgresMigrations(t *testing.T) {
	state := newDatabase(t, testPostgres(t))
	s := openState(t, state)
	if got := pgVersion(t, state); got != SchemaVersion() {
		t.Fatalf("schema version %d, want %d", got, SchemaVersion())
	}
	before := migrations
	t.Cleanup(func() { migrations = before })
	migrations = append(append([]string{}, before...),
		`CREATE TABLE added (a INTEGER)`,
		`INSERT INTO no_such_table VALUES (1)`)
	if _, err := Open(state); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", len(before)+2)) {
		t.Fatalf("Open = %v, want migration %d to fail", err, len(before)+2)
	}
	if got := pgVersion(t, state); got != len(before) {
		t.Fatalf("schema version %d after a failed migration, want %d", got, len(before))
	}
	if _, err := s.DB().Exec(`CREATE TABLE added (b TEXT)`); err != nil { // fails if the first migration stayed
		t.Fatal(err)
	}
	migrations = before
	newer := SchemaVersion() + 2
	if _, err := s.DB().Exec(`INSERT INTO schema_migrations (version) VALUES ($1)`, newer); err != nil {
		t.Fatal(err)
	}
	var ne *NewerSchemaError
	if _, err := Open(state); !errors.As(err, &ne) || ne.State != newer {
		t.Fatalf("Open = %v, want a NewerSchemaError for schema %d", err, newer)
	}
	if got := pgVersion(t, state); got != newer {
		t.Fatalf("schema version %d after a refused Open, want %d", got, newer)
	}
}

// The PostgreSQL schema is the SQLite one with its types rewritten: every
// table and column of one is in the other.
func TestPostgresSchemaMatches(t *testing.T) {
	sqlite := openState(t, filepath.Join(t.TempDir(), "state.db"))
	pg := openState(t, newDatabase(t, testPostgres(t)))
	columns := func(s *Store, q string) []string {
		rows, err := s.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+"."+col)
		}
		slices.Sort(out)
		return out
	}
	a := columns(sqlite, `SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.type = 'table'`)
	b := columns(pg, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`)
	if !slices.Equal(a, b) {
		t.Fatalf("SQLite columns %v\nPostgreSQL columns %v", a, b)
	}
}
