package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// State is where an outbox row is in its life: pending -> sending ->
// sent, or failed (a permanent SMTP error) or expired (too late to be
// useful).
type State string

// The states of an outbox row.
const (
	Pending State = "pending"
	Sending State = "sending"
	Sent    State = "sent"
	Failed  State = "failed"
	Expired State = "expired"
)

// States lists every state, in the order of a row's life.
var States = []State{Pending, Sending, Sent, Failed, Expired}

// Kind is what an outbox row owes its recipient.
type Kind string

// The kinds of outbox rows: a reminder per (occurrence, offset,
// recipient), and the notices that bring what a recipient was told about
// a meeting in line with the schedule.
const (
	KindReminder  Kind = "reminder"
	KindMoved     Kind = "moved"
	KindCancelled Kind = "cancelled"
	KindBackOn    Kind = "back-on" // a cancelled meeting is on after all
)

// OutboxRow is one message owed.
type OutboxRow struct {
	ID          int64
	Ident       string
	Kind        Kind
	Occurrence  string // schedule.Occurrence.Key()
	Offset      time.Duration
	Recipient   string
	Zone        string // IANA name of the recipient's zone
	Unsubscribe string // one-click unsubscribe URL, or empty
	Title       string
	Starts      time.Time // the meeting start this row tells about
	PrevStarts  time.Time // for a "moved" notice, the start it moved from
	Due         time.Time
	NextTry     time.Time // when the row may be sent: Due or later (settling, retries)
	State       State
	Attempts    int
	LastError   string
	SentAt      time.Time
}

