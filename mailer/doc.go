// Package mailer plans and sends the reminder emails of a schedule: one
// message per (occurrence, offset, recipient), each an RFC 5322 message
// with plain-text and HTML alternatives (RFC 2046) and the meeting as an
// RFC 5545 iCalendar attachment (text/calendar; method=PUBLISH) carrying
// the feed's UID and SEQUENCE. Headers: a Message-ID stable per row,
// List-Id (RFC 2919), Auto-Submitted (RFC 3834), and for subscribers
// List-Unsubscribe with List-Unsubscribe-Post (RFC 2369, RFC 8058).
// Messages may be DKIM signed (RFC 6376).
//
// Plan is pure: occurrences, recipients, offsets and a clock in, the
// reminders that should exist out. A Worker keeps the plan in the
// store's outbox: Load (called after every reload of events.toml) and
// Replan (call it when subscribers change) insert new reminders, move
// the pending reminders of a moved meeting, drop those of a removed or
// cancelled one, record missed ones as expired, and queue the notices
// ("moved", "cancelled", "back on") that bring what each recipient was
// last told about a meeting in line with the meeting as it stands.
// Notices is pure too: what was told and the schedule in, the notices
// out. A notice, and a reminder of a meeting that just changed, waits
// Options.NoticeDelay, and every re-plan replaces or drops the notices
// still queued, so a state that lasted less is never mailed.
//
// Worker.Run is the one goroutine that sends. It sleeps on a timer until
// the next row is due, sends in order of due time over one reused SMTP
// connection (go-mail), and marks each row "sending" before the SMTP
// transaction and "sent" after the 250 reply, so a row is sent twice
// only when a crash falls inside its transaction. Workers of several
// processes can share one PostgreSQL outbox: each reserves a batch of
// due rows and claims a row for its transaction, both for a lease
// (Options.Lease), so that each row goes out once, and a row held by a
// worker that died goes out from another once the lease has run out
// (store.ReserveOutbox, store.Claim). Temporary failures
// (4xx, a failed or dropped connection) are retried with exponential
// backoff and jitter; permanent ones (5xx) are recorded. An
// authentication failure pauses sending and logs at error level. After
// downtime a reminder goes out only before its meeting starts and within
// the grace window; otherwise it is recorded as expired.
//
// Worker.SendConfirmation sends a sign-up's double opt-in email through
// the same transport, from [reminders].from, with List-Id and
// Auto-Submitted.
//
// Transports: SMTP (ParseSMTP reads smtp://, smtps:// and ?tls=none
// URLs; STARTTLS is required unless turned off), and Dir, which writes
// .eml files, the default when no server is configured.
package mailer
