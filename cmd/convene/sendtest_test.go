package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// plainSMTP runs a go-smtp server without TLS on 127.0.0.1 that accepts
// every message, and returns its address.
func plainSMTP(t *testing.T) string {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return acceptAll{}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type acceptAll struct{}

func (acceptAll) Mail(string, *smtp.MailOptions) error { return nil }
func (acceptAll) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (acceptAll) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (acceptAll) Reset()                               {}
func (acceptAll) Logout() error                        { return nil }

func TestSendTestSaysWhatToFix(t *testing.T) {
	dir := t.TempDir()
	schedule := strings.Replace(e2eSchedule, "[calendar]\n", "[reminders]\nfrom = \"club@example.org\"\n\n[calendar]\n", 1)
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(schedule), 0o644)
	t.Chdir(dir)
	addr := plainSMTP(t)

	_, help, err := runCmd(t, "send-test", "--help")
	if exitCode(err, io.Discard) != 0 || !strings.Contains(help, "--smtp ") {
		t.Fatalf("send-test --help = %v\n%s", err, help)
	}
	for _, flag := range []string{"--outbox", "--reminder-grace", "--notice-delay", "--send-rate", "--addr", "--state"} {
		if strings.Contains(help, flag+" ") {
			t.Errorf("send-test --help lists %s, which does not apply to it", flag)
		}
	}
	tests := []struct {
		smtp string
		want string
	}{
		{"", "--smtp (or CONVENE_SMTP) is required"},
		{strings.Replace(addr, "127.0.0.1", "localhost", 1), "write it as a URL: smtp://" + strings.Replace(addr, "127.0.0.1", "localhost", 1) + "?tls=none"},
		{"127.0.0.1:1025", "write it as a URL: smtp://127.0.0.1:1025?tls=none"},
		{"smtp://" + addr, "does not offer STARTTLS: use smtps://127.0.0.1:465 for implicit TLS, or ?tls=none for a local server without TLS"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(t, "send-test", "--to", "a@example.org", "--smtp", tt.smtp)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("send-test --smtp %q = %v, want %q", tt.smtp, err, tt.want)
		}
	}
	out, _, err := runCmd(t, "send-test", "--to", "a@example.org", "--smtp", "smtp://"+addr+"?tls=none")
	if err != nil || !strings.Contains(out, "sent a test message to a@example.org") {
		t.Errorf("send-test to a working server = %q, %v", out, err)
	}
}

// serve tries the SMTP server at start and says in plain words what is
// wrong with it, instead of waiting for the first reminder.
func TestServeChecksSMTPAtStart(t *testing.T) {
	addr := plainSMTP(t)
	for _, tt := range []struct{ smtp, want string }{
		{"smtp://" + addr, `"level":"WARN","msg":"the SMTP server cannot take mail: the server ` + addr + ` does not offer STARTTLS: use smtps://127.0.0.1:465`},
		{"smtp://" + addr + "?tls=none", `"msg":"the SMTP server answered and accepted the login, if any"`},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
		_, logs := startServe(t, dir, "--smtp", tt.smtp)
		waitFor(t, "serve logs "+tt.want+":\n"+logs.String(), func() bool { return strings.Contains(logs.String(), tt.want) })
	}
}

// serve --smtp host:port stops at start with the URL to write, and exit
// status 2 (it used to crash closing what it had not built).
func TestServeExplainsSMTPNotAURL(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
	t.Chdir(dir)
	_, _, err := runCmd(t, "serve", "--state", "state.db", "--addr", "127.0.0.1:0", "--smtp", "127.0.0.1:1025")
	if err == nil || !strings.Contains(err.Error(), "write it as a URL: smtp://127.0.0.1:1025?tls=none") || exitCode(err, io.Discard) != 2 {
		t.Errorf("serve --smtp 127.0.0.1:1025 = %v, want a usage error with the URL", err)
	}
}
