package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SaveSource records data as the last good text of the schedule called
// name (its path), loaded at now.
func (s *Store) SaveSource(ctx context.Context, name string, data []byte, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO source (name, data, loaded) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data, loaded = excluded.loaded`, name, data, now.Unix())
	return err
}

// Source returns the last good text of the schedule called name and when
// it was loaded, or ErrNotFound.
func (s *Store) Source(ctx context.Context, name string) ([]byte, time.Time, error) {
	var data []byte
	var loaded int64
	err := s.db.QueryRowContext(ctx, `SELECT data, loaded FROM source WHERE name = $1`, name).Scan(&data, &loaded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	return data, time.Unix(loaded, 0).UTC(), err
}
