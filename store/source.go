package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SaveSource records data as the last good text of the schedule called
// name (its path), loaded at now, whole: the edits kept since the last
// whole text are dropped.
func (s *Store) SaveSource(ctx context.Context, name string, data []byte, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM source_edit WHERE name = $1`, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO source (name, data, loaded) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET data = excluded.data, loaded = excluded.loaded`, name, data, now.Unix())
		return err
	})
}

// SaveSourceEdit records the last good text of the schedule called name,
// loaded at now, as an edit of the one recorded before: its first prefix
// and last suffix bytes, and middle between. edits is how many edits the
// state holds since the whole text, as the caller's last SaveSource (0)
// or SaveSourceEdit (one more) left it. When the state holds another
// count, or no text of name, another process wrote it meanwhile:
// nothing is written, and ok is false, so that the caller writes the
// text whole.
func (s *Store) SaveSourceEdit(ctx context.Context, name string, edits, prefix, suffix int, middle []byte, now time.Time) (ok bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var held int
		err := tx.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(seq), 0) FROM source_edit WHERE name = $1)
			FROM source WHERE name = $1`, name).Scan(&held)
		if errors.Is(err, sql.ErrNoRows) || err == nil && held != edits {
			return nil
		}
		if err != nil {
			return err
		}
		if middle == nil {
			middle = []byte{} // NOT NULL
		}
		// Another process that read the same count inserts the same
		// seq: one of the two is told to write the text whole.
		res, err := tx.ExecContext(ctx, `INSERT INTO source_edit (name, seq, prefix, suffix, middle, loaded)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name, seq) DO NOTHING`,
			name, edits+1, prefix, suffix, middle, now.Unix())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok && err == nil, err
}

// Source returns the last good text of the schedule called name and when
// it was loaded, or ErrNotFound: the whole text recorded last with each
// edit recorded since applied in order.
func (s *Store) Source(ctx context.Context, name string) ([]byte, time.Time, error) {
	var data []byte
	var loaded int64
	err := s.db.QueryRowContext(ctx, `SELECT data, loaded FROM source WHERE name = $1`, name).Scan(&data, &loaded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, prefix, suffix, middle, loaded FROM source_edit WHERE name = $1 ORDER BY seq`, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq, prefix, suffix int
		var middle []byte
		if err := rows.Scan(&seq, &prefix, &suffix, &middle, &loaded); err != nil {
			return nil, time.Time{}, err
		}
		n++
		if seq != n || prefix < 0 || suffix < 0 || prefix+suffix > len(data) {
			return nil, time.Time{}, fmt.Errorf("store: the last good copy of %s is damaged: edit %d does not apply", name, n)
		}
		next := make([]byte, 0, prefix+len(middle)+suffix)
		next = append(append(append(next, data[:prefix]...), middle...), data[len(data)-suffix:]...)
		data = next
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, err
	}
	return data, time.Unix(loaded, 0).UTC(), nil
}
