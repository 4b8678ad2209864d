package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Kept identifies the text that SaveSource or SaveSourceEdit kept last:
// an edit is recorded only on the text it edits.
type Kept struct {
	base  [16]byte // written with the whole text, random
	edits int      // recorded since
}

// SaveSource records data as the last good text of the schedule called
// name (its path), loaded at now, whole: the edits recorded since the
// last whole text are dropped.
func (s *Store) SaveSource(ctx context.Context, name string, data []byte, now time.Time) (Kept, error) {
	var k Kept
	rand.Read(k.base[:])
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM source_edit WHERE name = $1`, name); err != nil {
			return err
		}
		// seq 0 holds no edit but the whole text's random id.
		if _, err := tx.ExecContext(ctx, `INSERT INTO source_edit (name, seq, prefix, suffix, middle, loaded) VALUES ($1, 0, 0, 0, $2, $3)`,
			name, k.base[:], now.Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO source (name, data, loaded) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET data = excluded.data, loaded = excluded.loaded`, name, data, now.Unix())
		return err
	})
	return k, err
}

// SaveSourceEdit records the last good text of the schedule called name,
// loaded at now, as an edit of the text that after identifies: its first
// prefix and last suffix bytes, and middle between. When the state holds
// another text (another process wrote it meanwhile), nothing is written
// and ok is false, so that the caller writes the text whole. It reads
// nothing of the whole text, which may be 30 MB.
func (s *Store) SaveSourceEdit(ctx context.Context, name string, after Kept, prefix, suffix int, middle []byte, now time.Time) (k Kept, ok bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var base []byte
		var edits int
		err := tx.QueryRowContext(ctx, `SELECT (SELECT middle FROM source_edit WHERE name = $1 AND seq = 0),
			COALESCE(MAX(seq), 0) FROM source_edit WHERE name = $1`, name).Scan(&base, &edits)
		if err != nil || !bytes.Equal(base, after.base[:]) || edits != after.edits {
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
	if !ok || err != nil {
		return Kept{}, false, err
	}
	return Kept{after.base, after.edits + 1}, true, nil
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
	rows, err := s.db.QueryContext(ctx, `SELECT seq, prefix, suffix, middle, loaded FROM source_edit WHERE name = $1 AND seq > 0 ORDER BY seq`, name)
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
