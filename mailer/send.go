package mailer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// sendBatch sends rows, due now, in order, with up to Options.Connections
// transactions at once. Each row is claimed (marked "sending") and
// recorded on this goroutine, while its transaction runs on its own. The
// next row is claimed while the transactions run, so that a connection
// that is done only waits for its message to be recorded before it
// starts the next: a row claimed but not yet started is not sent twice
// after a crash.
func (w *Worker) sendBatch(ctx context.Context, rows []store.OutboxRow) error {
	ahead, stop := w.renderAhead(rows)
	defer stop()
	type result struct {
		r   store.OutboxRow
		err error
		at  time.Time // when the transaction ended
	}
	results := make(chan result, w.o.Connections)
	inflight := 0
	var failed error
	finish := func() {
		res := <-results
		inflight--
		if err := w.record(ctx, res.r, res.err, res.at); err != nil && failed == nil {
			failed = err
		}
	}
	stopped := func() bool { return failed != nil || ctx.Err() != nil || w.o.Now().Before(w.pausedUntil) }
	for _, r := range rows {
		if r.Kind != KindReminder {
			// A reminder in flight may tell this notice's news (see
			// claim): the notice waits for it.
			for inflight > 0 {
				finish()
			}
		}
		if stopped() {
			break
		}
		m, err := w.claim(ctx, r, ahead())
		if err != nil {
			failed = err
			break
		}
		if m == nil {
			continue
		}
		if inflight == w.o.Connections {
			finish()
			if stopped() {
				// The transaction that ended stops the batch.
				w.unclaim(ctx, r)
				break
			}
		}
		inflight++
		go func() {
			err := w.o.Transport.Send(ctx, m)
			results <- result{r, err, w.o.Now()}
		}()
	}
	for inflight > 0 {
		finish()
	}
	return failed
}

// unclaim returns claimed row r, whose transaction did not start, to
// pending as it was.
func (w *Worker) unclaim(ctx context.Context, r store.OutboxRow) {
	if err := w.o.Store.MarkUntried(context.WithoutCancel(ctx), r.ID, r.NextTry, r.LastError); err != nil {
		w.o.Log.Error("outbox: cannot return a claimed row to pending", append(rowAttrs(r), "err", err)...)
	}
}

// aheadDepth is how many messages may be built ahead of the one being
// sent: enough to keep a fast server busy, few enough that each Date is
// within milliseconds of its sending.
const aheadDepth = 8

// rendered is a row's message, built ahead from snapshot sn.
type rendered struct {
	sn  *snapshot
	m   *Message
	err error
}

// renderAhead builds (and DKIM-signs) the messages of rows on other
// goroutines, one per CPU, so that rendering and signing (an RSA
// signature costs about a millisecond) overlap the SMTP transactions
// instead of adding to them. next returns the rows' messages in order,
// one per call; stop ends the work.
func (w *Worker) renderAhead(rows []store.OutboxRow) (next func() rendered, stop func()) {
	done := make(chan struct{})
	slots := make([]chan rendered, len(rows))
	for i := range slots {
		slots[i] = make(chan rendered, 1)
	}
	tokens := make(chan struct{}, aheadDepth) // built and not yet taken
	var claimed atomic.Int64
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for {
				select {
				case tokens <- struct{}{}:
				case <-done:
					return
				}
				i := int(claimed.Add(1)) - 1
				if i >= len(rows) {
					return
				}
				r := rows[i]
				sn := w.snap.Load()
				var op *schedule.Occurrence
				if o, ok := sn.live[r.Occurrence]; ok {
					op = &o
				}
				m, err := sn.comp.Row(r, op, w.o.Now())
				slots[i] <- rendered{sn: sn, m: m, err: err}
			}
		}()
	}
	taken := 0
	next = func() rendered {
		r := <-slots[taken]
		taken++
		<-tokens
		return r
	}
	return next, func() { close(done) }
}

// claim decides whether row r goes out now and records why not, or
// returns its message after marking it "sending"; a nil message and a
// nil error mean there is nothing to send. pre is the message built
// ahead, used if it was built from the schedule loaded now.
func (w *Worker) claim(ctx context.Context, r store.OutboxRow, pre rendered) (*Message, error) {
	st := w.o.Store
	sn := w.snap.Load()
	now := w.o.Now()
	o, ok := sn.live[r.Occurrence]
	var op *schedule.Occurrence
	if ok {
		op = &o
	}
	switch {
	case r.Kind == KindReminder && !ok:
		w.o.Log.Info("expired: the meeting is no longer in the schedule", rowAttrs(r)...)
		return nil, st.MarkExpired(ctx, r.ID, "the meeting is no longer in the schedule")
	case !now.Before(r.Starts) || (ok && r.Kind != KindCancelled && !now.Before(o.Start)):
		w.o.Log.Info("expired: the meeting has started", rowAttrs(r)...)
		return nil, st.MarkExpired(ctx, r.ID, "the meeting has started")
	case r.Kind == KindReminder && now.After(r.Due.Add(w.o.Grace)):
		w.o.Log.Info("expired: later than the grace window", append(rowAttrs(r), "due", r.Due, "grace", w.o.Grace)...)
		return nil, st.MarkExpired(ctx, r.ID, fmt.Sprintf("more than %s late", w.o.Grace))
	case !describes(r, op):
		// The schedule changed since the row was read: re-plan, and
		// give up a row that a re-plan does not mend.
		if r.ID == w.lastStale {
			return nil, st.MarkExpired(ctx, r.ID, "does not match the schedule")
		}
		w.lastStale = r.ID
		return nil, w.Replan(ctx)
	case r.Kind != KindReminder && w.sent.Load():
		// A reminder sent since the plan may have told the news.
		return nil, w.Replan(ctx)
	}
	w.lastStale = 0
	m, err := pre.m, pre.err
	if pre.sn != sn {
		m, err = sn.comp.Row(r, op, now)
	}
	if err != nil {
		w.o.Log.Error("failed: cannot build the message", append(rowAttrs(r), "err", hideAddress(err.Error(), r.Recipient))...)
		return nil, st.MarkFailed(ctx, r.ID, err.Error())
	}
	if err := w.pace(ctx); err != nil {
		return nil, nil
	}
	w.lastSend = time.Now()
	claimed, err := st.Claim(ctx, r.ID, r.Starts, w.o.Now(), w.o.Lease)
	if err != nil || !claimed {
		return nil, err
	}
	return m, nil
}

