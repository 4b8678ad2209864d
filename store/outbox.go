package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// States of an outbox row. A row goes pending -> sending -> sent, or to
// failed (permanent SMTP error) or expired (too late to be useful).
const (
	Pending = "pending"
	Sending = "sending"
	Sent    = "sent"
	Failed  = "failed"
	Expired = "expired"
)

// OutboxRow is one message owed.
type OutboxRow struct {
	ID          int64
	Ident       string
	Kind        string // the mailer's: reminder, moved, cancelled
	Occurrence  string // schedule.Occurrence.Key()
	Offset      time.Duration
	Recipient   string
	Zone        string // IANA name of the recipient's zone
	Unsubscribe string // one-click unsubscribe URL, or empty
	Title       string
	Starts      time.Time // the meeting start this row tells about
	PrevStarts  time.Time // for a "moved" notice, the start it moved from
	Due         time.Time
	NextTry     time.Time // Due, or later after a temporary failure
	State       string
	Attempts    int
	LastError   string
	SentAt      time.Time
}

// OutboxChanges is what one re-plan does to the outbox.
type OutboxChanges struct {
	// Upsert inserts each row, or updates the row with the same Ident
	// if, and only if, it is still pending.
	Upsert []OutboxRow
	// Delete drops these rows if they are still pending.
	Delete []int64
	// Restart records that the recipients of these sent rows were told
	// about a new start (by a "moved" notice).
	Restart map[int64]time.Time
	// Insert adds each row whose Ident is new (notices).
	Insert []OutboxRow
}

const outboxColumns = `id, ident, kind, occurrence, offset_ms, recipient, zone, unsubscribe, title,
	starts, prev_starts, due, next_try, state, attempts, last_error, sent_at`

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

type scanner interface{ Scan(...any) error }

func scanOutbox(sc scanner) (OutboxRow, error) {
	var r OutboxRow
	var offset, starts, prev, due, next, sent int64
	err := sc.Scan(&r.ID, &r.Ident, &r.Kind, &r.Occurrence, &offset, &r.Recipient, &r.Zone, &r.Unsubscribe,
		&r.Title, &starts, &prev, &due, &next, &r.State, &r.Attempts, &r.LastError, &sent)
	r.Offset = time.Duration(offset) * time.Millisecond
	r.Starts, r.PrevStarts, r.Due, r.NextTry, r.SentAt = fromMS(starts), fromMS(prev), fromMS(due), fromMS(next), fromMS(sent)
	return r, err
}

