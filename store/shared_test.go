package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

// The tests in this file open one state from several stores at once, as
// several serve processes share one PostgreSQL database. SQLite runs
// them too: its stores on one file must agree in the same way.

// openShared opens state n times, as n replicas would.
func openShared(t *testing.T, state string, n int) []*Store {
	t.Helper()
	out := make([]*Store, n)
	for i := range out {
		out[i] = openState(t, state)
	}
	return out
}

// parallel runs f(i) for i in [0, n) at once and fails on the first error.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	var start sync.WaitGroup
	start.Add(1)
	for i := range n {
		go func() {
			start.Wait()
			errs <- f(i)
		}()
	}
	start.Done()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Replicas that start together on a new PostgreSQL database each find it
// migrated, each migration applied once. (A new SQLite file has one
// serve process, and a second Open refuses the file while it is empty.)
func TestOpenConcurrent(t *testing.T) {
	state := newDatabase(t, testPostgres(t))
	stores := make([]*Store, 4)
	parallel(t, len(stores), func(i int) error {
		var err error
		stores[i], err = Open(state)
		return err
	})
	for _, s := range stores {
		defer s.Close()
	}
	if err := stores[0].Writable(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n, top int
	if err := stores[0].db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &top); err != nil ||
		n != SchemaVersion() || top != SchemaVersion() {
		t.Fatalf("schema_migrations: %d rows, last %d, %v; want each of %d once", n, top, err, SchemaVersion())
	}
}

// TestStampReplicas: two replicas load the same edits at once, with
// clocks a little apart. Over random rounds, both get the same versions,
// and a key's sequence counts the rounds that changed it: once, not once
// per replica.
func TestStampReplicas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		replicas := openShared(t, newState(), 2)
		rng := rand.New(rand.NewPCG(14, 2))
		prints := map[string]string{}
		changes := map[string]int{}
		for i := range 300 {
			prints[fmt.Sprint("k", i)] = "v0"
		}
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := replicas[0].Stamp(ctx, now, prints); err != nil {
			t.Fatal(err)
		}
		for round := range 25 {
			for k := range prints {
				if rng.IntN(10) == 0 {
					prints[k] = fmt.Sprint("v", round+1)
					changes[k]++
				}
			}
			now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
			skew := time.Duration(rng.IntN(2000)) * time.Millisecond
			got := make([]map[string]Version, 2)
			parallel(t, 2, func(i int) error {
				var err error
				got[i], err = replicas[i].Stamp(ctx, now.Add(time.Duration(i)*skew), prints)
				return err
			})
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Fatalf("round %d: the replicas' versions differ", round)
			}
			for k, v := range got[0] {
				if v.Sequence != changes[k] {
					t.Fatalf("round %d: %s has sequence %d after %d changes", round, k, v.Sequence, changes[k])
				}
			}
		}
	})
}

// dueRows plans n reminders due before now, one per recipient.
func dueRows(t *testing.T, s *Store, now time.Time, n int) {
	t.Helper()
	var ch OutboxChanges
	for i := range n {
		ch.Upsert = append(ch.Upsert, OutboxRow{Ident: fmt.Sprint("r", i), Kind: KindReminder, Occurrence: "a",
			Recipient: fmt.Sprintf("m%d@example.org", i), Zone: "UTC", Title: "A",
			Starts: now.Add(time.Hour), Due: now.Add(-time.Minute)})
	}
	if err := s.ReplanOutbox(context.Background(), now, func([]OutboxRow) OutboxChanges { return ch }); err != nil {
		t.Fatal(err)
	}
}

// TestClaimReplicas: four replicas send from one outbox of 1,000 due
// reminders at once, as the mailer does (read the due rows, claim each,
// record it): every row is claimed by exactly one and sent once.
func TestClaimReplicas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		replicas := openShared(t, newState(), 4)
		dueRows(t, replicas[0], now, 1000)
		claims := make([]map[int64]int, len(replicas))
		parallel(t, len(replicas), func(i int) error {
			s, mine := replicas[i], map[int64]int{}
			claims[i] = mine
			for {
				rows, err := s.DueOutbox(ctx, now, 64)
				if err != nil || len(rows) == 0 {
					return err
				}
				for _, r := range rows {
					ok, err := s.Claim(ctx, r.ID, r.Starts, now, time.Minute)
					if err != nil {
						return err
					}
					if !ok {
						continue
					}
					mine[r.ID]++
					if err := s.MarkSent(ctx, r.ID, now); err != nil {
						return err
					}
				}
			}
		})
		total := map[int64]int{}
		for i, mine := range claims {
			for id, n := range mine {
				total[id] += n
			}
			t.Logf("replica %d claimed %d rows", i, len(mine))
		}
		rows, err := replicas[0].Outbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if total[r.ID] != 1 || r.State != Sent || r.Attempts != 1 {
				t.Fatalf("row %s: claimed %d times, %s after %d attempts; want claimed once, sent after 1", r.Ident, total[r.ID], r.State, r.Attempts)
			}
		}
		if len(rows) != 1000 || len(total) != 1000 {
			t.Fatalf("%d rows, %d claimed; want 1000 of each", len(rows), len(total))
		}
	})
}

