package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ErrNotFound means no subscriber or open confirmation matched.
var ErrNotFound = errors.New("not found")

// Subscriber is a person who signed up for reminders.
type Subscriber struct {
	ID        int64
	Email     string
	Zone      string   // IANA name: reminders show times in it
	Series    []string // series ids to be reminded of; empty = every meeting
	Confirmed bool
	Created   time.Time
	// Key is random and names the subscriber in unsubscribe links. It
	// is a secret: show it to no one but the subscriber.
	Key string
	// Refused counts the reminders in a row that the subscriber's mail
	// server refused for good (5xx), and LastReply is its last such
	// answer. Suspended is when mail to the address stopped (zero while
	// it gets mail): see Refused.
	Refused   int
	LastReply string
	Suspended time.Time
}

// LogValue keeps the address out of logs: a logged subscriber shows its
// id only.
func (s Subscriber) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", s.ID), slog.Bool("confirmed", s.Confirmed))
}

const subscriberCols = `id, email, zone, series, confirmed, created, key, refused, last_reply, suspended`

func scanSubscriber(row interface{ Scan(...any) error }) (Subscriber, error) {
	var s Subscriber
	var series string
	var created, suspended int64
	if err := row.Scan(&s.ID, &s.Email, &s.Zone, &series, &s.Confirmed, &created, &s.Key, &s.Refused, &s.LastReply, &suspended); err != nil {
		return s, err
	}
	if suspended != 0 {
		s.Suspended = time.Unix(suspended, 0).UTC()
	}
	s.Series = splitSeries(series)
	s.Created = time.Unix(created, 0).UTC()
	return s, nil
}

func splitSeries(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func joinSeries(ids []string) string { return strings.Join(ids, " ") }

// Subscribers returns the confirmed subscribers who get mail (not
// suspended), oldest first.
func (s *Store) Subscribers(ctx context.Context) ([]Subscriber, error) {
	return s.subscribers(ctx, `WHERE confirmed = 1 AND suspended = 0`)
}

// AllSubscribers returns every subscriber, confirmed or not, oldest first.
func (s *Store) AllSubscribers(ctx context.Context) ([]Subscriber, error) {
	return s.subscribers(ctx, ``)
}

func (s *Store) subscribers(ctx context.Context, where string) ([]Subscriber, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+subscriberCols+` FROM subscribers `+where+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	defer rows.Close()
	var out []Subscriber
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			return nil, fmt.Errorf("list subscribers: %w", err)
		}
		out = append(out, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	return out, nil
}

// SignUp is one request, from the web form, to get reminders.
type SignUp struct {
	Email   string
	Zone    string
	Series  []string
	Nonce   string    // names the confirmation; random, from the caller's token
	Expires time.Time // when the confirmation lapses
}

// MailLimit caps the confirmation mails to one address: at most Max in
// each Window.
type MailLimit struct {
	Max    int
	Window time.Duration
}

// SignUp records su at time now. A new address gets an unconfirmed row; a
// known one keeps its current settings, confirmed or not, until the new
// confirmation is followed. It reports whether a confirmation mail may be
// sent; when the address has had its limit, it returns false and changes
// nothing, so that an older link still works. Unconfirmed rows whose
// confirmation lapsed are deleted on the way.
func (s *Store) SignUp(ctx context.Context, now time.Time, su SignUp, lim MailLimit) (send bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscribers WHERE confirmed = 0 AND pending_expires < $1`, now.Unix()); err != nil {
			return err
		}
		var id, mails, window int64
		err := tx.QueryRowContext(ctx, `SELECT id, mails, mail_window FROM subscribers WHERE email = $1`, su.Email).Scan(&id, &mails, &window)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			key, err := randomKey()
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO subscribers (email, zone, series, created, key,
				pending, pending_zone, pending_series, pending_expires, mails, mail_window)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)`,
				su.Email, su.Zone, joinSeries(su.Series), now.Unix(), key,
				su.Nonce, su.Zone, joinSeries(su.Series), su.Expires.Unix(), now.Unix())
			send = err == nil
			return err
		case err != nil:
			return err
		}
		if now.Unix()-window >= int64(lim.Window/time.Second) {
			mails, window = 0, now.Unix()
		}
		if mails >= int64(lim.Max) {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE subscribers SET pending = $1, pending_zone = $2, pending_series = $3,
			pending_expires = $4, mails = $5, mail_window = $6 WHERE id = $7`,
			su.Nonce, su.Zone, joinSeries(su.Series), su.Expires.Unix(), mails+1, window, id)
		send = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sign up: %w", err)
	}
	return send, nil
}

// Confirm follows the confirmation named by nonce at time now: the
// subscriber is confirmed with the zone and series of that sign-up, and
// the confirmation is spent. It returns ErrNotFound when no open
// confirmation has that nonce (spent, replaced, lapsed or never made).
// A suspended subscriber gets mail again (see Refused).
func (s *Store) Confirm(ctx context.Context, now time.Time, nonce string) (Subscriber, error) {
	sub, err := scanSubscriber(s.db.QueryRowContext(ctx, `UPDATE subscribers SET confirmed = 1, zone = pending_zone,
		series = pending_series, pending = NULL, pending_expires = 0, `+resumed+`
		WHERE pending = $1 AND pending_expires >= $2 RETURNING `+subscriberCols, nonce, now.Unix()))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Subscriber{}, fmt.Errorf("confirm: %w", err)
	}
	return sub, nil
}

// SubscriberByKey returns the subscriber whose key is key, or ErrNotFound.
func (s *Store) SubscriberByKey(ctx context.Context, key string) (Subscriber, error) {
	sub, err := scanSubscriber(s.db.QueryRowContext(ctx, `SELECT `+subscriberCols+` FROM subscribers WHERE key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, fmt.Errorf("subscriber: %w", ErrNotFound)
	}
	if err != nil {
		return sub, fmt.Errorf("subscriber: %w", err)
	}
	return sub, nil
}

