package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/mailer"
	"github.com/convene/convene/metrics"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// mailConfig is the mail settings of serve and send-test.
type mailConfig struct {
	smtp, passwordFile string
	outbox             string
	dkimKey, dkimSel   string
	grace, noticeDelay time.Duration
	lease              time.Duration
	smtpTimeout        time.Duration // of --smtp, set by transport
	rate               float64
	connections        int
}

// addMailFlags adds serve's mail flags to fs.
func addMailFlags(fs *flag.FlagSet) *mailConfig {
	c := addSMTPFlags(fs, "empty writes .eml files to --outbox")
	fs.StringVar(&c.outbox, "outbox", "outbox", "directory for .eml files when no --smtp is set")
	fs.DurationVar(&c.grace, "reminder-grace", 2*time.Hour, "after downtime, send a reminder at most this late (and never after its meeting started)")
	fs.DurationVar(&c.noticeDelay, "notice-delay", 5*time.Minute, "how long a change to a meeting must stand before members are told of it (moved, cancelled, back on) and before its reminders go out; a change reverted sooner sends nothing")
	fs.Float64Var(&c.rate, "send-rate", 0, "at most this many emails per second (0: no limit)")
	fs.IntVar(&c.connections, "smtp-connections", 1, "how many connections to the SMTP server may carry reminders at once (a crash can resend as many)")
	fs.DurationVar(&c.lease, "outbox-lease", 3*time.Minute, "with a PostgreSQL --state, how long a replica holds the reminders it is sending: another takes them over this long after it died (at least 4 × the SMTP timeout, which is 30s unless --smtp sets ?timeout=)")
	return c
}

// addSMTPFlags adds the flags of the SMTP server and signing to fs: all
// of send-test's mail flags. empty says what an empty --smtp means.
func addSMTPFlags(fs *flag.FlagSet, empty string) *mailConfig {
	c := &mailConfig{}
	fs.StringVar(&c.smtp, "smtp", "", "SMTP server URL: smtp://user@host:587 (STARTTLS required), smtps://host:465, smtp://host:1025?tls=none; "+empty+". The password may be in the URL, in CONVENE_SMTP_PASSWORD or in --smtp-password-file")
	fs.StringVar(&c.passwordFile, "smtp-password-file", "", "file holding the SMTP password")
	fs.StringVar(&c.dkimKey, "dkim-key", "", "PEM private key (RSA or Ed25519) to DKIM-sign mail for the domain of reminders.from")
	fs.StringVar(&c.dkimSel, "dkim-selector", "convene", "DKIM selector")
	return c
}

// transport returns the configured transport and a description for logs.
func (c *mailConfig) transport() (mailer.Transport, slog.Attr, error) {
	if c.smtp == "" {
		return mailer.Dir{Path: c.outbox}, slog.String("outbox", c.outbox), nil
	}
	pw := mailer.Secret(os.Getenv("CONVENE_SMTP_PASSWORD"))
	if c.passwordFile != "" {
		b, err := os.ReadFile(c.passwordFile)
		if err != nil {
			return nil, slog.Attr{}, usageError{fmt.Errorf("--smtp-password-file: %w", err)}
		}
		pw = mailer.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	cfg, err := mailer.ParseSMTP(c.smtp, pw)
	if err != nil {
		return nil, slog.Attr{}, usageError{fmt.Errorf("--smtp: %w", err)}
	}
	cfg.Connections = c.connections // 0 (send-test) is 1
	c.smtpTimeout = cfg.Timeout
	t, err := mailer.NewSMTP(cfg)
	if err != nil {
		return nil, slog.Attr{}, err
	}
	return t, slog.Any("smtp", cfg), nil
}

func (c *mailConfig) dkim() (crypto.Signer, error) {
	if c.dkimKey == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.dkimKey)
	if err != nil {
		return nil, usageError{fmt.Errorf("--dkim-key: %w", err)}
	}
	k, err := gomail.PrivKeyFromPEM(b)
	if err != nil {
		return nil, usageError{fmt.Errorf("--dkim-key %s: %w", c.dkimKey, err)}
	}
	return k, nil
}

// recipients returns everyone who gets reminders for s: the static
// [reminders].recipients, in the calendar's zone and without an
// unsubscribe link, and the confirmed sign-ups (web.go), each in their
// zone with their series and unsubscribe link.
func recipients(ctx context.Context, s *schedule.Schedule, st *store.Store, unsubscribeURL func(*schedule.Schedule, store.Subscriber) string) ([]mailer.Recipient, error) {
	out := mailer.StaticRecipients(s)
	subs, err := subscriberRecipients(ctx, s, st, unsubscribeURL)
	if err != nil {
		return nil, err
	}
	static := map[string]bool{}
	for _, r := range out {
		static[strings.ToLower(r.Address)] = true
	}
	for _, r := range subs {
		if !static[strings.ToLower(r.Address)] {
			out = append(out, r)
		}
	}
	return out, nil
}

