package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// Version is what the store keeps about one published thing.
type Version struct {
	Sequence int       // rises by one with every change of content
	Created  time.Time // first seen
	Modified time.Time // content last changed; never moves backwards
}

// versionRow is a row of the versions table, as an exclusive store
// keeps it in memory: its fingerprint as a hash of it (the text of an
// event is 700 bytes, and the feed keeps it compressed), its times in
// Unix seconds, as the table holds them (20,000 rows at 10,000
// sessions).
type versionRow struct {
	print             printHash
	created, modified int64
	sequence          int32
	// same: read by this Stamp, with the text its caller gives (a row
	// that is not kept holds no hash to compare)
	same bool
}

// printHash is a hash of a fingerprint: half of its SHA-256, which no
// two texts share but by a collision no one has found (a hash that two
// texts could share by chance would tell a subscriber that a changed
// meeting did not change).
type printHash [16]byte

// hashPrint hashes print, read in place (unsafe.Slice: SHA-256 only
// reads it), without a copy of each event's text.
func hashPrint(print string) printHash {
	return hashPrintBytes(unsafe.Slice(unsafe.StringData(print), len(print)))
}

func hashPrintBytes(print []byte) (h printHash) {
	sum := sha256.Sum256(print)
	copy(h[:], sum[:])
	return h
}

func (r versionRow) version() Version {
	return Version{Sequence: int(r.sequence), Created: time.Unix(r.created, 0).UTC(), Modified: time.Unix(r.modified, 0).UTC()}
}

// Stamp records the content fingerprint of each key at time now and
// returns each key's version. A new key starts at sequence 0; a key whose
// fingerprint changed gets the next sequence and a Modified after its
// previous one; an unchanged key keeps its version, so that the same
// content renders the same bytes.
//
// Only the rows that changed are written, in one transaction. A SQLite
// store opened with OpenExclusive reads the table once and keeps it in
// memory from then on; any other store reads it in the transaction.
func (s *Store) Stamp(ctx context.Context, now time.Time, prints map[string]string) (map[string]Version, error) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	now = now.UTC().Truncate(time.Second)
	out := make(map[string]Version, len(prints))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// On PostgreSQL, replicas that load one edit stamp it one after
		// the other, each comparing with what the one before wrote: the
		// first gives the changed keys their next sequence, the others
		// find them unchanged, and all return the same versions.
		if err := s.serialize(ctx, tx, lockVersions); err != nil {
			return err
		}
		// The rows read now tell whether their text is the caller's
		// (same); the rows kept tell it by their hashes.
		old, read := s.versions, false
		if old == nil {
			var err error
			if old, err = s.readVersions(ctx, tx, prints); err != nil {
				return err
			}
			read = true
		}
		keep := s.lock != nil
		var changed []string
		rows := map[string]versionRow{}
		for key, print := range prints {
			r, ok := old[key]
			unchanged := r.same
			if !read {
				unchanged = ok && r.print == hashPrint(print)
			}
			r.same = false
			switch {
			case !ok:
				r = versionRow{created: now.Unix(), modified: now.Unix()}
			case !unchanged:
				r.sequence++
				// A second after the last change at least: never
				// backwards, and never the same for other content.
				r.modified = max(now.Unix(), r.modified+1)
			default:
				out[key] = r.version()
				if keep {
					// Assigned again, the row's key becomes the
					// caller's string, which it holds anyway, not a
					// second copy read from the table.
					old[key] = r
				}
				continue
			}
			if keep {
				r.print = hashPrint(print)
			}
			changed = append(changed, key)
			rows[key] = r
			out[key] = r.version()
		}
		if err := writeVersions(ctx, tx, changed, rows, prints); err != nil {
			return err
		}
		if keep {
			for key, r := range rows {
				old[key] = r
			}
			s.versions = old
		}
		return nil
	})
	if err != nil {
		// The transaction did not commit: read the table again next time.
		s.versions = nil
		return nil, fmt.Errorf("stamp versions: %w", err)
	}
	return out, nil
}

// readVersions reads the versions table: on PostgreSQL only the rows of
// the keys of prints (an edit stamps a few keys of a large table), on
// SQLite all of them, but a store not opened exclusively, which keeps
// none, keeps only those of prints. The table holds each fingerprint
// whole (replicas and older versions of convene read it); a row kept
// (OpenExclusive) holds its hash, and each row of a key of prints tells
// whether the table has its text (same), compared as it is read: a
// store that keeps nothing (`convene feed`) hashes nothing.
func (s *Store) readVersions(ctx context.Context, tx *sql.Tx, prints map[string]string) (map[string]versionRow, error) {
	old := make(map[string]versionRow, len(prints))
	q, args := `SELECT key, fingerprint, sequence, created, modified FROM versions`, []any(nil)
	if s.backend == postgresBackend {
		q, args = q+` WHERE key = ANY($1)`, []any{slices.Collect(maps.Keys(prints))}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Scanned as RawBytes, a row's key and fingerprint are not
	// allocated unless they are kept.
	var key, print sql.RawBytes
	for rows.Next() {
		var r versionRow
		if err := rows.Scan(&key, &print, &r.sequence, &r.created, &r.modified); err != nil {
			return nil, err
		}
		p, asked := prints[string(key)]
		if !asked && s.lock == nil {
			continue
		}
		if s.lock != nil {
			r.print = hashPrintBytes(print)
		}
		r.same = asked && p == string(print)
		old[string(key)] = r
	}
	return old, rows.Err()
}

// versionBatch is how many rows one INSERT writes: a new state file of
// 20,000 rows takes a hundred statements, not 20,000.
const versionBatch = 200

// writeVersions upserts the rows of keys, with their fingerprints from
// prints.
func writeVersions(ctx context.Context, tx *sql.Tx, keys []string, rows map[string]versionRow, prints map[string]string) error {
	for len(keys) > 0 {
		n := min(len(keys), versionBatch)
		args := make([]any, 0, 5*n)
		for _, key := range keys[:n] {
			r := rows[key]
			args = append(args, key, prints[key], r.sequence, r.created, r.modified)
		}
		q := `INSERT INTO versions (key, fingerprint, sequence, created, modified) VALUES ` +
			placeholders(n, 5) + ` ON CONFLICT (key) DO UPDATE SET
			fingerprint = excluded.fingerprint, sequence = excluded.sequence, modified = excluded.modified`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// placeholders returns rows groups of cols numbered parameters,
// "($1, $2), ($3, $4)" for 2 and 2.
func placeholders(rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", r*cols+c+1)
		}
		b.WriteByte(')')
	}
	return b.String()
}