func queryOutbox(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, where string, args ...any) ([]OutboxRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		r, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReplanOutbox runs plan on every reminder row whose meeting starts after
// after and that is pending, sending or sent, and applies the changes it
// returns, all in one transaction, so that the sender cannot send a row
// between the plan reading it and the plan changing it.
func (s *Store) ReplanOutbox(ctx context.Context, after time.Time, plan func([]OutboxRow) OutboxChanges) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := queryOutbox(ctx, tx, `WHERE kind = 'reminder' AND starts > ? AND state IN ('pending', 'sending', 'sent') ORDER BY id`, ms(after))
		if err != nil {
			return err
		}
		ch := plan(rows)
		if len(ch.Upsert) > 0 {
			up, err := tx.PrepareContext(ctx, `INSERT INTO outbox (ident, kind, occurrence, offset_ms, recipient, zone, unsubscribe, title, starts, prev_starts, due, next_try, state)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
				ON CONFLICT (ident) DO UPDATE SET zone = excluded.zone, unsubscribe = excluded.unsubscribe,
					title = excluded.title, starts = excluded.starts, due = excluded.due,
					next_try = CASE WHEN outbox.due = excluded.due THEN outbox.next_try ELSE excluded.next_try END
				WHERE outbox.state = 'pending' AND (outbox.zone, outbox.unsubscribe, outbox.title, outbox.starts, outbox.due)
					IS NOT (excluded.zone, excluded.unsubscribe, excluded.title, excluded.starts, excluded.due)`)
			if err != nil {
				return err
			}
			defer up.Close()
			for _, r := range ch.Upsert {
				if _, err := up.ExecContext(ctx, r.Ident, r.Kind, r.Occurrence, r.Offset.Milliseconds(), r.Recipient, r.Zone,
					r.Unsubscribe, r.Title, ms(r.Starts), ms(r.PrevStarts), ms(r.Due), ms(r.Due)); err != nil {
					return err
				}
			}
		}
		for _, id := range ch.Delete {
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ? AND state = 'pending'`, id); err != nil {
				return err
			}
		}
		for id, at := range ch.Restart {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET starts = ? WHERE id = ?`, ms(at), id); err != nil {
				return err
			}
		}
		for _, r := range ch.Insert {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (ident, kind, occurrence, offset_ms, recipient, zone, unsubscribe, title, starts, prev_starts, due, next_try, state)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (ident) DO NOTHING`,
				r.Ident, r.Kind, r.Occurrence, r.Offset.Milliseconds(), r.Recipient, r.Zone, r.Unsubscribe, r.Title,
				ms(r.Starts), ms(r.PrevStarts), ms(r.Due), ms(r.Due)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replan outbox: %w", err)
	}
	return nil
}

// RecoverOutbox returns rows left "sending" by a crash to "pending": the
// message may or may not have been accepted, and sending it again is
// the only way not to lose it. It returns how many rows it recovered.
func (s *Store) RecoverOutbox(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET state = 'pending' WHERE state = 'sending'`)
	if err != nil {
		return 0, fmt.Errorf("recover outbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// NextOutbox returns when the earliest pending row is next due; ok is
// false when nothing is pending.
func (s *Store) NextOutbox(ctx context.Context) (next time.Time, ok bool, err error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(next_try) FROM outbox WHERE state = 'pending'`).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next outbox row: %w", err)
	}
	return fromMS(v.Int64), v.Valid, nil
}

// DueOutbox returns up to limit pending rows due at or before now, in
// order of when they are due.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxRow, error) {
	rows, err := queryOutbox(ctx, s.db, `WHERE state = 'pending' AND next_try <= ? ORDER BY next_try, id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due outbox rows: %w", err)
	}
	return rows, nil
}

// Outbox returns every row, in order of id, for tests and tools.
func (s *Store) Outbox(ctx context.Context) ([]OutboxRow, error) {
	rows, err := queryOutbox(ctx, s.db, `ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("outbox rows: %w", err)
	}
	return rows, nil
}

// MarkSending claims a pending row before its SMTP transaction. It
// returns false if the row is no longer pending (a re-plan dropped it).
func (s *Store) MarkSending(ctx context.Context, id int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ? AND state = 'pending'`, id)
	if err != nil {
		return false, fmt.Errorf("mark outbox row %d sending: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// MarkSent records the server's acceptance of a row at at.
func (s *Store) MarkSent(ctx context.Context, id int64, at time.Time) error {
	return s.mark(ctx, id, `state = 'sent', sent_at = ?, last_error = ''`, ms(at))
}

// MarkRetry returns a row to pending, to be tried again at next.
func (s *Store) MarkRetry(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.mark(ctx, id, `state = 'pending', next_try = ?, last_error = ?`, ms(next), reason)
}

// MarkUntried returns a claimed row to pending without counting the
// attempt, to be tried again at next (sending is paused).
func (s *Store) MarkUntried(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.mark(ctx, id, `state = 'pending', attempts = max(attempts - 1, 0), next_try = ?, last_error = ?`, ms(next), reason)
}

// MarkFailed records a permanent failure; the row is not tried again.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string) error {
	return s.mark(ctx, id, `state = 'failed', last_error = ?`, reason)
}

// MarkExpired records that a row became useless before it could be sent.
func (s *Store) MarkExpired(ctx context.Context, id int64, reason string) error {
	return s.mark(ctx, id, `state = 'expired', last_error = ?`, reason)
}

func (s *Store) mark(ctx context.Context, id int64, set string, args ...any) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE outbox SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
		return fmt.Errorf("update outbox row %d (%s): %w", id, strings.Fields(set)[2], err)
	}
	return nil
}

// OutboxStats returns how many rows are in each state (pending, sending,
// sent, failed, expired, each present even when zero) and how long the
// most overdue pending row has been waiting (0 if none is overdue).
func (s *Store) OutboxStats(ctx context.Context) (counts map[string]int, oldestOverdue time.Duration, err error) {
	counts = map[string]int{Pending: 0, Sending: 0, Sent: 0, Failed: 0, Expired: 0}
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, 0, fmt.Errorf("outbox stats: %w", err)
		}
		counts[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("outbox stats: %w", err)
	}
	now := time.Now()
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(next_try) FROM outbox WHERE state = 'pending' AND next_try <= ?`, ms(now)).Scan(&oldest); err != nil {
		return nil, 0, fmt.Errorf("outbox stats: %w", err)
	}
	if oldest.Valid {
		oldestOverdue = now.Sub(fromMS(oldest.Int64))
	}
	return counts, oldestOverdue, nil
}