// record records how the transaction of claimed row r ended at at: err
// is Transport.Send's. (The next row's claim, which may wait for the rate
// limit, can come between.)
func (w *Worker) record(ctx context.Context, r store.OutboxRow, err error, at time.Time) error {
	st := w.o.Store
	bg := context.WithoutCancel(ctx) // a claimed row's state must be recorded
	if err == nil {
		w.connFails = 0
		w.sent.Store(true)
		w.o.Log.Info("sent", append(rowAttrs(r), "late", at.Sub(r.Due).Round(time.Millisecond))...)
		if err := st.MarkSent(bg, r.ID, at); err != nil {
			return err
		}
		if addr := strings.ToLower(r.Recipient); w.refusing[addr] && r.Kind == KindReminder {
			delete(w.refusing, addr)
			return st.Delivered(bg, r.Recipient)
		}
		return nil
	}
	var se *SendError
	if !errors.As(err, &se) {
		se = &SendError{Err: err}
	}
	if w.o.OnSMTPError != nil {
		w.o.OnSMTPError(se.Code)
	}
	reason := oneLine(se.Error())
	switch {
	case se.Pause:
		w.pausedUntil = w.o.Now().Add(w.o.PauseFor)
		w.o.Log.Error("SENDING PAUSED: the mail server refused our credentials or configuration; fix --smtp and restart, or wait",
			"code", se.Code, "err", reason, "retry_at", w.pausedUntil)
		return st.MarkUntried(bg, r.ID, r.NextTry, reason)
	case se.Code == 0:
		// The connection failed: every message would fail the same
		// way, so the whole worker backs off, and this row keeps its
		// place in line.
		w.connFails++
		d := w.backoff(w.connFails)
		w.pausedUntil = w.o.Now().Add(d)
		w.o.Log.Warn("retry: mail server unreachable", append(rowAttrs(r), "err", reason, "retry_in", d)...)
		return st.MarkRetry(bg, r.ID, r.NextTry, reason)
	case se.Temporary():
		d := w.backoff(r.Attempts + 1)
		w.o.Log.Warn("retry: temporary failure", append(rowAttrs(r), "code", se.Code, "err", hideAddress(reason, r.Recipient), "retry_in", d)...)
		return st.MarkRetry(bg, r.ID, w.o.Now().Add(d), reason)
	default:
		w.o.Log.Error("failed: permanent failure, not retried", append(rowAttrs(r), "code", se.Code, "err", hideAddress(reason, r.Recipient))...)
		if err := st.MarkFailed(bg, r.ID, reason); err != nil {
			return err
		}
		if r.Kind == KindReminder && se.Recipient {
			return w.refused(bg, r, reason)
		}
		return nil
	}
}

// refused records a reminder that r's recipient's server refused for
// good. A subscriber refused SuspendAfter times in a row is suspended
// and planned no more mail; a static recipient is never suspended: the
// maintainer has to fix events.toml.
func (w *Worker) refused(ctx context.Context, r store.OutboxRow, reply string) error {
	if r.Unsubscribe == "" {
		w.o.Log.Error("a recipient in reminders.recipients refuses reminders; it is never suspended: fix or remove it in events.toml",
			append(rowAttrs(r), "err", hideAddress(reply, r.Recipient))...)
		return nil
	}
	suspended, err := w.o.Store.Refused(ctx, r.Recipient, reply, w.o.Now())
	if err != nil {
		return err
	}
	w.refusing[strings.ToLower(r.Recipient)] = true
	if !suspended {
		return nil
	}
	w.o.Log.Warn(fmt.Sprintf("suspended a subscriber: their mail server refused %d reminders in a row; "+
		"`convene subscribers list` shows the address and its last reply, and `subscribers add` or a new sign-up resumes it", store.SuspendAfter),
		rowAttrs(r)...)
	return w.Replan(ctx)
}

// backoff is the delay before attempt n+1: exponential from RetryBase,
// capped at RetryMax, with "equal jitter" (half fixed, half random).
func (w *Worker) backoff(n int) time.Duration {
	d := w.o.RetryBase
	for i := 1; i < n && d < w.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.o.RetryMax)
	return d/2 + time.Duration(w.o.Jitter()*float64(d/2))
}

// pace waits for the rate limit.
func (w *Worker) pace(ctx context.Context) error {
	if w.o.Rate <= 0 || w.lastSend.IsZero() {
		return nil
	}
	wait := time.Until(w.lastSend.Add(time.Duration(float64(time.Second) / w.o.Rate)))
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// rowAttrs are the log attributes of a row: never its address, which
// the row's id leads to for whoever may read the state.
func rowAttrs(r store.OutboxRow) []any {
	return []any{"id", r.ID, "kind", r.Kind, "occurrence", r.Occurrence, "before", r.Offset}
}

// hideAddress removes addr from a server's reply, which often repeats it.
func hideAddress(reply, addr string) string {
	if addr == "" {
		return reply
	}
	re := regexp.MustCompile("(?i)" + regexp.QuoteMeta(addr))
	return re.ReplaceAllString(reply, "[recipient]")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