// recipientList is everyone who gets reminders: the static list and the
// confirmed sign-ups, whose unsubscribe links the page makes.
type recipientList struct {
	store          *store.Store
	unsubscribeURL func(*schedule.Schedule, store.Subscriber) string
}

func (l *recipientList) recipients(ctx context.Context, s *schedule.Schedule) ([]mailer.Recipient, error) {
	return recipients(ctx, s, l.store, l.unsubscribeURL)
}

// checkLease refuses an --outbox-lease that a reminder in flight could
// outlast, which another replica would then send again: a row is claimed
// while the connection may still carry the previous message, and each
// transaction may take the dial's timeout and the SMTP timeout.
func (c *mailConfig) checkLease() error {
	if least := 4 * c.smtpTimeout; c.lease < least {
		return usageError{fmt.Errorf("--outbox-lease %v is shorter than a reminder may take to send (4 × the SMTP timeout %v): "+
			"another replica could take it over and send it twice; set --outbox-lease %v or more, or a shorter ?timeout= in --smtp", c.lease, c.smtpTimeout, least)}
	}
	return nil
}

// newWorker returns the reminder worker of serve, sending through t.
func newWorker(c *mailConfig, st *store.Store, t mailer.Transport, rcpts *recipientList, m *metrics.Metrics, log *slog.Logger) (*mailer.Worker, error) {
	if c.connections < 1 {
		return nil, usageError{fmt.Errorf("--smtp-connections %d: want 1 or more", c.connections)}
	}
	key, err := c.dkim()
	if err != nil {
		return nil, err
	}
	if key == nil && c.smtp != "" {
		log.Warn("no DKIM key (--dkim-key or CONVENE_DKIM_KEY): reminders go out unsigned, and Gmail and Yahoo junk or reject unsigned bulk mail; see the README's Reminders section")
	}
	return mailer.New(mailer.Options{
		Store: st, Transport: t, Log: log.With("component", "mailer"), Recipients: rcpts.recipients,
		Grace: c.grace, NoticeDelay: c.noticeDelay, Rate: c.rate, Connections: c.connections, Lease: c.lease, DKIMKey: key, DKIMSelector: c.dkimSel, OnSMTPError: m.SMTPError,
	})
}

// destination says where reminders go, for the log at start.
func (c *mailConfig) destination(where slog.Attr) string {
	if c.smtp == "" {
		dir := c.outbox
		if !filepath.IsAbs(dir) {
			dir = "./" + filepath.ToSlash(filepath.Clean(dir))
		}
		return "reminders are written to " + dir + ", not sent: set --smtp to send"
	}
	return fmt.Sprintf("reminders are sent through the SMTP server %v", where.Value.Any())
}

// checkSMTP tries the SMTP server of t, if it is one, once at start, and
// logs what is wrong with it in plain words: a wrong --smtp shows now,
// not at the first reminder. It does not stop serve (the server may only
// be down for a while).
func checkSMTP(ctx context.Context, t mailer.Transport, log *slog.Logger) {
	p, ok := t.(interface{ Probe(context.Context) error })
	if !ok {
		return
	}
	go func() {
		if err := p.Probe(ctx); err != nil && ctx.Err() == nil {
			log.Warn("the SMTP server cannot take mail: " + err.Error())
			return
		}
		log.Info("the SMTP server answered and accepted the login, if any")
	}()
}

// preview prints one reminder of a session as it would be sent: decoded
// for reading, or with --raw as the MIME message itself.
func preview(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("preview", stderr)
	config := fs.String("config", "events.toml", "the schedule file")
	state := fs.String("state", "", "the state file, for the feed's SEQUENCE (default: none, SEQUENCE 0)")
	session := fs.String("session", "", "the session id, or series id (its next occurrence), or occurrence key (series/20230730T200000)")
	tz := fs.String("tz", "", "the recipient's time zone (default: the calendar's)")
	to := fs.String("to", "", "the recipient (default: the first of reminders.recipients)")
	offset := fs.Duration("before", 0, "which reminder (default: the first offset of the meeting)")
	raw := fs.Bool("raw", false, "print the message as sent (MIME, an .eml file a mail client opens), not decoded")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *session == "" {
		return usageError{errors.New("--session is required")}
	}
	s, err := schedule.Load(*config)
	if err != nil {
		return err
	}
	now := time.Now()
	o, ok := findOccurrence(s, *session, now)
	if !ok {
		return usageError{fmt.Errorf("--session: no session, series or occurrence %q in %s", *session, *config)}
	}
	r := mailer.Recipient{Address: *to, Zone: s.Calendar.Zone}
	if r.Address == "" {
		r.Address = "member@example.org"
		if len(s.Reminders.Recipients) > 0 {
			r.Address = s.Reminders.Recipients[0]
		}
	}
	if *tz != "" {
		if r.Zone, err = schedule.LoadZone(*tz); err != nil {
			return usageError{fmt.Errorf("--tz: %w", err)}
		}
	}
	off := *offset
	if off == 0 {
		if offs := s.Offsets(o.Details); len(offs) > 0 {
			off = offs[0]
		}
	}
	var st feed.State = nullState{}
	if *state != "" {
		db, err := openState(*state, false) // subscribers.go: never a new, empty state
		if err != nil {
			return err
		}
		defer db.Close()
		st = db
	}
	set, err := feed.Render(context.Background(), s, st, now)
	if err != nil {
		return err
	}
	comp := &mailer.Composer{Schedule: s, Feeds: set}
	at := o.Start.Add(-off)
	m, err := comp.Reminder(mailer.Reminder{Occurrence: o, Offset: off, Recipient: r, Due: at}, at)
	if err != nil {
		return err
	}
	if *raw {
		_, err = stdout.Write(m.Data)
		return err
	}
	return writeReadable(stdout, m.Data)
}

