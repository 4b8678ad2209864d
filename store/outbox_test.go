package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestReplanOutbox: a re-plan updates pending rows in place (keeping
// their next try unless they are due at another time), never touches a
// sent row, expires and drops pending rows, and inserts a notice once;
// the sender cannot claim a row that a re-plan moved after it was read.
func TestReplanOutbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		s := openState(t, newState())
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		at20, at21 := now.Add(44*time.Hour), now.Add(45*time.Hour)
		row := func(ident string, starts time.Time) OutboxRow {
			return OutboxRow{Ident: ident, Kind: KindReminder, Occurrence: "a", Recipient: "x@example.org", Zone: "UTC",
				Title: "A", Starts: starts, Due: starts.Add(-time.Hour), NextTry: starts.Add(-time.Hour)}
		}
		replan := func(ch OutboxChanges) []OutboxRow {
			t.Helper()
			var read []OutboxRow
			if err := s.ReplanOutbox(ctx, now, func(rows []OutboxRow) OutboxChanges { read = rows; return ch }); err != nil {
				t.Fatal(err)
			}
			return read
		}
		replan(OutboxChanges{Upsert: []OutboxRow{row("r1", at20), row("r2", at20), row("r3", at20), row("r4", at20)}})
		rows, _ := s.Outbox(ctx)
		if len(rows) != 4 {
			t.Fatalf("%d rows, want 4", len(rows))
		}
		stale := rows[0] // the sender reads r1 at 20:00 ...
		if err := s.MarkSent(ctx, rows[1].ID, now); err != nil {
			t.Fatal(err)
		}
		// ... a re-plan moves r1 and r2 (sent) to 21:00, held until later,
		// expires r3 and drops r4, and queues a notice twice.
		held := row("r1", at21)
		held.NextTry = at21
		notice := OutboxRow{Ident: "n1", Kind: KindMoved, Occurrence: "a", Recipient: "x@example.org", Zone: "UTC", Title: "A", Starts: at21, Due: now}
		read := replan(OutboxChanges{Upsert: []OutboxRow{held, row("r2", at21)}, Expire: map[int64]string{rows[2].ID: "missed"},
			Delete: []int64{rows[3].ID}, Insert: []OutboxRow{notice, notice}})
		if len(read) != 4 || read[1].State != Sent {
			t.Errorf("the re-plan read %d rows (%v), want the 4 pending and sent ones", len(read), read)
		}
		if ok, err := s.Claim(ctx, stale.ID, stale.Starts, now, time.Minute); err != nil || ok {
			t.Errorf("Claim of a row moved since it was read = %v, %v; want false", ok, err)
		}
		rows, _ = s.Outbox(ctx)
		got := map[string]string{}
		for _, r := range rows {
			got[r.Ident] = string(r.State) + " " + r.Starts.Format("15:04") + " next " + r.NextTry.Format("15:04") + " " + r.LastError
		}
		want := map[string]string{
			"r1": "pending 21:00 next 21:00 ",
			"r2": "sent 20:00 next 19:00 ",
			"r3": "expired 20:00 next 19:00 missed",
			"n1": "pending 21:00 next 00:00 ",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %q, want %q", k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("rows %v, want %v", got, want)
		}
		counts, _, err := s.OutboxStats(ctx)
		if err != nil || counts[Expired] != 1 || counts[Pending] != 2 || counts[Failed] != 0 {
			t.Errorf("OutboxStats = %v, %v; want 1 expired, 2 pending, every state present", counts, err)
		}
	})
}

// BenchmarkOutboxSend is the store's work for one message as the mailer
// does it, on each backend: a reservation of 64 rows shared by 64
// messages, then the claim and the record of each.
func BenchmarkOutboxSend(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var ch OutboxChanges
		for i := range b.N {
			ch.Upsert = append(ch.Upsert, OutboxRow{Ident: fmt.Sprint("r", i), Kind: KindReminder, Occurrence: "a",
				Recipient: fmt.Sprintf("m%d@example.org", i), Zone: "UTC", Title: "A", Starts: now.Add(time.Hour), Due: now})
		}
		if err := s.ReplanOutbox(ctx, now, func([]OutboxRow) OutboxChanges { return ch }); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		sent := 0
		for sent < b.N {
			rows, err := s.ReserveOutbox(ctx, now, time.Minute, 64)
			if err != nil || len(rows) == 0 {
				b.Fatalf("ReserveOutbox = %d rows, %v", len(rows), err)
			}
			for _, r := range rows {
				if ok, err := s.Claim(ctx, r.ID, r.Starts, now, time.Minute); !ok || err != nil {
					b.Fatalf("Claim = %v, %v", ok, err)
				}
				if err := s.MarkSent(ctx, r.ID, now); err != nil {
					b.Fatal(err)
				}
				sent++
			}
		}
	})
}
