package mailer

import (
	"testing"
	"time"
)

// TestSentAtUnderRate: with a rate limit, a row's sent_at is when the
// server took it, not when the worker got round to recording it after
// claiming the next row (which waits for the limit).
func TestSentAtUnderRate(t *testing.T) {
	srv := newSMTPServer(t)
	took := map[string]time.Time{} // written under srv.mu
	srv.Answer = func(rcpt string, _ int) error {
		took[rcpt] = time.Now()
		return nil
	}
	h := newHarness(t, smtpTransport(t, srv.URL(), ""), Options{Rate: 2})
	start := time.Now().Add(time.Hour).Truncate(time.Second)
	h.load(schedFor(start, []string{"1h"}, "a@example.org", "b@example.org", "c@example.org"))
	h.run()
	rows := h.waitSettled(10 * time.Second)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, r := range rows {
		// The limit spaces sends 500 ms apart: a sent_at recorded after
		// the next claim would be that much late.
		if d := r.SentAt.Sub(took[r.Recipient]); d < -time.Millisecond || d > 250*time.Millisecond {
			t.Errorf("%s: sent_at %s, %s after the server took it", r.Recipient, r.SentAt.Format(time.StampMilli), d)
		}
	}
}