// Unsubscribe deletes the subscriber whose key is key, address and all.
// It returns ErrNotFound when there is none.
func (s *Store) Unsubscribe(ctx context.Context, key string) error {
	return s.remove(ctx, `key = $1`, key)
}

// RemoveSubscriber deletes the subscriber with address email, or
// returns ErrNotFound.
func (s *Store) RemoveSubscriber(ctx context.Context, email string) error {
	return s.remove(ctx, `email = $1`, email)
}

func (s *Store) remove(ctx context.Context, where string, arg any) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM subscribers WHERE `+where, arg)
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	} else if n == 0 {
		return fmt.Errorf("unsubscribe: %w", ErrNotFound)
	}
	return nil
}

// SetZone changes the zone of the subscriber whose key is key.
func (s *Store) SetZone(ctx context.Context, key, zone string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE subscribers SET zone = $1 WHERE key = $2`, zone, key)
	if err != nil {
		return fmt.Errorf("set zone: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set zone: %w", err)
	} else if n == 0 {
		return fmt.Errorf("set zone: %w", ErrNotFound)
	}
	return nil
}

// AddSubscriber adds email as a confirmed subscriber at time now, or
// confirms it and sets its zone and series if it is known: a maintainer
// vouches for the address, and a suspended one gets mail again.
func (s *Store) AddSubscriber(ctx context.Context, now time.Time, email, zone string, series []string) (Subscriber, error) {
	key, err := randomKey()
	if err != nil {
		return Subscriber{}, err
	}
	sub, err := scanSubscriber(s.db.QueryRowContext(ctx, `INSERT INTO subscribers (email, zone, series, confirmed, created, key)
		VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (email) DO UPDATE SET
		zone = excluded.zone, series = excluded.series, confirmed = 1, pending = NULL, pending_expires = 0, `+resumed+`
		RETURNING `+subscriberCols, email, zone, joinSeries(series), now.Unix(), key))
	if err != nil {
		return Subscriber{}, fmt.Errorf("add subscriber: %w", err)
	}
	return sub, nil
}

// Secret returns the secret called name, made of size random bytes the
// first time it is asked for and kept from then on.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var v []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

func randomKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
