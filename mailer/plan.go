package mailer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// Kinds of outbox rows.
const (
	KindReminder  = "reminder"
	KindMoved     = "moved"
	KindCancelled = "cancelled"
)

// Recipient is someone who gets reminders.
type Recipient struct {
	Address string
	Zone    *time.Location // times are shown here first; nil means the calendar's zone
	// Series limits reminders to these session or series ids; empty
	// means every meeting.
	Series []string
	// UnsubscribeURL is the one-click (RFC 8058) unsubscribe link of a
	// subscriber; empty for a static recipient.
	UnsubscribeURL string
}

func (r Recipient) wants(id string) bool {
	return len(r.Series) == 0 || slices.Contains(r.Series, id)
}

// Reminder is one reminder that should exist.
type Reminder struct {
	Occurrence schedule.Occurrence
	Offset     time.Duration // before the start
	Recipient  Recipient
	Due        time.Time // Occurrence.Start minus Offset
}

// Ident identifies the reminder across re-plans: (occurrence, offset,
// recipient). The Message-ID is derived from it.
func (r Reminder) Ident() string {
	return reminderIdent(r.Occurrence.Key(), r.Offset, r.Recipient.Address)
}

func reminderIdent(key string, offset time.Duration, addr string) string {
	return KindReminder + "|" + key + "|" + offset.String() + "|" + strings.ToLower(addr)
}

// Window bounds what Plan produces.
type Window struct {
	Now time.Time
	// Grace is how late a reminder may still go out; one due earlier
	// than Now-Grace is not planned.
	Grace time.Duration
	// Horizon is how far ahead reminders are planned; those due after
	// Now+Horizon are left for a later plan.
	Horizon time.Duration
}

// Plan returns the reminders that should exist for occs, in order of due
// time: one per offset and recipient for each occurrence that is not
// cancelled and has not started, due within the window. offsets gives the
// offsets of a meeting (Schedule.Offsets: a session's or series'
// reminders override [reminders].before). Plan is pure: it reads no
// clock and no state.
func Plan(occs []schedule.Occurrence, rcpts []Recipient, offsets func(schedule.Details) []time.Duration, w Window) []Reminder {
	var out []Reminder
	for _, o := range occs {
		if o.Status == schedule.Cancelled || !o.Start.After(w.Now) {
			continue
		}
		for _, off := range offsets(o.Details) {
			due := o.Start.Add(-off)
			if due.Before(w.Now.Add(-w.Grace)) || (w.Horizon > 0 && due.After(w.Now.Add(w.Horizon))) {
				continue
			}
			for _, r := range rcpts {
				if r.wants(o.ID) {
					out = append(out, Reminder{Occurrence: o, Offset: off, Recipient: r, Due: due})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Due.Before(out[j].Due) })
	return out
}

// reconcile decides how a re-plan changes the outbox: rows are the
// reminder rows of meetings not yet started (pending, sending or sent),
// want the reminders Plan returned, live every occurrence that still
// exists by key, rcpts the current recipients.
//
//   - A wanted reminder is inserted, or its pending row updated (a moved
//     meeting moves its pending reminders).
//   - A pending row no longer wanted is dropped.
//   - A recipient who already got a reminder for a meeting that moved
//     gets one "moved" notice per new start; for a meeting cancelled or
//     removed, one "cancelled" notice.
func reconcile(rows []store.OutboxRow, want []Reminder, live map[string]schedule.Occurrence, rcpts []Recipient, now time.Time) store.OutboxChanges {
	var ch store.OutboxChanges
	wanted := map[string]bool{}
	for _, r := range want {
		id := r.Ident()
		wanted[id] = true
		ch.Upsert = append(ch.Upsert, store.OutboxRow{
			Ident: id, Kind: KindReminder, Occurrence: r.Occurrence.Key(), Offset: r.Offset,
			Recipient: r.Recipient.Address, Zone: zoneName(r.Recipient.Zone, r.Occurrence.Zone),
			Unsubscribe: r.Recipient.UnsubscribeURL, Title: r.Occurrence.Title, Starts: r.Occurrence.Start, Due: r.Due,
		})
	}
	current := map[string]Recipient{}
	for _, r := range rcpts {
		current[strings.ToLower(r.Address)] = r
	}
	notices := map[string]bool{}
	for _, row := range rows {
		if row.State == store.Pending {
			if !wanted[row.Ident] {
				ch.Delete = append(ch.Delete, row.ID)
			}
			continue
		}
		// Sent, or being sent: the recipient knows of the meeting.
		rc, ok := current[strings.ToLower(row.Recipient)]
		if !ok {
			continue // unsubscribed since: tell them nothing more
		}
		o, ok := live[row.Occurrence]
		if !ok {
			o, ok = renamed(row.Occurrence, live)
		}
		notice := store.OutboxRow{
			Occurrence: row.Occurrence, Recipient: row.Recipient, Zone: row.Zone,
			Unsubscribe: rc.UnsubscribeURL, Title: row.Title, Starts: row.Starts, Due: now,
		}
		switch {
		case !ok || o.Status == schedule.Cancelled:
			notice.Kind = KindCancelled
			notice.Ident = KindCancelled + "|" + row.Occurrence + "|" + strings.ToLower(row.Recipient)
		case !o.Start.Equal(row.Starts):
			notice.Kind = KindMoved
			notice.Occurrence = o.Key()
			notice.Title = o.Title
			notice.Starts, notice.PrevStarts = o.Start, row.Starts
			notice.Ident = fmt.Sprintf("%s|%s|%d|%s", KindMoved, o.Key(), o.Start.UnixMilli(), strings.ToLower(row.Recipient))
			if ch.Restart == nil {
				ch.Restart = map[int64]time.Time{}
			}
			ch.Restart[row.ID] = o.Start
		default:
			continue
		}
		if !notices[notice.Ident] {
			notices[notice.Ident] = true
			ch.Insert = append(ch.Insert, notice)
		}
	}
	return ch
}

// renamed finds the occurrence that replaced a series occurrence whose
// key vanished because the series' start time changed: the same series
// on the same original date.
func renamed(key string, live map[string]schedule.Occurrence) (schedule.Occurrence, bool) {
	id, orig, ok := strings.Cut(key, "/")
	if !ok || len(orig) < 8 {
		return schedule.Occurrence{}, false
	}
	for k, o := range live {
		if o.Series && o.ID == id && strings.HasPrefix(k, id+"/"+orig[:8]) {
			return o, true
		}
	}
	return schedule.Occurrence{}, false
}

func zoneName(z, fallback *time.Location) string {
	if z == nil {
		z = fallback
	}
	return z.String()
}

// messageID is the Message-ID of a row: stable across resends, so that a
// resend after a crash is recognisably the same message.
func messageID(ident, domain string) string {
	sum := sha256.Sum256([]byte(ident))
	return hex.EncodeToString(sum[:16]) + "@" + domain
}
