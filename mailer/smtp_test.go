package mailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func smtpTransport(t testing.TB, url string, password Secret) *SMTP {
	t.Helper()
	cfg, err := ParseSMTP(url, password)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 5 * time.Second
	tr, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// schedFor returns an events.toml with one session starting at start,
// reminding each of rcpts before each offset.
func schedFor(start time.Time, offsets []string, rcpts ...string) string {
	return fmt.Sprintf(`
[calendar]
name = "Reading Group"
timezone = "America/New_York"
url = "https://group.example.org"
location = "https://meet.example.org/room"

[reminders]
before = ["1h"]
from = "Reading Group <reminders@example.org>"
recipients = [%s]

[[sessions]]
id = "s1"
title = "Chapter One"
start = %s
reminders = [%s]
`, quoteAll(rcpts), at(start), quoteAll(offsets))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// TestWorkerFailures: 451 is retried, 550 is given up, a dropped
// connection is retried, and nothing arrives twice.
func TestWorkerFailures(t *testing.T) {
	srv := newSMTPServer(t)
	srv.Answer = func(rcpt string, n int) error {
		switch {
		case strings.HasPrefix(rcpt, "later") && n <= 2:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		case strings.HasPrefix(rcpt, "nobody"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(rcpt, "drop") && n == 1:
			return errDrop
		}
		return nil
	}
	h := newHarness(t, smtpTransport(t, srv.URL(), ""), Options{})
	start := time.Now().Add(time.Hour).Truncate(time.Second)
	h.load(schedFor(start, []string{"1h"}, "ok@example.org", "later@example.org", "nobody@example.org", "drop@example.org", "ok2@example.org"))
	h.run()
	rows := h.waitSettled(10 * time.Second)

	want := map[string]int{"ok@example.org": 1, "later@example.org": 1, "drop@example.org": 1, "ok2@example.org": 1}
	if got := srv.Received(); !maps.Equal(got, want) {
		t.Errorf("server received %v, want %v", got, want)
	}
	wantStates := map[string]int{
		"reminder ok@example.org sent": 1, "reminder later@example.org sent": 1, "reminder nobody@example.org failed": 1,
		"reminder drop@example.org sent": 1, "reminder ok2@example.org sent": 1,
	}
	if got := states(rows); !maps.Equal(got, wantStates) {
		t.Errorf("outbox states %v, want %v\n%s", got, wantStates, dump(rows))
	}
	for _, r := range rows {
		if r.Recipient == "later@example.org" && r.Attempts != 3 {
			t.Errorf("later@: %d attempts, want 3", r.Attempts)
		}
		if r.Recipient == "nobody@example.org" && (r.Attempts != 1 || !strings.Contains(r.LastError, "550")) {
			t.Errorf("nobody@: %d attempts, error %q; want 1 attempt and the 550", r.Attempts, r.LastError)
		}
	}
	var codes []int
	for len(h.codes) > 0 {
		codes = append(codes, <-h.codes)
	}
	slices.Sort(codes)
	if want := []int{0, 451, 451, 550}; !slices.Equal(codes, want) {
		t.Errorf("OnSMTPError codes %v, want %v", codes, want)
	}
	srv.mu.Lock()
	conns := srv.conns
	srv.mu.Unlock()
	// One connection, plus one after each failure that drops it (two
	// 451s, the 550 and the drop).
	if conns > 5 {
		t.Errorf("%d SMTP connections for 5 messages and 4 failures, want at most 5", conns)
	}
}

// TestWorkerReusesConnection: a batch goes over one connection.
func TestWorkerReusesConnection(t *testing.T) {
	srv := newSMTPServer(t)
	h := newHarness(t, smtpTransport(t, srv.URL(), ""), Options{})
	var rcpts []string
	for i := range 20 {
		rcpts = append(rcpts, fmt.Sprintf("m%d@example.org", i))
	}
	h.load(schedFor(time.Now().Add(time.Hour), []string{"1h"}, rcpts...))
	h.run()
	h.waitSettled(10 * time.Second)
	if got := len(srv.Received()); got != 20 {
		t.Errorf("%d recipients got mail, want 20", got)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.conns != 1 {
		t.Errorf("%d connections for 20 messages, want 1", srv.conns)
	}
}

// TestWorkerNotices: a recipient who got a reminder hears when the
// meeting moves and when it is cancelled; pending reminders follow.
func TestWorkerNotices(t *testing.T) {
	srv := newSMTPServer(t)
	h := newHarness(t, smtpTransport(t, srv.URL(), ""), Options{})
	start := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	// The 2h reminder is due now; the 1h one in an hour.
	h.load(schedFor(start, []string{"2h", "1h"}, "a@example.org"))
	h.run()
	waitFor(t, func() bool { return srv.Received()["a@example.org"] == 1 })

	moved := start.Add(24 * time.Hour)
	h.load(schedFor(moved, []string{"2h", "1h"}, "a@example.org"))
	waitFor(t, func() bool { return srv.Received()["a@example.org"] == 2 })
	p := parseMessage(t, srv.Messages("a@example.org")[1])
	if s := p.Header.Get("Subject"); !strings.HasPrefix(s, "Moved: Chapter One, now ") {
		t.Errorf("second message subject %q, want a moved notice", s)
	}
	if p.ICS == nil {
		t.Error("moved notice has no .ics")
	}
	rows, _ := h.store.Outbox(context.Background())
	for _, r := range rows {
		if r.Kind == KindReminder && r.State == "pending" && !r.Due.Equal(moved.Add(-time.Hour)) {
			t.Errorf("pending reminder due %v, want %v (moved with its meeting)", r.Due, moved.Add(-time.Hour))
		}
	}

	h.load(strings.Replace(schedFor(moved, []string{"2h", "1h"}, "a@example.org"), `title = "Chapter One"`, "title = \"Chapter One\"\nstatus = \"cancelled\"", 1))
	waitFor(t, func() bool { return srv.Received()["a@example.org"] == 3 })
	p = parseMessage(t, srv.Messages("a@example.org")[2])
	if s := p.Header.Get("Subject"); !strings.HasPrefix(s, "Cancelled: Chapter One") {
		t.Errorf("third message subject %q, want a cancelled notice", s)
	}
	rows = h.waitSettled(5 * time.Second)
	for _, r := range rows {
		if r.Kind == KindReminder && r.Offset == time.Hour {
			t.Errorf("the 1h reminder of a cancelled meeting is still there: %+v", r)
		}
	}
	// Nothing more arrives.
	time.Sleep(200 * time.Millisecond)
	if n := srv.Received()["a@example.org"]; n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkerOutage: the server is down for a while. Reminders that are
// still useful when it comes back are delivered exactly once; those whose
// meeting started, or that are later than the grace window, expire.
func TestWorkerOutage(t *testing.T) {
	srv := newSMTPServer(t)
	srv.Stop()
	const grace = 2 * time.Second
	h := newHarness(t, smtpTransport(t, srv.URL(), ""), Options{Grace: grace, RetryBase: 50 * time.Millisecond, RetryMax: 400 * time.Millisecond})
	now := time.Now().Truncate(time.Second).Add(time.Second)
	var rcpts []string
	for i := range 30 {
		rcpts = append(rcpts, fmt.Sprintf("m%d@example.org", i))
	}
	// s1: starts in an hour, reminders due now (useful after the
	// outage, within grace) and in 3s (due during the outage);
	// s2: starts in 2s (over before the server is back).
	text := schedFor(now.Add(time.Hour), []string{"1h", "59m57s"}, rcpts...) + fmt.Sprintf(`
[[sessions]]
id = "s2"
title = "Short notice"
start = %s
reminders = ["1s"]
`, at(now.Add(2*time.Second)))
	h.load(text)
	h.run()
	time.Sleep(3500 * time.Millisecond) // the outage
	srv.Start()
	rows := h.waitSettled(15 * time.Second)

	got := srv.Received()
	var sent, dup, lost, expired int
	for _, r := range rows {
		switch {
		case r.State == "sent":
			sent++
		case r.State == "expired":
			expired++
		}
	}
	for _, rc := range rcpts { // one useful reminder each
		dup += max(got[rc]-1, 0)
		lost += max(1-got[rc], 0)
	}
	t.Logf("outage: %d sent, %d duplicated, %d lost, %d expired", sent, dup, lost, expired)
	// The "1h" reminder was due 3.5s ago when the server came back:
	// later than the grace window, so it expired. The "59m57s" one was
	// 0.5s late: delivered. s2 had started: expired.
	want := map[string]int{}
	for _, rc := range rcpts {
		want[rc] = 1
	}
	if !maps.Equal(got, want) {
		t.Errorf("received %v, want each recipient exactly once", got)
	}
	if expired != 60 || sent != 30 {
		t.Errorf("%d sent and %d expired, want 30 and 60\n%s", sent, expired, dump(rows))
	}
}

// TestWorkerAuthFailure: wrong credentials pause sending, loudly, and
// the password never shows in the log.
func TestWorkerAuthFailure(t *testing.T) {
	srv := newSMTPServer(t)
	srv.Password = "right-password"
	const wrong = "wrong-password-9d3f"
	h := newHarness(t, smtpTransport(t, "smtp://user@"+srv.Addr+"?tls=none", wrong), Options{PauseFor: time.Hour})
	h.load(schedFor(time.Now().Add(time.Hour), []string{"1h"}, "a@example.org", "b@example.org", "c@example.org"))
	h.run()
	waitFor(t, func() bool { return strings.Contains(h.log.String(), "SENDING PAUSED") })
	time.Sleep(100 * time.Millisecond)
	rows, _ := h.store.Outbox(context.Background())
	for _, r := range rows {
		if r.State != "pending" || r.Attempts != 0 {
			t.Errorf("row %s: %s after %d attempts, want pending and untried", r.Recipient, r.State, r.Attempts)
		}
	}
	if len(srv.Received()) != 0 {
		t.Errorf("server received %v", srv.Received())
	}
	// What the paused worker had reserved is free for another replica.
	var held int
	if err := h.store.DB().QueryRow(`SELECT COUNT(*) FROM outbox WHERE lease_until <> 0`).Scan(&held); err != nil || held != 0 {
		t.Errorf("%d rows still held by the paused worker (%v), want 0", held, err)
	}
	if strings.Contains(h.log.String(), wrong) {
		t.Errorf("the password is in the log:\n%s", h.log.String())
	}
	if code := <-h.codes; code != 535 {
		t.Errorf("OnSMTPError(%d), want 535", code)
	}
}

// TestSMTPStartTLSRequired: smtp:// without ?tls=none refuses a server
// that does not offer STARTTLS, and says so.
func TestSMTPStartTLSRequired(t *testing.T) {
	srv := newSMTPServer(t)
	tr := smtpTransport(t, "smtp://"+srv.Addr, "")
	defer tr.Close()
	c := &Composer{Schedule: mustParse(t, header)}
	m, err := c.Test("a@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Send(context.Background(), m)
	var se *SendError
	if !errors.As(err, &se) || !se.Pause || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("Send over plain text = %v, want a pausing STARTTLS error", err)
	}
	if len(srv.Received()) != 0 {
		t.Error("the message went over plain text")
	}
}

func TestParseSMTP(t *testing.T) {
	tests := []struct {
		url     string
		env     Secret
		want    string // host port tls user password
		wantErr string
	}{
		{url: "smtp://u:p%40ss@mail.example.org", want: "mail.example.org 587 starttls u p@ss"},
		{url: "smtps://u@mail.example.org", env: "fromenv", want: "mail.example.org 465 implicit u fromenv"},
		{url: "smtp://localhost:1025?tls=none", want: "localhost 1025 none  "},
		{url: "smtp://u:inurl@h:25", env: "fromenv", want: "h 25 starttls u inurl"},
		{url: "http://h", wantErr: "scheme"},
		{url: "smtps://h?tls=none", wantErr: "tls=none with smtps"},
		{url: "smtp://h?tls=maybe", wantErr: "tls="},
		{url: "smtp://h:99999", wantErr: "port"},
		{url: "smtp://h?foo=1", wantErr: "unknown parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := ParseSMTP(tt.url, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseSMTP(%q) error = %v, want %q", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s %d %s %s %s", c.Host, c.Port, c.TLS, c.User, string(c.Password))
			if got != tt.want {
				t.Errorf("ParseSMTP(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	c, err := ParseSMTP("smtp://user:hunter2@mail.example.org", "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "smtp", c, "pw", c.Password)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "smtp", c, "pw", c.Password)
	fmt.Fprintf(&b, "%v %+v %#v %s", c, c, c, c)
	if strings.Contains(b.String(), "hunter2") {
		t.Errorf("password printed:\n%s", b.String())
	}
	if _, err := ParseSMTP("smtp://user:hunter2@mail.example.org:bad", ""); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v shows the password", err)
	}
}
