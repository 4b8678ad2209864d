// Package store keeps convene's state: the versions of every published
// calendar component and document (versions.go), the reminder outbox
// (outbox.go), the people who signed up for reminders with the secret
// that signs their links (subscribers.go), the last good events.toml
// (source.go) and the refused reminders (bounces.go). The tables are
// defined by the numbered files in migrations/, applied in order when a
// state is opened.
//
// A state lives in one of two databases, with the same tables and the
// same behaviour:
//
//   - A SQLite file (modernc.org/sqlite, no cgo), the default: one serve
//     process holds it (OpenExclusive takes a lock on it), keeps the
//     versions in memory, and at start sends again what a crash left
//     being sent. The schema version is SQLite's user_version. backup,
//     restore and Check work on such a file.
//   - A PostgreSQL database, named by a postgres:// or postgresql:// URL
//     (jackc/pgx through database/sql), which any number of serve
//     processes share. There is no lock: migrations are applied under an
//     advisory lock and recorded in schema_migrations; stamping versions
//     and re-planning the outbox run one process at a time (advisory
//     transaction locks), and read the database each time; a message is
//     claimed with a lease (claimed_by, lease_until), which another
//     process takes over only once it has run out. The role must be able
//     to create tables and a collation (own the database); the server
//     needs ICU (Debian's has it) for the nocase collation of addresses.
//     Back it up with pg_dump: backup, restore and Check refuse it.
//
// Queries are written once, with $1-style parameters, which both drivers
// take; the migrations are written for SQLite, and postgresTypes rewrites
// their few types for PostgreSQL.
package store

import (
	"context"
	"crypto/rand"
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

// Store is the state: a SQLite file or a PostgreSQL database. It is safe
// for use by several goroutines.
type Store struct {
	db      *sql.DB
	backend backend
	stmts   sync.Map // query -> *sql.Stmt, see exec
	lock    *os.File // held by OpenExclusive of a SQLite file, nil otherwise

	// owner names this store in the outbox rows it claims (claimed_by).
	owner string

	// versions mirrors the versions table once read, for a SQLite file
	// opened exclusively, which no other process writes (versions.go).
	vmu      sync.Mutex
	versions map[string]versionRow
}

// Open opens or creates the state named by state and brings its schema
// up to date: a postgres:// or postgresql:// URL is a PostgreSQL
// database, anything else the path of a SQLite file. Commands that run
// beside serve (subscribers, feed) use it.
func Open(state string) (*Store, error) {
	if IsPostgres(state) {
		return openPostgres(state)
	}
	return openSQLite(state)
}

// sqliteCacheKiB is the page cache of each SQLite connection, in KiB,
// which SQLite allocates outside Go's heap: its default, 2 MiB, held by
// each connection of the pool, was about 2.5 MB of serve's resident
// memory, for pages that the operating system caches anyway. The
// versions table is read once (Stamp keeps it), and the outbox's
// queries walk indexes whose upper pages fit in this.
const sqliteCacheKiB = 256

func openSQLite(path string) (*Store, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		// SQLite would take it for a new state, with a new secret that
		// breaks every unsubscribe and confirmation link sent so far.
		return nil, fmt.Errorf("open state %s: the file is empty (0 bytes), not a convene state: restore it from a backup "+
			"(convene restore), or delete it to start afresh with no subscribers and new links", path)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		fmt.Sprintf("&_pragma=cache_size(-%d)", sqliteCacheKiB) + "&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	s := &Store{db: db, backend: sqliteBackend, owner: newOwner()}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return s, nil
}

// OpenExclusive opens the state as Open does for the one process that
// sends from a SQLite file, `convene serve`, and holds an exclusive lock
// on it until Close: a second OpenExclusive of the same file, in this
// process or another, fails with a *LockedError naming the holder's PID.
// A PostgreSQL state is opened as Open does, without a lock: several
// serve processes share it, and the outbox leases keep them from sending
// a message twice.
func OpenExclusive(state string) (*Store, error) {
	if IsPostgres(state) {
		return Open(state)
	}
	f, err := lock(state)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", state, err)
	}
	s, err := Open(state)
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	s.lock = f
	return s, nil
}

// newOwner names a store in the outbox rows it claims: the host, the
// process and a random part, so that an operator can tell which replica
// holds a row and two stores in one process differ.
func newOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// Close closes the database and releases the lock.
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
// missing migration is applied and the version recorded, or none is. A
// SQLite file records its version in user_version, a PostgreSQL database
// in the table schema_migrations (postgres.go).
func (s *Store) migrate() error {
	if errMigrations != nil {
		return errMigrations
	}
	if s.backend == postgresBackend {
		return s.migratePostgres()
	}
	return s.tx(context.Background(), func(tx *sql.Tx) error {
		var version int
		if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
			return err
		}
		if err := applyMigrations(tx, version, func(q string) string { return q }); err != nil {
			return err
		}
		_, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations)))
		return err
	})
}

// applyMigrations applies the migrations after version, each rewritten
// by ddl for the backend.
func applyMigrations(tx *sql.Tx, version int, ddl func(string) string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.Exec(ddl(migrations[i])); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
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

// Writable reports whether the state accepts writes.
func (s *Store) Writable(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		q := `PRAGMA user_version = ` + fmt.Sprint(len(migrations))
		if s.backend == postgresBackend {
			// Refused by a read-only server (a standby) even though it
			// changes no row.
			q = `UPDATE schema_migrations SET version = version WHERE version < 0`
		}
		_, err := tx.ExecContext(ctx, q)
		return err
	})
}
