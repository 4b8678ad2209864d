package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestTransactPipelining: where the server offers PIPELINING, MAIL, RCPT
// and DATA go out in one write, and where it does not, one at a time.
// Either way the server gets the message as it was (dot-stuffing
// undone); a refusal at RCPT or at the end of DATA is the recipient's (a
// bounce, SendError.Recipient), one at MAIL is not; and the message after
// a refusal goes out on a new connection.
func TestTransactPipelining(t *testing.T) {
	data := []byte("From: reminders@example.org\r\nTo: ok@example.org\r\nSubject: dots\r\n\r\n.a line that starts with a dot\r\n..two\r\n.\r\nend\r\n")
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			srv := newSMTPServer(t)
			srv.NoPipelining = !pipelining
			srv.RcptAnswer = func(rcpt string) error {
				switch {
				case strings.HasPrefix(rcpt, "nobody"):
					return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
				case strings.HasPrefix(rcpt, "later"):
					return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
				}
				return nil
			}
			srv.Answer = func(rcpt string, _ int) error {
				if strings.HasPrefix(rcpt, "full") {
					return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "mailbox full"}
				}
				return nil
			}
			tr := smtpTransport(t, srv.URL(), "")
			defer tr.Close()
			for _, c := range []struct {
				to        string
				code      int // 0: accepted
				recipient bool
			}{
				{"ok@example.org", 0, false}, {"nobody@example.org", 550, true}, {"ok2@example.org", 0, false},
				{"later@example.org", 451, true}, {"full@example.org", 552, true}, {"ok3@example.org", 0, false},
			} {
				err := tr.Send(context.Background(), &Message{From: "reminders@example.org", To: c.to, Data: data})
				var se *SendError
				switch {
				case c.code == 0 && err != nil:
					t.Errorf("%s: %v", c.to, err)
				case c.code == 0:
				case !errors.As(err, &se):
					t.Errorf("%s: %v, want a *SendError %d", c.to, err, c.code)
				case se.Code != c.code || se.Recipient != c.recipient:
					t.Errorf("%s: code %d, recipient %v (%v); want %d, %v", c.to, se.Code, se.Recipient, err, c.code, c.recipient)
				}
			}
			unended := []byte("Subject: no line break at the end\r\n\r\n.end")
			if err := tr.Send(context.Background(), &Message{From: "reminders@example.org", To: "ok4@example.org", Data: unended}); err != nil {
				t.Errorf("ok4@example.org: %v", err)
			}
			for to, want := range map[string][]byte{"ok@example.org": data, "ok2@example.org": data, "ok3@example.org": data,
				"ok4@example.org": append(unended, "\r\n"...)} {
				if got := srv.Messages(to); len(got) != 1 || !bytes.Equal(got[0], want) {
					t.Errorf("%s got %q, want once %q", to, got, want)
				}
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			together := 0
			for _, s := range srv.sentAtOnce {
				lines := strings.Count(s, "\r\n")
				if !pipelining && lines != 1 {
					t.Errorf("without PIPELINING, the client sent %q at once", s)
				}
				if lines == 3 && strings.HasSuffix(s, "\r\nDATA\r\n") {
					together++
				}
			}
			if pipelining && together == 0 {
				t.Errorf("with PIPELINING, MAIL, RCPT and DATA never came at once: %q", srv.sentAtOnce)
			}
			if len(srv.sentAtOnce) != 7 {
				t.Errorf("%d transactions, want 7", len(srv.sentAtOnce))
			}
		})
	}
	t.Run("refused at MAIL", func(t *testing.T) {
		srv := newSMTPServer(t)
		srv.Password = "secret" // MAIL without AUTH is refused
		tr := smtpTransport(t, srv.URL(), "")
		defer tr.Close()
		err := tr.Send(context.Background(), &Message{From: "reminders@example.org", To: "ok@example.org", Data: data})
		var se *SendError
		if !errors.As(err, &se) || se.Code < 500 || se.Recipient {
			t.Errorf("Send: %v; want a 5xx that is not the recipient's", err)
		}
	})
}
