package store

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
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
