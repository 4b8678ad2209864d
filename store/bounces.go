package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SuspendAfter is how many reminders in a row a subscriber's server may
// refuse for good before mail to the address stops.
const SuspendAfter = 3

// resumed is the SET clause that gives a subscriber mail again: a new
// confirmation or a maintainer's add vouches for the address.
const resumed = `refused = 0, last_reply = '', suspended = 0`

// Refused records that the server of subscriber email refused a reminder
// for good with reply, at now. The SuspendAfter-th refusal in a row
// suspends the address: it reports true then, and Subscribers leaves it
// out until AddSubscriber or Confirm resumes it. An address that is not a
// subscriber is left alone.
func (s *Store) Refused(ctx context.Context, email, reply string, now time.Time) (suspended bool, err error) {
	var refused, since int64
	err = s.db.QueryRowContext(ctx, `UPDATE subscribers SET refused = refused + 1, last_reply = $1,
		suspended = CASE WHEN suspended = 0 AND refused + 1 >= $2 THEN $3 ELSE suspended END
		WHERE email = $4 RETURNING refused, suspended`, reply, SuspendAfter, now.Unix(), email).Scan(&refused, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record a refused reminder: %w", err)
	}
	return refused == SuspendAfter && since == now.Unix(), nil
}

// Delivered records that a reminder to subscriber email was accepted,
// which ends a run of refusals.
func (s *Store) Delivered(ctx context.Context, email string) error {
	if _, err := s.exec(ctx, `UPDATE subscribers SET refused = 0 WHERE email = $1 AND refused > 0`, email); err != nil {
		return fmt.Errorf("record a delivered reminder: %w", err)
	}
	return nil
}

// Refusing returns the addresses of the subscribers whose last reminder
// was refused, so that the sender knows whose next delivery to record.
func (s *Store) Refusing(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT email FROM subscribers WHERE refused > 0`)
	if err != nil {
		return nil, fmt.Errorf("refusing subscribers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("refusing subscribers: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