// OutboxChanges is what one re-plan does to the outbox.
type OutboxChanges struct {
	// Upsert inserts each row, or updates the row with the same Ident
	// if, and only if, it is still pending. An updated row keeps its
	// NextTry unless its Due changed.
	Upsert []OutboxRow
	// Delete drops these rows if they are still pending.
	Delete []int64
	// Expire records these rows as expired, with the reason, if they
	// are still pending.
	Expire map[int64]string
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

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// queryOutbox returns the rows of the outbox that where selects.
func queryOutbox(ctx context.Context, q querier, where string, args ...any) ([]OutboxRow, error) {
	return outboxRows(ctx, q, `SELECT `+outboxColumns+` FROM outbox `+where, args...)
}

// outboxRows runs query, which returns outboxColumns, and scans its rows.
func outboxRows(ctx context.Context, q querier, query string, args ...any) ([]OutboxRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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

// ReplanOutbox runs plan on the rows a re-plan needs, and applies the
// changes it returns, all in one transaction, so that the sender cannot
// send a row between the plan reading it and the plan changing it. The
// rows are every pending row, and every row being sent or sent about a
// meeting that starts after after (what recipients were told), in order
// of id. Re-plans run one at a time, also across the processes sharing a
// PostgreSQL database, and an ident is never inserted twice.
func (s *Store) ReplanOutbox(ctx context.Context, after time.Time, plan func([]OutboxRow) OutboxChanges) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Replicas that load one edit re-plan it one after the other:
		// each plan reads what the one before wrote.
		if err := s.serialize(ctx, tx, lockReplan); err != nil {
			return err
		}
		rows, err := queryOutbox(ctx, tx, `WHERE state = $1 OR (state IN ($2, $3) AND starts > $4) ORDER BY id`,
			Pending, Sending, Sent, ms(after))
		if err != nil {
			return err
		}
		ch := plan(rows)
		if len(ch.Upsert) > 0 {
			up, err := tx.PrepareContext(ctx, `INSERT INTO outbox (ident, kind, occurrence, offset_ms, recipient, zone, unsubscribe, title, starts, prev_starts, due, next_try, state)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				ON CONFLICT (ident) DO UPDATE SET zone = excluded.zone, unsubscribe = excluded.unsubscribe,
					title = excluded.title, starts = excluded.starts, due = excluded.due,
					next_try = CASE WHEN outbox.due = excluded.due THEN outbox.next_try ELSE excluded.next_try END
				WHERE outbox.state = excluded.state AND (outbox.zone, outbox.unsubscribe, outbox.title, outbox.starts, outbox.due)
					<> (excluded.zone, excluded.unsubscribe, excluded.title, excluded.starts, excluded.due)`)
			if err != nil {
				return err
			}
			defer up.Close()
			for _, r := range ch.Upsert {
				if _, err := up.ExecContext(ctx, insertArgs(r)...); err != nil {
					return err
				}
			}
		}
		for _, id := range ch.Delete {
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = $1 AND state = $2`, id, Pending); err != nil {
				return err
			}
		}
		for id, reason := range ch.Expire {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = $1, last_error = $2 WHERE id = $3 AND state = $4`,
				Expired, reason, id, Pending); err != nil {
				return err
			}
		}
		for _, r := range ch.Insert {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (ident, kind, occurrence, offset_ms, recipient, zone, unsubscribe, title, starts, prev_starts, due, next_try, state)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (ident) DO NOTHING`, insertArgs(r)...); err != nil {
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

// insertArgs are the values of a new pending row r; a zero NextTry means
// Due.
func insertArgs(r OutboxRow) []any {
	next := r.NextTry
	if next.IsZero() {
		next = r.Due
	}
	return []any{r.Ident, r.Kind, r.Occurrence, r.Offset.Milliseconds(), r.Recipient, r.Zone, r.Unsubscribe, r.Title,
		ms(r.Starts), ms(r.PrevStarts), ms(r.Due), ms(next), Pending}
}

// RecoverOutbox returns rows left "sending" by a crash to "pending": the
// message may or may not have been accepted, and sending it again is
// the only way not to lose it. On SQLite, whose one serve process calls
// it at start, that is every row being sent, and the rows the crashed
// process had reserved are free again; on PostgreSQL, shared by several
// processes, only the rows whose lease ran out before now (the others
// are being sent). It returns how many rows it recovered.
func (s *Store) RecoverOutbox(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		q, args := `UPDATE outbox SET state = $1, lease_until = 0 WHERE state = $2`, []any{Pending, Sending}
		if s.backend == postgresBackend {
			q, args = q+` AND lease_until <= $3`, append(args, ms(now))
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		if s.backend == sqliteBackend {
			_, err = tx.ExecContext(ctx, `UPDATE outbox SET lease_until = 0 WHERE state = $1 AND lease_until <> 0`, Pending)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("recover outbox: %w", err)
	}
	return int(n), nil
}

// NextOutbox returns when this store may next send a row: a pending
// row's next try, or when a row reserved or being sent by another store
// may be taken over (its lease ends); ok is false when nothing is
// pending or being sent.
func (s *Store) NextOutbox(ctx context.Context) (next time.Time, ok bool, err error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(CASE
			WHEN state = $2 THEN lease_until
			WHEN claimed_by <> $3 AND lease_until > next_try THEN lease_until
			ELSE next_try END)
		FROM outbox WHERE state IN ($1, $2)`, Pending, Sending, s.owner).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next outbox row: %w", err)
	}
	return fromMS(v.Int64), v.Valid, nil
}

