// Package store keeps convene's state in one SQLite file (modernc.org/sqlite,
// no cgo): the versions of every published calendar component and document
// (versions), the reminder outbox (outbox.go), and the people who signed up
// for reminders with the secret that signs their links (subscribers.go).
// The tables are defined by the numbered files in migrations/, applied in
// order when a state is opened.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	_ "modernc.org/sqlite"
)

// Store is the state file. It is safe for use by several goroutines.
type Store struct {
	db    *sql.DB
	stmts sync.Map // query -> *sql.Stmt, see exec
	lock  *os.File // held by OpenExclusive, nil otherwise

	// versions mirrors the versions table once read, for a store
	// opened exclusively, which no other process writes (versions.go).
	vmu      sync.Mutex
	versions map[string]versionRow
}

// Open opens or creates the state file at path and brings its schema up
// to date. Commands that run beside serve (subscribers, feed) use it.
func Open(path string) (*Store, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		// SQLite would take it for a new state, with a new secret that
		// breaks every unsubscribe and confirmation link sent so far.
		return nil, fmt.Errorf("open state %s: the file is empty (0 bytes), not a convene state: restore it from a backup "+
			"(convene restore), or delete it to start afresh with no subscribers and new links", path)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return s, nil
}

// OpenExclusive opens the state as Open does for the one process that
// sends from it, `convene serve`, and holds an exclusive lock on it until
// Close: a second OpenExclusive of the same state, in this process or
// another, fails with a *LockedError naming the holder's PID.
func OpenExclusive(path string) (*Store, error) {
	f, err := lock(path)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	s, err := Open(path)
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	s.lock = f
	return s, nil
}

// Close closes the file and releases the lock.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// exec runs query, prepared once and kept: the sender marks every
// message twice, and SQLite would parse the statement each time.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := s.stmts.Load(query)
	if !ok {
		prepared, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if st, ok = s.stmts.LoadOrStore(query, prepared); ok {
			prepared.Close()
		}
	}
	return st.(*sql.Stmt).ExecContext(ctx, args...)
}

// DB returns the database, for packages that keep their own tables.
func (s *Store) DB() *sql.DB { return s.db }

// migrationFiles holds the schema, one numbered file per change:
// migrations/0001_initial.sql, 0002_....sql. Each runs once, in order; a
// released file is never edited.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations are the files' statements in order: migrations[0] is schema
// version 1. A state's version is its SQLite user_version. The files are
// part of the binary, so errMigrations is a build mistake that every Open
// reports and the tests catch.
var migrations, errMigrations = loadMigrations(migrationFiles)

// loadMigrations returns the statements of migrations/NNNN_name.sql,
// checking that the numbers run 1, 2, 3 ... without a gap or a repeat.
func loadMigrations(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n != i+1 {
			return nil, fmt.Errorf("store: migration %s: want a name starting %04d_", name, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}

// SchemaVersion is the schema version this binary writes: the number of
// its migrations.
func SchemaVersion() int { return len(migrations) }

// NewerSchemaError means the state file was written by a newer convene,
// whose schema this binary does not know.
type NewerSchemaError struct {
	State, Binary int // the state's schema version, and this binary's
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("this state was written by a newer convene (schema %d, this binary knows %d): upgrade the binary or restore a backup", e.State, e.Binary)
}

// migrate brings the schema up to date in one transaction: either every
// missing migration is applied and the version recorded, or none is.
func (s *Store) migrate() error {
	if errMigrations != nil {
		return errMigrations
	}
	return s.tx(context.Background(), func(tx *sql.Tx) error {
		var version int
		if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
			return err
		}
		if err := checkVersion(version); err != nil {
			return err
		}
		for i := version; i < len(migrations); i++ {
			if _, err := tx.Exec(migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		_, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations)))
		return err
	})
}

// checkVersion refuses a state whose schema this binary does not know.
func checkVersion(version int) error {
	if version > len(migrations) {
		return &NewerSchemaError{State: version, Binary: len(migrations)}
	}
	return nil
}

// tx runs f in a transaction, committed if f returns nil.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Writable reports whether the state file accepts writes.
func (s *Store) Writable(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `PRAGMA user_version = `+fmt.Sprint(len(migrations)))
		return err
	})
}