// findOccurrence finds a session by id, a series' next occurrence by the
// series id, or an occurrence by its key.
func findOccurrence(s *schedule.Schedule, id string, now time.Time) (schedule.Occurrence, bool) {
	for i := range s.Sessions {
		if s.Sessions[i].ID == id {
			return s.Single(s.Sessions[i]), true
		}
	}
	var first *schedule.Occurrence
	for _, o := range s.Expand(time.Time{}, now.AddDate(5, 0, 0)) {
		if o.Key() == id {
			return o, true
		}
		if o.Series && o.ID == id {
			if !o.Start.Before(now) {
				return o, true
			}
			if first == nil {
				first = &o
			}
		}
	}
	if first != nil {
		return *first, true
	}
	return schedule.Occurrence{}, false
}

// nullState versions everything at sequence 0, for previews without a
// state file.
type nullState struct{}

func (nullState) Stamp(_ context.Context, now time.Time, prints map[string]string) (map[string]store.Version, error) {
	out := make(map[string]store.Version, len(prints))
	for k := range prints {
		out[k] = store.Version{Created: now.UTC().Truncate(time.Second), Modified: now.UTC().Truncate(time.Second)}
	}
	return out, nil
}

// sendTest sends one test message through the configured server.
func sendTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("send-test", stderr)
	config := fs.String("config", "events.toml", "the schedule file (for reminders.from)")
	to := fs.String("to", "", "the address to send to")
	c := addSMTPFlags(fs, "required")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usageError{errors.New("--to is required")}
	}
	if c.smtp == "" {
		return usageError{errors.New("--smtp (or CONVENE_SMTP) is required: send-test sends through an SMTP server; without one, serve writes .eml files to --outbox and no mail leaves the machine")}
	}
	s, err := schedule.Load(*config)
	if err != nil {
		return err
	}
	t, where, err := c.transport()
	if err != nil {
		return err
	}
	defer t.Close()
	key, err := c.dkim()
	if err != nil {
		return err
	}
	comp := &mailer.Composer{Schedule: s}
	if key != nil {
		from, err := mailer.SenderDomain(s)
		if err != nil {
			return err
		}
		if comp.DKIM, err = mailer.NewDKIM(from, c.dkimSel, key); err != nil {
			return err
		}
	}
	m, err := comp.Test(*to, time.Now())
	if err != nil {
		return err
	}
	if err := t.Send(ctx, m); err != nil {
		return fmt.Errorf("send-test to %s: %w", *to, err)
	}
	fmt.Fprintf(stdout, "sent a test message to %s (%s)\n", *to, where.Value)
	return nil
}

// nextReminders lists the reminders the static recipients will get next,
// for check.
func nextReminders(w io.Writer, s *schedule.Schedule, now time.Time, count int) {
	rcpts := mailer.StaticRecipients(s)
	if len(rcpts) == 0 {
		fmt.Fprintf(w, "\nNo reminders: reminders.recipients is empty (sign-ups may add some).\n")
		return
	}
	occs := s.Expand(now, now.AddDate(1, 0, 0))
	rs := mailer.Plan(occs, rcpts[:1], s.Offsets, mailer.Window{Now: now, Horizon: 366 * 24 * time.Hour})
	if len(rs) > count {
		rs = rs[:count]
	}
	fmt.Fprintf(w, "\nNext reminders (each to %d recipients, and to sign-ups):\n", len(rcpts))
	if len(rs) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	cal := s.Calendar.Zone
	for _, r := range rs {
		fmt.Fprintf(w, "  %s  %-6s before  %s\n", r.Due.In(cal).Format("Mon 2006-01-02 15:04 MST"), shortDuration(r.Offset), r.Occurrence.Key())
	}
}

// shortDuration writes 48h rather than 48h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
