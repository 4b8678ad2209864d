package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
)

// Migrated is what MigrateState copied: the rows of each table, and of
// the outbox by state.
type Migrated struct {
	Tables map[string]int // rows copied, by table
	Outbox map[State]int  // outbox rows copied, by state (after Resent)
	// Resent counts the rows a crash had left "sending": they are
	// pending in the copy, as the SQLite serve would have made them at
	// its next start, to be sent again.
	Resent int
}

func (m Migrated) String() string {
	names := make([]string, 0, len(m.Tables))
	for name := range m.Tables {
		names = append(names, name)
	}
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %d", name, m.Tables[name]))
	}
	var states []string
	for _, st := range States {
		if n := m.Outbox[st]; n > 0 {
			states = append(states, fmt.Sprintf("%d %s", n, st))
		}
	}
	s := strings.Join(parts, ", ")
	if len(states) > 0 {
		s += "; outbox: " + strings.Join(states, ", ")
	}
	if m.Resent > 0 {
		s += fmt.Sprintf("; %d left sending by a crash are pending again (their recipients may get them twice)", m.Resent)
	}
	return s
}

// NotEmptyError means the PostgreSQL state MigrateState was to fill
// already holds rows: it never merges two states.
type NotEmptyError struct {
	State string         // the target, password redacted
	Rows  map[string]int // rows by table, tables with none left out
}

func (e *NotEmptyError) Error() string {
	var parts []string
	for name, n := range e.Rows {
		parts = append(parts, fmt.Sprintf("%d in %s", n, name))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%s is not empty (rows: %s): a serve may have started on it already. Stop every serve on it, "+
		"then give --replace to delete those rows and copy, or migrate into a new database", e.State, strings.Join(parts, ", "))
}

// migrateBatch is how many rows one INSERT carries.
const migrateBatch = 200

// MigrateState copies every table of the SQLite state file from (its
// versions, outbox, subscribers with their keys, secrets, last good
// schedule and bounces) into the PostgreSQL state to, in one
// transaction: either all of it is copied or none. The target's schema
// is brought up to date first. It refuses a target that holds any row
// unless replace is set, which deletes them in the same transaction.
// It holds the lock of from meanwhile, so it refuses while a serve runs
// on from, and no serve can start on it before the copy is done.
func MigrateState(ctx context.Context, from, to string, replace bool) (Migrated, error) {
	var m Migrated
	if IsPostgres(from) {
		return m, fmt.Errorf("migrate-state: --from %s: give the SQLite state file to copy", Redact(from))
	}
	if !IsPostgres(to) {
		return m, fmt.Errorf("migrate-state: --to %s: give the PostgreSQL state as a postgres:// URL", to)
	}
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("migrate-state: the state %s does not exist: give --from the file serve uses (--state)", from)
	}
	_, err := os.Stat(from + ".lock")
	made := errors.Is(err, fs.ErrNotExist)
	held, err := lock(from)
	if err != nil {
		return m, fmt.Errorf("migrate-state: %s: %w", from, err)
	}
	defer func() {
		held.Close()
		if made {
			os.Remove(from + ".lock") // serve makes its own
		}
	}()
	src, err := Open(from)
	if err != nil {
		return m, fmt.Errorf("migrate-state: %w", err)
	}
	defer src.Close()
	dst, err := Open(to)
	if err != nil {
		return m, fmt.Errorf("migrate-state: %w", err)
	}
	defer dst.Close()

	tables, err := sqliteTables(ctx, src.db)
	if err != nil {
		return m, fmt.Errorf("migrate-state: read %s: %w", from, err)
	}
	m = Migrated{Tables: map[string]int{}, Outbox: map[State]int{}}
	err = dst.tx(ctx, func(tx *sql.Tx) error {
		if err := emptyTarget(ctx, tx, Redact(to), tables, replace); err != nil {
			return err
		}
		for _, table := range tables {
			n, err := copyTable(ctx, src.db, tx, table)
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			m.Tables[table] = n
		}
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = $1, lease_until = 0 WHERE state = $2`, Pending, Sending)
		if err != nil {
			return err
		}
		resent, _ := res.RowsAffected()
		m.Resent = int(resent)
		// Rows the SQLite serve had reserved for its next batch are free
		// for any replica at once, not when that lease runs out.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET lease_until = 0 WHERE state = $1 AND lease_until <> 0`, Pending); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st State
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			m.Outbox[st] = n
		}
		return rows.Err()
	})
	if err != nil {
		return Migrated{}, fmt.Errorf("migrate-state: %w", err)
	}
	return m, nil
}

// sqliteTables lists the tables of a SQLite state, SQLite's own left out.
func sqliteTables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// emptyTarget refuses a target that holds rows in any of tables, or,
// with replace, deletes them.
func emptyTarget(ctx context.Context, tx *sql.Tx, name string, tables []string, replace bool) error {
	full := map[string]int{}
	for _, table := range tables {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(table)).Scan(&n); err != nil {
			return fmt.Errorf("%s: table %s: %w", name, table, err)
		}
		if n > 0 {
			full[table] = n
		}
	}
	if len(full) == 0 {
		return nil
	}
	if !replace {
		return &NotEmptyError{State: name, Rows: full}
	}
	for table := range full {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+quoteIdent(table)); err != nil {
			return fmt.Errorf("%s: empty %s: %w", name, table, err)
		}
	}
	return nil
}

// copyTable copies every row of table from the SQLite db into the
// PostgreSQL tx, column by column as SQLite names them, and moves an
// identity column's sequence past the ids copied. It returns how many
// rows it copied.
func copyTable(ctx context.Context, db *sql.DB, tx *sql.Tx, table string) (int, error) {
	binary, err := byteaColumns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	insert := `INSERT INTO ` + quoteIdent(table) + ` (` + strings.Join(quoted, ", ") + `) VALUES `
	var batch []any
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var values []string
		for r := 0; r < len(batch)/len(cols); r++ {
			ph := make([]string, len(cols))
			for c := range cols {
				ph[c] = fmt.Sprintf("$%d", r*len(cols)+c+1)
			}
			values = append(values, "("+strings.Join(ph, ", ")+")")
		}
		_, err := tx.ExecContext(ctx, insert+strings.Join(values, ", "), batch...)
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		for i, c := range cols {
			if s, ok := vals[i].(string); ok && binary[c] {
				vals[i] = []byte(s)
			}
		}
		batch = append(batch, vals...)
		n++
		if n%migrateBatch == 0 {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if slices.Contains(cols, "id") {
		// The ids were copied as they are; new rows must number after them.
		_, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE((SELECT MAX(id) FROM `+
			quoteIdent(table)+`), 0) + 1, false) WHERE pg_get_serial_sequence($1, 'id') IS NOT NULL`, table)
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// byteaColumns returns the columns of table that PostgreSQL keeps as
// bytes, which SQLite may hand over as text.
func byteaColumns(ctx context.Context, tx *sql.Tx, table string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND data_type = 'bytea'`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out[c] = true
	}
	return out, rows.Err()
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
