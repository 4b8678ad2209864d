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
// reminders at once, as the mailer does (reserve a batch, claim each row,
// record it): the batches do not overlap, so every reserved row is
// claimed by its reserver, and each row is claimed once and sent once.
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
				rows, err := s.ReserveOutbox(ctx, now, time.Minute, 16)
				if err != nil || len(rows) == 0 {
					return err
				}
				for _, r := range rows {
					ok, err := s.Claim(ctx, r.ID, r.Starts, now, time.Minute)
					if err != nil {
						return err
					}
					if !ok {
						return fmt.Errorf("replica %d reserved row %s but could not claim it", i, r.Ident)
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

// TestClaimLease: a replica dies while it sends one row and holds
// another reserved; no other replica may take either before the lease
// runs out, and one takes both after; what the first records late does
// not undo the new holder's claim.
func TestClaimLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		const lease = time.Minute
		rs := openShared(t, newState(), 2)
		a, b := rs[0], rs[1]
		dueRows(t, a, now, 2)
		rows, err := a.ReserveOutbox(ctx, now, lease, 10)
		if err != nil || len(rows) != 2 {
			t.Fatalf("ReserveOutbox = %d rows, %v; want 2", len(rows), err)
		}
		sending, reserved := rows[0], rows[1]
		if ok, err := a.Claim(ctx, sending.ID, sending.Starts, now, lease); !ok || err != nil {
			t.Fatalf("first claim = %v, %v", ok, err)
		}
		// a dies here.
		during := now.Add(lease / 2)
		if got, err := b.ReserveOutbox(ctx, during, lease, 10); err != nil || len(got) != 0 {
			t.Fatalf("ReserveOutbox while the lease runs = %d rows, %v; want none", len(got), err)
		}
		for _, r := range rows {
			if ok, _ := b.Claim(ctx, r.ID, r.Starts, during, lease); ok {
				t.Fatalf("claimed row %s under another's lease", r.Ident)
			}
		}
		if next, ok, err := b.NextOutbox(ctx); err != nil || !ok || !next.Equal(now.Add(lease)) {
			t.Fatalf("NextOutbox = %v, %v, %v; want the lease's end %v", next, ok, err, now.Add(lease))
		}
		later := now.Add(lease + time.Second)
		got, err := b.ReserveOutbox(ctx, later, lease, 10)
		if err != nil || len(got) != 2 || got[0].State != Pending {
			t.Fatalf("ReserveOutbox after the lease = %v, %v; want both rows, pending", got, err)
		}
		for _, r := range got {
			if ok, err := b.Claim(ctx, r.ID, r.Starts, later, lease); !ok || err != nil {
				t.Fatalf("claim of %s after the lease = %v, %v", r.Ident, ok, err)
			}
		}
		// a comes back and records its send late: the row stays b's.
		if err := a.MarkRetry(ctx, sending.ID, later, "timeout"); err != nil {
			t.Fatal(err)
		}
		all, _ := a.Outbox(ctx)
		if r := all[0]; r.State != Sending || r.Attempts != 2 || r.LastError != "" || r.ID != sending.ID {
			t.Fatalf("after the old holder recorded late: %s, %d attempts, %q; want b's claim intact", r.State, r.Attempts, r.LastError)
		}
		if all[1].Attempts != 1 || all[1].ID != reserved.ID {
			t.Fatalf("the row a only reserved has %d attempts, want 1 (it was never sent)", all[1].Attempts)
		}
	})
}

// A replica that pauses or stops releases what it reserved: another
// takes it at once, not when the lease runs out. What it is sending
// stays its own.
func TestReleaseOutbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		rs := openShared(t, newState(), 2)
		a, b := rs[0], rs[1]
		dueRows(t, a, now, 3)
		rows, err := a.ReserveOutbox(ctx, now, time.Minute, 10)
		if err != nil || len(rows) != 3 {
			t.Fatalf("ReserveOutbox = %d rows, %v; want 3", len(rows), err)
		}
		if ok, err := a.Claim(ctx, rows[0].ID, rows[0].Starts, now, time.Minute); !ok || err != nil {
			t.Fatalf("Claim = %v, %v", ok, err)
		}
		if err := a.ReleaseOutbox(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := b.ReserveOutbox(ctx, now, time.Minute, 10)
		if err != nil || len(got) != 2 || got[0].ID != rows[1].ID || got[1].ID != rows[2].ID {
			t.Fatalf("ReserveOutbox after the release = %v, %v; want the 2 rows not being sent", got, err)
		}
	})
}

