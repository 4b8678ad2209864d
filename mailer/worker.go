package mailer

import (
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// Options configure a Worker. Store and Transport are required.
type Options struct {
	Store     *store.Store
	Transport Transport
	// Recipients returns everyone who gets reminders for s; nil means
	// StaticRecipients. A Recipient without a Zone gets the calendar's.
	Recipients func(ctx context.Context, s *schedule.Schedule) ([]Recipient, error)
	Log        *slog.Logger
	Now        func() time.Time // default time.Now
	// Grace is how late a reminder may still go out after downtime,
	// as long as the meeting has not started (default 2h).
	Grace time.Duration
	// NoticeDelay is how long a change must last before a notice tells
	// of it, and before a reminder of the changed meeting goes out
	// (default 0: none; serve's --notice-delay is a few minutes). An
	// edit reverted sooner sends nothing.
	NoticeDelay time.Duration
	// Horizon is how far ahead reminders are planned (default 60 days);
	// the plan is renewed every ReplanEvery (default 6h) and on Load.
	Horizon     time.Duration
	ReplanEvery time.Duration
	// RetryBase and RetryMax bound the exponential backoff after a
	// temporary failure (default 30s and 30m), with jitter.
	RetryBase, RetryMax time.Duration
	// PauseFor is how long sending pauses after an authentication or
	// configuration failure (default 5m).
	PauseFor time.Duration
	// Rate limits sending to this many messages per second; 0 is no
	// limit.
	Rate float64
	// Connections is how many messages may be in their SMTP
	// transaction at once (default 1): give the SMTP transport as many
	// connections. A crash can then resend up to this many.
	Connections int
	// Lease is how long the worker holds the rows it reserved and the
	// message it sends (default 2m): if it dies, another worker on the
	// same PostgreSQL state takes them over once the lease has run out,
	// and sends again the one in flight. It must outlast one SMTP
	// transaction.
	Lease time.Duration
	// DKIMKey, if set, DKIM-signs every message for the domain of
	// [reminders].from, with DKIMSelector (default "convene").
	DKIMKey      crypto.Signer
	DKIMSelector string
	// OnSMTPError, if set, is called with the reply code of every
	// failed delivery (0 for connection errors), for metrics.
	OnSMTPError func(code int)
	// Jitter returns a number in [0, 1); default math/rand.
	Jitter func() float64
}

// Worker plans reminders into the outbox and sends them. Load, Replan
// and SendConfirmation are safe to call from any goroutine while Run
// runs.
type Worker struct {
	o      Options
	loaded atomic.Pointer[snapshot] // the schedule to plan from
	snap   atomic.Pointer[snapshot] // the schedule the outbox was last planned from: sends use it
	wake   chan struct{}
	plan   sync.Mutex  // one re-plan at a time
	sent   atomic.Bool // a message went out since the last re-plan
	warm   atomic.Bool // the outbox was planned once by this worker

	// owned by Run
	pausedUntil time.Time
	connFails   int
	lastSend    time.Time
	lastPlan    time.Time
	lastStale   int64           // the row that last did not match the schedule
	refusing    map[string]bool // subscribers whose last reminder was refused
}

type snapshot struct {
	s    *schedule.Schedule
	comp *Composer
	live map[string]schedule.Occurrence
	// The window live was found for, and the earliest start of a
	// session of s that starts after it (zero: none, or not known).
	from, to time.Time
	beyond   time.Time
}

// liveSpan is how far ahead occurrences count as existing: a meeting that
// moves further than this looks removed.
const liveSpan = 2 * 366 * 24 * time.Hour

// New returns a worker. It does no I/O.
func New(o Options) (*Worker, error) {
	if o.Store == nil || o.Transport == nil {
		return nil, errors.New("mailer: Store and Transport are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Grace, 2*time.Hour)
	def(&o.Horizon, 60*24*time.Hour)
	def(&o.ReplanEvery, 6*time.Hour)
	def(&o.RetryBase, 30*time.Second)
	def(&o.RetryMax, 30*time.Minute)
	def(&o.PauseFor, 5*time.Minute)
	def(&o.Lease, 3*time.Minute)
	o.Connections = max(o.Connections, 1)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Recipients == nil {
		o.Recipients = func(_ context.Context, s *schedule.Schedule) ([]Recipient, error) { return StaticRecipients(s), nil }
	}
	return &Worker{o: o, wake: make(chan struct{}, 1)}, nil
}

// StaticRecipients returns the [reminders].recipients of s, in the
// calendar's zone, without an unsubscribe link.
func StaticRecipients(s *schedule.Schedule) []Recipient {
	out := make([]Recipient, len(s.Reminders.Recipients))
	for i, a := range s.Reminders.Recipients {
		out[i] = Recipient{Address: a, Zone: s.Calendar.Zone}
	}
	return out
}

// Load re-plans the outbox for s and its feeds and, if that succeeds,
// makes them the ones reminders are built from. serve's reload calls it
// for every changed schedule.
func (w *Worker) Load(ctx context.Context, s *schedule.Schedule, set *feed.Set) error {
	now := w.o.Now()
	sn := liveAt(w.loaded.Load(), s, now.Add(-w.o.Grace), now.Add(liveSpan))
	comp := &Composer{Schedule: s, Feeds: set}
	if w.o.DKIMKey != nil {
		sel := w.o.DKIMSelector
		if sel == "" {
			sel = "convene"
		}
		var err error
		if comp.DKIM, err = NewDKIM(comp.domain(), sel, w.o.DKIMKey); err != nil {
			return err
		}
	}
	w.plan.Lock()
	defer w.plan.Unlock()
	// Only a committed plan makes s the schedule to plan from: a failed
	// one leaves the outbox and the schedule as they were.
	sn.comp = comp
	return w.replan(ctx, sn)
}

// liveAt returns a snapshot of s with the occurrences that overlap
// [from, to), by key. When s was spliced from the schedule of prev (the
// snapshot loaded last) and no session of that schedule starts between
// prev's window and this one, they are prev's, less those that ended and
// those of the sessions the splice replaced, plus the sessions it put
// in: an edit of one session does not look at every other. The series'
// occurrences are found again either way.
func liveAt(prev *snapshot, s *schedule.Schedule, from, to time.Time) *snapshot {
	sn := &snapshot{s: s, from: from, to: to, live: map[string]schedule.Occurrence{}}
	var sp schedule.Splice
	ok := prev != nil && !from.Before(prev.from) && !prev.to.IsZero()
	if ok {
		sp, ok = s.SpliceOf(prev.s)
	}
	if ok && !prev.beyond.IsZero() && prev.beyond.Before(to) {
		ok = false // a session comes into the window
	}
	if !ok {
		for _, o := range s.Expand(from, to) {
			sn.live[o.Key()] = o
		}
		for _, ss := range s.Sessions {
			end := ss.End()
			if at := end.Add(-ss.Duration); !end.IsZero() && !at.Before(to) && (sn.beyond.IsZero() || at.Before(sn.beyond)) {
				sn.beyond = at
			}
		}
		return sn
	}
	gone := map[string]bool{}
	for _, ss := range prev.s.Sessions[sp.From:sp.To] {
		gone[ss.ID] = true
	}
	for k, o := range prev.live {
		if !o.Series && !gone[o.ID] && o.End.After(from) && o.Start.Before(to) {
			sn.live[k] = o
		}
	}
	// A session removed keeps its start in beyond: the window is found
	// again from every session a little sooner than it need be.
	sn.beyond = prev.beyond
	for _, ss := range s.Sessions[sp.From : sp.From+sp.N] {
		o := s.Single(ss)
		if o.End.After(from) && o.Start.Before(to) {
			sn.live[o.Key()] = o
		} else if !o.Start.Before(to) && (sn.beyond.IsZero() || o.Start.Before(sn.beyond)) {
			sn.beyond = o.Start
		}
	}
	for _, o := range s.ExpandSeries(from, to) {
		sn.live[o.Key()] = o
	}
	return sn
}

// Replan plans the outbox again from the loaded schedule and the current
// recipients: call it when subscribers change.
func (w *Worker) Replan(ctx context.Context) error {
	w.plan.Lock()
	defer w.plan.Unlock()
	sn := w.loaded.Load()
	if sn == nil {
		return errors.New("mailer: no schedule loaded")
	}
	return w.replan(ctx, sn)
}

// replan plans the outbox from sn and, once that is committed, makes sn
// the schedule to plan and send from. The caller holds w.plan.
func (w *Worker) replan(ctx context.Context, sn *snapshot) error {
	rcpts, err := w.o.Recipients(ctx, sn.s)
	if err != nil {
		return fmt.Errorf("reminder recipients: %w", err)
	}
	for i := range rcpts {
		if rcpts[i].Zone == nil {
			rcpts[i].Zone = sn.s.Calendar.Zone
		}
	}
	now := w.o.Now()
	occs := make([]schedule.Occurrence, 0, len(sn.live))
	for _, o := range sn.live {
		occs = append(occs, o)
	}
	want := Plan(occs, rcpts, sn.s.Offsets, Window{Now: now, Grace: w.o.Grace, Horizon: w.o.Horizon})
	var ch store.OutboxChanges
	var expired []store.OutboxRow
	w.sent.Store(false)
	err = w.o.Store.ReplanOutbox(ctx, now.Add(-w.o.Grace), func(rows []store.OutboxRow) store.OutboxChanges {
		ch = reconcile(rows, want, sn.live, rcpts, settle{now: now, grace: w.o.Grace, delay: w.o.NoticeDelay, cold: !w.warm.Load()})
		expired = expired[:0]
		for _, r := range rows {
			if _, ok := ch.Expire[r.ID]; ok {
				expired = append(expired, r)
			}
		}
		return ch
	})
	if err != nil {
		return err
	}
	w.loaded.Store(sn)
	w.snap.Store(sn)
	w.warm.Store(true)
	slices.SortFunc(expired, func(a, b store.OutboxRow) int { return cmp.Compare(a.ID, b.ID) })
	for _, r := range expired {
		w.o.Log.Info("expired: "+ch.Expire[r.ID], rowAttrs(r)...)
	}
	w.o.Log.Info("reminders planned", "reminders", len(want), "recipients", len(rcpts),
		"dropped", len(ch.Delete), "expired", len(ch.Expire), "notices", len(ch.Insert))
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// SendConfirmation sends the double opt-in email of a sign-up to to, now,
// through the worker's transport, from [reminders].from.
func (w *Worker) SendConfirmation(ctx context.Context, to, confirmURL string) error {
	sn := w.snap.Load()
	if sn == nil {
		return errors.New("mailer: no schedule loaded")
	}
	m, err := sn.comp.Confirmation(to, confirmURL, w.o.Now())
	if err != nil {
		return err
	}
	if err := w.o.Transport.Send(ctx, m); err != nil {
		return fmt.Errorf("send confirmation: %w", err)
	}
	return nil
}

// idleClose is how long the worker keeps an idle connection open.
const idleClose = 30 * time.Second

// Run sends due rows until ctx is done, then closes the transport. It
// first returns rows a crash left "sending" to "pending" (on a shared
// PostgreSQL state, only those whose lease ran out).
func (w *Worker) Run(ctx context.Context) error {
	defer w.o.Transport.Close()
	defer func() {
		// What this worker reserved goes out from another at once.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.o.Store.ReleaseOutbox(bg); err != nil {
			w.o.Log.Warn("outbox", "err", err)
		}
	}()
	refusing, err := w.o.Store.Refusing(ctx)
	if err != nil {
		return err
	}
	w.refusing = map[string]bool{}
	for _, a := range refusing {
		w.refusing[strings.ToLower(a)] = true
	}
	if n, err := w.o.Store.RecoverOutbox(ctx, w.o.Now()); err != nil {
		return err
	} else if n > 0 {
		w.o.Log.Warn("resending messages interrupted by a crash; their recipients may get them twice", "messages", n)
	}
	w.lastPlan = w.o.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if err := w.step(ctx, timer); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.o.Log.Error("outbox", "err", err)
			timer.Reset(time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-timer.C:
		}
		if w.o.Now().Sub(w.lastPlan) >= w.o.ReplanEvery {
			w.lastPlan = w.o.Now()
			if err := w.Replan(ctx); err != nil && ctx.Err() == nil {
				w.o.Log.Error("re-plan failed", "err", err)
			}
		}
	}
}

// step sends every row due now that no other worker holds, a batch
// reserved at a time, then sets timer for the next one.
func (w *Worker) step(ctx context.Context, timer *time.Timer) error {
	timer.Stop()
	for {
		now := w.o.Now()
		if now.Before(w.pausedUntil) {
			// Another worker on the same state may send meanwhile.
			timer.Reset(w.pausedUntil.Sub(now))
			return w.o.Store.ReleaseOutbox(ctx)
		}
		rows, err := w.o.Store.ReserveOutbox(ctx, now, w.o.Lease, 64)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		if err := w.sendBatch(ctx, rows); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	wait := w.o.ReplanEvery - w.o.Now().Sub(w.lastPlan)
	next, ok, err := w.o.Store.NextOutbox(ctx)
	if err != nil {
		return err
	}
	if ok {
		wait = min(wait, next.Sub(w.o.Now()))
	}
	if wait > idleClose {
		w.o.Transport.Close()
	}
	timer.Reset(max(wait, 0))
	return nil
}
