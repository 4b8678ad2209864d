package mailer

import (
	"cmp"
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

// The kinds of outbox rows, defined in store, under the names the
// mailer has always used.
const (
	KindReminder  = store.KindReminder
	KindMoved     = store.KindMoved
	KindCancelled = store.KindCancelled
	KindBackOn    = store.KindBackOn
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
	return string(KindReminder) + "|" + key + "|" + offset.String() + "|" + strings.ToLower(addr)
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

// Told is what a recipient was last told about a meeting: the meeting as
// the last reminder or notice sent to them about it described it.
type Told struct {
	ID         int64  // its outbox row; 0 for none
	Occurrence string // the meeting's key when it was sent
	Recipient  string
	Kind       store.Kind
	Title      string
	Starts     time.Time
}

// toldBy returns what rows (sent, or being sent) told their recipients,
// in the order they were sent: a row being sent is the latest news.
func toldBy(rows []store.OutboxRow) []Told {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b store.OutboxRow) int {
		if c := cmpBool(a.State == store.Sending, b.State == store.Sending); c != 0 {
			return c
		}
		if c := a.SentAt.Compare(b.SentAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]Told, len(rows))
	for i, r := range rows {
		out[i] = Told{ID: r.ID, Occurrence: r.Occurrence, Recipient: r.Recipient, Kind: r.Kind, Title: r.Title, Starts: r.Starts}
	}
	return out
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Notice is a message that brings what a recipient was told about a
// meeting in line with the meeting as it stands.
type Notice struct {
	Kind       store.Kind // KindMoved, KindCancelled or KindBackOn
	Occurrence string     // the meeting's key; for a removed meeting, as told
	Recipient  Recipient
	Title      string
	Starts     time.Time // the start it tells of; for "cancelled", the start that is off
	PrevStarts time.Time // for "moved", the start the recipient was told
	After      int64     // the Told.ID it follows
}

// Ident identifies the notice: the meeting's state it tells of, and what
// the recipient was told before it. The same state after another message
// (a repeat: 20:00, 21:00, 20:00, 21:00) is a new notice.
func (n Notice) Ident() string {
	return fmt.Sprintf("%s|%s|%d|%s|after %d", n.Kind, n.Occurrence, n.Starts.UnixMilli(), strings.ToLower(n.Recipient.Address), n.After)
}

// Notices returns the notices that bring what each recipient was told
// about each meeting in line with live, the meetings as they stand (by
// key). told lists the messages sent, oldest first; the last one per
// meeting and recipient counts. A recipient told the meeting is on gets
// "moved" when it now starts at another time, and "cancelled" when it is
// cancelled or gone; one told it is cancelled gets "back on" when it is
// on again. A change of title or details alone sends nothing (the next
// reminder carries it). Recipients no longer in rcpts, or no longer
// following the meeting, and meetings that have started by now, get
// nothing. Notices is pure, so that a tool can ask what an edit would
// send.
func Notices(told []Told, live map[string]schedule.Occurrence, rcpts []Recipient, now time.Time) []Notice {
	current := map[string]Recipient{}
	for _, r := range rcpts {
		current[strings.ToLower(r.Address)] = r
	}
	type who struct{ meeting, rcpt string }
	last := map[who]Told{}
	var order []who
	for _, t := range told {
		k := who{meeting(t.Occurrence, live), strings.ToLower(t.Recipient)}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = t
	}
	var out []Notice
	for _, k := range order {
		t := last[k]
		rc, ok := current[k.rcpt]
		id, _, _ := strings.Cut(t.Occurrence, "/")
		if !ok || !rc.wants(id) {
			continue
		}
		o, on := live[k.meeting]
		on = on && o.Status != schedule.Cancelled
		n := Notice{Occurrence: k.meeting, Recipient: rc, Title: t.Title, Starts: t.Starts, After: t.ID}
		switch {
		case t.Kind == KindCancelled && on && o.Start.After(now):
			n.Kind, n.Title, n.Starts = KindBackOn, o.Title, o.Start
		case t.Kind == KindCancelled || (!on && !t.Starts.After(now)):
			continue
		case !on:
			n.Kind = KindCancelled
		case !o.Start.Equal(t.Starts) && o.Start.After(now):
			n.Kind, n.Title, n.Starts, n.PrevStarts = KindMoved, o.Title, o.Start, t.Starts
		default:
			continue
		}
		out = append(out, n)
	}
	return out
}

// meeting returns the key under which key's meeting now stands in live:
// key itself, or, for a series occurrence whose key changed with the
// series' start time, the one occurrence of the series on the same
// original date. A meeting no longer in live keeps its key.
func meeting(key string, live map[string]schedule.Occurrence) string {
	if _, ok := live[key]; ok {
		return key
	}
	id, orig, ok := strings.Cut(key, "/")
	if !ok || len(orig) < 8 {
		return key
	}
	found := ""
	for k, o := range live {
		if o.Series && o.ID == id && strings.HasPrefix(k, id+"/"+orig[:8]) {
			if found != "" {
				return key // two that day: not a rename
			}
			found = k
		}
	}
	if found == "" {
		return key
	}
	return found
}

// settle is what reconcile needs to know beside the plan.
type settle struct {
	now   time.Time
	grace time.Duration
	delay time.Duration // the notice delay
	// cold is true for the first plan after a start: how long the
	// schedule has stood is unknown, and reminders are not held.
	cold bool
}

// reconcile decides how a re-plan changes the outbox. rows are what
// ReplanOutbox read: every pending row and the rows sent (or being sent)
// about meetings not long started; want the reminders Plan returned; live
// every occurrence that still exists, by key; rcpts the current
// recipients.
//
//   - A wanted reminder is inserted, or its pending row updated (a moved
//     meeting moves its pending reminders). A reminder whose meeting
//     changed, or appeared, is held until the change has lasted the
//     notice delay, so that it never tells of a state that existed only
//     for a moment (except in the first plan after a start).
//   - A pending reminder no longer wanted is recorded as expired if it is
//     later than the grace window or its meeting has started, and is
//     dropped otherwise.
//   - The notices that Notices returns from what was sent are queued,
//     due after the notice delay, unless the same notice is already
//     queued; every other queued notice is dropped (a reverted edit
//     cancels its notice, a second change replaces the first).
func reconcile(rows []store.OutboxRow, want []Reminder, live map[string]schedule.Occurrence, rcpts []Recipient, st settle) store.OutboxChanges {
	var ch store.OutboxChanges
	// The store keeps milliseconds: round up, never send early.
	hold := st.now.Add(st.delay).Add(time.Millisecond - 1).Truncate(time.Millisecond)
	holdReminders := hold
	if st.cold {
		holdReminders = st.now
	}
	wanted := map[string]bool{}
	for _, r := range want {
		id := r.Ident()
		wanted[id] = true
		ch.Upsert = append(ch.Upsert, store.OutboxRow{
			Ident: id, Kind: KindReminder, Occurrence: r.Occurrence.Key(), Offset: r.Offset,
			Recipient: r.Recipient.Address, Zone: zoneName(r.Recipient.Zone, r.Occurrence.Zone),
			Unsubscribe: r.Recipient.UnsubscribeURL, Title: r.Occurrence.Title, Starts: r.Occurrence.Start, Due: r.Due,
			NextTry: later(r.Due, holdReminders),
		})
	}
	var sent []store.OutboxRow
	queued := map[string]store.OutboxRow{}
	expire := func(id int64, reason string) {
		if ch.Expire == nil {
			ch.Expire = map[int64]string{}
		}
		ch.Expire[id] = reason
	}
	for _, row := range rows {
		switch {
		case row.State != store.Pending:
			sent = append(sent, row)
		case row.Kind != KindReminder:
			queued[row.Ident] = row
		case wanted[row.Ident]:
		case row.Due.Before(st.now.Add(-st.grace)) || !row.Starts.After(st.now):
			expire(row.ID, "missed: the meeting started or the reminder was due more than "+st.grace.String()+" ago")
		default:
			ch.Delete = append(ch.Delete, row.ID)
		}
	}
	for _, n := range Notices(toldBy(sent), live, rcpts, st.now) {
		id := n.Ident()
		if _, ok := queued[id]; ok {
			delete(queued, id)
			continue
		}
		ch.Insert = append(ch.Insert, store.OutboxRow{
			Ident: id, Kind: n.Kind, Occurrence: n.Occurrence, Recipient: n.Recipient.Address,
			Zone: zoneName(n.Recipient.Zone, nil), Unsubscribe: n.Recipient.UnsubscribeURL, Title: n.Title,
			Starts: n.Starts, PrevStarts: n.PrevStarts, Due: hold,
		})
	}
	for _, row := range queued {
		if row.Starts.After(st.now) {
			ch.Delete = append(ch.Delete, row.ID)
		} else {
			expire(row.ID, "the meeting has started")
		}
	}
	return ch
}

// describes reports whether row tells of its meeting as it stands: o, or
// nil when it is no longer in the schedule.
func describes(row store.OutboxRow, o *schedule.Occurrence) bool {
	on := o != nil && o.Status != schedule.Cancelled
	if row.Kind == KindCancelled {
		return !on
	}
	return on && o.Start.Equal(row.Starts)
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