// TestRecoverOutbox: a serve process that starts recovers what a crash
// left being sent. On SQLite, the one serve process of the file takes
// every row back, and the rows reserved before the crash; on PostgreSQL,
// only the rows whose lease ran out: the others are another replica's.
func TestRecoverOutbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		state := newState()
		crashed := openState(t, state)
		dueRows(t, crashed, now, 3)
		rows, err := crashed.ReserveOutbox(ctx, now, time.Minute, 10)
		if err != nil || len(rows) != 3 {
			t.Fatalf("ReserveOutbox = %d rows, %v; want 3", len(rows), err)
		}
		for _, r := range rows[:2] {
			crashed.Claim(ctx, r.ID, r.Starts, now, time.Minute)
		}
		started := openState(t, state)
		n, err := started.RecoverOutbox(ctx, now.Add(time.Second))
		want, free := 2, 3
		if started.backend == postgresBackend {
			want, free = 0, 0
		}
		if err != nil || n != want {
			t.Fatalf("RecoverOutbox within the lease = %d, %v; want %d", n, err, want)
		}
		if got, _ := started.ReserveOutbox(ctx, now.Add(time.Second), time.Minute, 10); len(got) != free {
			t.Fatalf("%d rows free after RecoverOutbox, want %d", len(got), free)
		}
		if started.backend == postgresBackend {
			if n, err := started.RecoverOutbox(ctx, now.Add(2*time.Minute)); err != nil || n != 2 {
				t.Fatalf("RecoverOutbox after the lease = %d, %v; want 2", n, err)
			}
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

// TestOutboxFleetGenerated drives replicas sharing one outbox (three on
// PostgreSQL, the one serve process on SQLite) through random runs of
// what a fleet does, one step at a time on a shared clock: reserve a
// batch, claim a reserved row and start its transaction, end a
// transaction (sent, or a retry), die (what it held is abandoned, the
// message in flight perhaps delivered) and start again, and time passing
// (a transaction ends within the lease, as one SMTP transaction does).
// Whatever the order, every reminder is sent, and a row is claimed again
// only after a retry or after its sender died with it in flight: at
// most one duplicate per death, never one between replicas alive.
func TestOutboxFleetGenerated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		const lease = time.Minute
		type flight struct {
			id int64
			at time.Time // claimed
		}
		type replica struct {
			s        *Store
			reserved []OutboxRow
			inflight []flight
		}
		for run := range 2 {
			state := newState()
			rng := rand.New(rand.NewPCG(uint64(run), 14))
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			start := func() *replica {
				s, err := OpenExclusive(state)
				if err != nil {
					t.Fatal(err)
				}
				return &replica{s: s}
			}
			// SQLite has one serve process, which a death restarts.
			fleet := []*replica{start()}
			if fleet[0].s.backend == postgresBackend {
				fleet = append(fleet, start(), start())
			}
			const rows = 120
			dueRows(t, fleet[0].s, now, rows)
			claims, allowed := map[int64]int{}, map[int64]int{}
			claim := func(r *replica, row OutboxRow) {
				ok, err := r.s.Claim(ctx, row.ID, row.Starts, now, lease)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					claims[row.ID]++
					r.inflight = append(r.inflight, flight{row.ID, now})
				}
			}
			end := func(r *replica, f flight, retry bool) {
				var err error
				if retry {
					allowed[f.id]++ // a temporary failure: tried again
					err = r.s.MarkRetry(ctx, f.id, now, "451 try later")
				} else {
					err = r.s.MarkSent(ctx, f.id, now)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			for range 700 {
				r := fleet[rng.IntN(len(fleet))]
				switch op := rng.IntN(20); {
				case op < 4: // reserve a batch
					got, err := r.s.ReserveOutbox(ctx, now, lease, 1+rng.IntN(8))
					if err != nil {
						t.Fatal(err)
					}
					r.reserved = append(r.reserved, got...)
				case op < 10: // claim the next reserved row
					if len(r.reserved) > 0 {
						claim(r, r.reserved[0])
						r.reserved = r.reserved[1:]
					}
				case op < 16: // a transaction ends
					if len(r.inflight) > 0 {
						end(r, r.inflight[0], rng.IntN(8) == 0)
						r.inflight = r.inflight[1:]
					}
				case op < 17: // the replica dies and starts again
					for _, f := range r.inflight {
						allowed[f.id]++
					}
					r.s.Close()
					*r = *start()
					if _, err := r.s.RecoverOutbox(ctx, now); err != nil {
						t.Fatal(err)
					}
				default: // time passes; transactions end within the lease
					later := now.Add(time.Duration(rng.IntN(20)) * time.Second)
					for _, r := range fleet {
						for len(r.inflight) > 0 && !r.inflight[0].at.Add(lease).After(later) {
							end(r, r.inflight[0], false)
							r.inflight = r.inflight[1:]
						}
					}
					now = later
				}
			}
			// The fleet finishes, all alive, each transaction ending
			// before the lease runs out.
			for round := 0; ; round++ {
				busy := false
				for _, r := range fleet {
					for _, f := range r.inflight {
						end(r, f, false)
					}
					r.inflight = nil
				}
				for _, r := range fleet {
					got, err := r.s.ReserveOutbox(ctx, now, lease, 50)
					if err != nil {
						t.Fatal(err)
					}
					for _, row := range append(r.reserved, got...) {
						claim(r, row)
					}
					r.reserved = nil
					busy = busy || len(r.inflight) > 0
				}
				if !busy && round > 0 {
					break
				}
				now = now.Add(lease)
			}
			all, err := fleet[0].s.Outbox(ctx)
			if err != nil {
				t.Fatal(err)
			}
			deaths := 0
			for _, row := range all {
				if row.State != Sent || claims[row.ID] != 1+allowed[row.ID] {
					t.Fatalf("run %d: row %s is %s, claimed %d times; want sent, claimed once plus %d (retries and deaths in flight)",
						run, row.Ident, row.State, claims[row.ID], allowed[row.ID])
				}
				deaths += allowed[row.ID]
			}
			t.Logf("run %d: %d rows sent, %d claimed again after a retry or a death", run, len(all), deaths)
			for _, r := range fleet {
				r.s.Close()
			}
		}
	})
}