// ReserveOutbox reserves for this store, until now+lease, up to limit
// rows to send at now, and returns them in order of when they are due:
// pending rows due at or before now that no other store holds, and rows
// whose sender's lease ran out (it died mid-send), which turn pending
// again. A reserved row stays pending (a re-plan may still change it),
// and other stores leave it alone until the lease ends; Claim takes it
// for its SMTP transaction. Stores reserving at once get different rows:
// on PostgreSQL the rows are chosen with FOR UPDATE SKIP LOCKED, on
// SQLite one write transaction runs at a time.
func (s *Store) ReserveOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxRow, error) {
	skipLocked := ""
	if s.backend == postgresBackend {
		skipLocked = ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := outboxRows(ctx, s.db, `UPDATE outbox SET state = $1, claimed_by = $2, lease_until = $3
		WHERE id IN (SELECT id FROM outbox
			WHERE (state = $1 AND next_try <= $4 AND (claimed_by = $2 OR lease_until <= $4)) OR (state = $5 AND lease_until <= $4)
			ORDER BY next_try, id LIMIT $6`+skipLocked+`)
		RETURNING `+outboxColumns, Pending, s.owner, ms(now.Add(lease)), ms(now), Sending, limit)
	if err != nil {
		return nil, fmt.Errorf("reserve outbox rows: %w", err)
	}
	slices.SortFunc(rows, func(a, b OutboxRow) int {
		return cmp.Or(a.NextTry.Compare(b.NextTry), cmp.Compare(a.ID, b.ID))
	})
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

// ReleaseOutbox gives up this store's reservations (see ReserveOutbox):
// the pending rows it reserved are free for every store at once, not
// when the lease runs out. A worker calls it when it pauses or stops.
func (s *Store) ReleaseOutbox(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE outbox SET lease_until = 0 WHERE state = $1 AND claimed_by = $2 AND lease_until <> 0`,
		Pending, s.owner); err != nil {
		return fmt.Errorf("release outbox rows: %w", err)
	}
	return nil
}

// Claim claims row id before its SMTP transaction: the row turns
// "sending", held by this store until now+lease, and the attempt is
// counted. It returns false if the row is not pending, or another
// store's lease holds it (see ReserveOutbox), or it no longer tells of
// the start starts (a re-plan dropped or moved it since it was read).
// One UPDATE decides, so that of several stores claiming a row at once,
// on one database, exactly one gets it.
func (s *Store) Claim(ctx context.Context, id int64, starts, now time.Time, lease time.Duration) (bool, error) {
	res, err := s.exec(ctx, `UPDATE outbox SET state = $1, attempts = attempts + 1, claimed_by = $2, lease_until = $3
		WHERE id = $4 AND starts = $5 AND state = $6 AND (claimed_by = $2 OR lease_until <= $7)`,
		Sending, s.owner, ms(now.Add(lease)), id, ms(starts), Pending, ms(now))
	if err != nil {
		return false, fmt.Errorf("claim outbox row %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// MarkSent records the server's acceptance of a row at at.
func (s *Store) MarkSent(ctx context.Context, id int64, at time.Time) error {
	return s.mark(ctx, id, Sent, `sent_at = $4, last_error = ''`, ms(at))
}

// MarkRetry returns a row to pending, to be tried again at next.
func (s *Store) MarkRetry(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.mark(ctx, id, Pending, `next_try = $4, last_error = $5`, ms(next), reason)
}

// MarkUntried returns a claimed row to pending without counting the
// attempt, to be tried again at next (sending is paused).
func (s *Store) MarkUntried(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.mark(ctx, id, Pending, `attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_try = $4, last_error = $5`, ms(next), reason)
}

// MarkFailed records a permanent failure; the row is not tried again.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string) error {
	return s.mark(ctx, id, Failed, `last_error = $4`, reason)
}

// MarkExpired records that a row became useless before it could be sent.
func (s *Store) MarkExpired(ctx context.Context, id int64, reason string) error {
	return s.mark(ctx, id, Expired, `last_error = $4`, reason)
}

// mark moves row id to state, setting the columns of set, whose
// arguments are $4 on, and ends this store's lease on it. A row that
// another store is sending is left to it.
func (s *Store) mark(ctx context.Context, id int64, state State, set string, args ...any) error {
	args = append([]any{state, id, s.owner}, args...)
	q := `UPDATE outbox SET state = $1, lease_until = 0, ` + set +
		` WHERE id = $2 AND (state <> '` + string(Sending) + `' OR claimed_by = $3)`
	if _, err := s.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("mark outbox row %d %s: %w", id, state, err)
	}
	return nil
}

// OutboxStats returns how many rows are in each state (pending, sending,
// sent, failed, expired, each present even when zero) and how long the
// most overdue pending row has been waiting (0 if none is overdue).
func (s *Store) OutboxStats(ctx context.Context) (counts map[State]int, oldestOverdue time.Duration, err error) {
	counts = map[State]int{}
	for _, st := range States {
		counts[st] = 0
	}
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state State
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
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(next_try) FROM outbox WHERE state = $1 AND next_try <= $2`, Pending, ms(now)).Scan(&oldest); err != nil {
		return nil, 0, fmt.Errorf("outbox stats: %w", err)
	}
	if oldest.Valid {
		oldestOverdue = now.Sub(fromMS(oldest.Int64))
	}
	return counts, oldestOverdue, nil
}
