package mailer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/convene/convene/schedule"
)

// bounceSchedule has n meetings a minute apart whose reminders are all
// due (half an hour late, within the grace window), to one static
// recipient.
func bounceSchedule(n int, static string) string {
	var b strings.Builder
	b.WriteString(strings.NewReplacer(`before = ["24h", "1h"]`, `before = ["2h30m"]`,
		`recipients = ["list@example.org"]`, fmt.Sprintf("recipients = [%q]", static)).Replace(header))
	start := time.Now().Add(2 * time.Hour).Truncate(time.Minute)
	for i := range n {
		fmt.Fprintf(&b, "\n[[sessions]]\nid = \"m%d\"\ntitle = \"Meeting %d\"\nstart = %s\n", i, i, at(start.Add(time.Duration(i)*time.Minute)))
	}
	return b.String()
}

// TestBounces: a subscriber whose server refuses (5xx at RCPT or DATA)
// three reminders in a row is suspended and gets nothing more; one whose
// refusals are broken by a delivery is not; a static recipient is refused
// every time and never suspended, and each refusal is counted; adding
// the suspended subscriber again resumes it.
func TestBounces(t *testing.T) {
	srv := newSMTPServer(t)
	refuse := func(rcpt string, n int) bool {
		switch {
		case strings.HasPrefix(rcpt, "gone"), strings.HasPrefix(rcpt, "static"):
			return true
		case strings.HasPrefix(rcpt, "flaky"):
			return n != 3 // refused, refused, taken, refused, refused
		}
		return false
	}
	srv.RcptAnswer = func(rcpt string) error {
		if strings.HasPrefix(rcpt, "norcpt") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + rcpt + ">: no such user"}
		}
		return nil
	}
	srv.Answer = func(rcpt string, n int) error {
		if refuse(rcpt, n) {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox " + rcpt + " unavailable"}
		}
		return nil
	}
	var h *harness
	h = newHarness(t, smtpTransport(t, srv.URL(), ""), Options{
		Recipients: func(ctx context.Context, s *schedule.Schedule) ([]Recipient, error) {
			out := StaticRecipients(s)
			subs, err := h.store.Subscribers(ctx)
			for _, sub := range subs {
				out = append(out, Recipient{Address: sub.Email, UnsubscribeURL: "https://group.example.org/unsubscribe/" + sub.Key})
			}
			return out, err
		},
	})
	ctx := context.Background()
	for _, a := range []string{"gone@example.org", "flaky@example.org", "norcpt@example.org", "ok@example.org"} {
		if _, err := h.store.AddSubscriber(ctx, time.Now(), a, "Europe/Berlin", nil); err != nil {
			t.Fatal(err)
		}
	}
	h.load(bounceSchedule(5, "static@example.org"))
	h.run()
	rows := h.waitSettled(20 * time.Second)

	got := states(rows)
	for key, want := range map[string]int{
		"reminder gone@example.org failed":    3,
		"reminder norcpt@example.org failed":  3,
		"reminder flaky@example.org failed":   4,
		"reminder flaky@example.org sent":     1,
		"reminder ok@example.org sent":        5,
		"reminder static@example.org failed":  5,
		"reminder gone@example.org pending":   0,
		"reminder norcpt@example.org pending": 0,
		"reminder gone@example.org sent":      0,
		"reminder static@example.org sent":    0,
	} {
		if got[key] != want {
			t.Errorf("%s: %d rows, want %d\n%s", key, got[key], want, dump(rows))
		}
	}
	subs, err := h.store.AllSubscribers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		suspended := !s.Suspended.IsZero()
		want := s.Email == "gone@example.org" || s.Email == "norcpt@example.org"
		if suspended != want {
			t.Errorf("%s: suspended %v (refused %d), want %v", s.Email, suspended, s.Refused, want)
		}
		if want && !strings.Contains(s.LastReply, "550") {
			t.Errorf("%s: last reply %q, want the server's 550", s.Email, s.LastReply)
		}
	}
	if strings.Contains(h.log.String(), "@example.org") {
		t.Errorf("an address is in the log:\n%s", h.log.String())
	}
	if n := strings.Count(h.log.String(), "suspended a subscriber"); n != 2 {
		t.Errorf("%d suspensions logged, want 2:\n%s", n, h.log.String())
	}
	if n := strings.Count(h.log.String(), "never suspended"); n != 5 {
		t.Errorf("%d refusals of the static recipient logged, want 5", n)
	}
	codes := 0
	for len(h.codes) > 0 {
		if <-h.codes == 550 {
			codes++
		}
	}
	if codes != 3+3+4+5 {
		t.Errorf("OnSMTPError(550) called %d times, want %d", codes, 3+3+4+5)
	}

	// A maintainer adds the address again: it gets mail again.
	if _, err := h.store.AddSubscriber(ctx, time.Now(), "gone@example.org", "Europe/Berlin", nil); err != nil {
		t.Fatal(err)
	}
	subs, err = h.store.Subscribers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range subs {
		names = append(names, s.Email)
	}
	if !strings.Contains(strings.Join(names, " "), "gone@example.org") || strings.Contains(strings.Join(names, " "), "norcpt") {
		t.Errorf("subscribers getting mail after re-adding gone@: %v", names)
	}
}

// TestWorkerConnections: with Connections 3 and a transport of as many
// connections, transactions overlap and every reminder arrives once.
func TestWorkerConnections(t *testing.T) {
	srv := newSMTPServer(t)
	srv.Slow = 30 * time.Millisecond
	cfg, err := ParseSMTP(srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Connections = 3
	tr, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, tr, Options{Connections: 3})
	var rcpts []string
	for i := range 30 {
		rcpts = append(rcpts, fmt.Sprintf("m%02d@example.org", i))
	}
	h.load(strings.Replace(bounceSchedule(1, "x@example.org"), `recipients = ["x@example.org"]`, `recipients = [`+quoteAll(rcpts)+`]`, 1))
	h.run()
	rows := h.waitSettled(20 * time.Second)
	for _, r := range rows {
		if r.State != "sent" {
			t.Errorf("row %d to %s: %s", r.ID, r.Recipient, r.State)
		}
	}
	got := srv.Received()
	for _, a := range rcpts {
		if got[a] != 1 {
			t.Errorf("%s got %d messages, want 1", a, got[a])
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.MaxInData != 3 || srv.conns != 3 {
		t.Errorf("%d transactions at once over %d connections, want 3 and 3", srv.MaxInData, srv.conns)
	}
}