// TestClaimLease: a replica dies holding a row; another may not take it
// before the lease runs out, and takes it after; what the first records
// late does not undo the second's claim. RecoverOutbox at start takes
// back every row on SQLite (one serve process), and only the rows whose
// lease ran out on PostgreSQL (the others are being sent).
func TestClaimLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		const lease = time.Minute
		rs := openShared(t, newState(), 2)
		a, b := rs[0], rs[1]
		dueRows(t, a, now, 2)
		rows, _ := a.DueOutbox(ctx, now, 10)
		for _, r := range rows {
			if ok, err := a.Claim(ctx, r.ID, r.Starts, now, lease); !ok || err != nil {
				t.Fatalf("first claim = %v, %v", ok, err)
			}
		}
		held := rows[0]
		due := func(at time.Time) int {
			t.Helper()
			rows, err := b.DueOutbox(ctx, at, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(rows)
		}
		if n := due(now.Add(lease / 2)); n != 0 {
			t.Fatalf("%d rows due while their lease runs, want 0", n)
		}
		if ok, _ := b.Claim(ctx, held.ID, held.Starts, now.Add(lease/2), lease); ok {
			t.Fatal("claimed a row under another's lease")
		}
		if next, ok, err := b.NextOutbox(ctx); err != nil || !ok || !next.Equal(now.Add(lease)) {
			t.Fatalf("NextOutbox = %v, %v, %v; want the lease's end %v", next, ok, err, now.Add(lease))
		}
		later := now.Add(lease + time.Second)
		if n := due(later); n != 2 {
			t.Fatalf("%d rows due after the lease ran out, want 2", n)
		}
		if ok, err := b.Claim(ctx, held.ID, held.Starts, later, lease); !ok || err != nil {
			t.Fatalf("claim after the lease = %v, %v", ok, err)
		}
		// a wakes up and records its send: the row stays b's.
		if err := a.MarkRetry(ctx, held.ID, later, "timeout"); err != nil {
			t.Fatal(err)
		}
		all, _ := a.Outbox(ctx)
		if r := all[0]; r.State != Sending || r.Attempts != 2 || r.LastError != "" {
			t.Fatalf("after the old holder recorded late: %s, %d attempts, %q; want b's claim intact", r.State, r.Attempts, r.LastError)
		}
		// A replica starting now recovers the other row, whose lease ran
		// out, but not b's, on PostgreSQL; both on SQLite.
		n, err := a.RecoverOutbox(ctx, later)
		want := 1
		if a.backend == sqliteBackend {
			want = 2
		}
		if err != nil || n != want {
			t.Fatalf("RecoverOutbox = %d, %v; want %d", n, err, want)
		}
		if err := b.MarkSent(ctx, held.ID, later); err != nil {
			t.Fatal(err)
		}
		all, _ = a.Outbox(ctx)
		if a.backend == postgresBackend && (all[0].State != Sent || all[1].State != Pending) {
			t.Fatalf("rows %s, %s; want sent, pending", all[0].State, all[1].State)
		}
	})
}

// TestReplanReplicas: replicas that re-plan the same edit at once do it
// one after the other: a notice is planned by exactly one of them (each
// plan sees what the ones before wrote) and inserted once.
func TestReplanReplicas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		replicas := openShared(t, newState(), 4)
		dueRows(t, replicas[0], now, 50)
		notice := OutboxRow{Ident: "moved", Kind: KindMoved, Occurrence: "a", Recipient: "m0@example.org", Zone: "UTC",
			Title: "A", Starts: now.Add(2 * time.Hour), Due: now}
		var mu sync.Mutex
		planned := 0
		parallel(t, len(replicas), func(i int) error {
			return replicas[i].ReplanOutbox(ctx, now, func(rows []OutboxRow) OutboxChanges {
				var ch OutboxChanges
				for _, r := range rows {
					if r.Ident == notice.Ident {
						return ch
					}
					moved := r
					moved.Starts = now.Add(2 * time.Hour)
					ch.Upsert = append(ch.Upsert, moved)
				}
				mu.Lock()
				planned++
				mu.Unlock()
				time.Sleep(50 * time.Millisecond) // a slow plan: the others wait
				ch.Insert = []OutboxRow{notice}
				return ch
			})
		})
		rows, err := replicas[0].Outbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if planned != 1 || len(rows) != 51 {
			t.Fatalf("the notice was planned %d times, and the outbox has %d rows; want 1 and 51", planned, len(rows))
		}
		for _, r := range rows {
			if !r.Starts.Equal(now.Add(2 * time.Hour)) {
				t.Fatalf("row %s starts %v, want the moved start", r.Ident, r.Starts)
			}
		}
	})
}

// A secret made by one replica is the one every replica uses, even when
// they ask for it at once: a link signed by one is good on another.
func TestSecretShared(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		replicas := openShared(t, newState(), 4)
		got := make([][]byte, len(replicas))
		parallel(t, len(replicas), func(i int) error {
			var err error
			got[i], err = replicas[i].Secret(context.Background(), "web", 32)
			return err
		})
		for i := range got {
			if len(got[i]) != 32 || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("replica %d's secret %x differs from replica 0's %x", i, got[i], got[0])
			}
		}
	})
}
