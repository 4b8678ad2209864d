package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// TestCheckMailWarnings: check warns when calendar.url is plain http on
// a public host (the unsubscribe links would be http) and when no DKIM
// key is configured for [reminders].from; neither changes the exit
// status, and neither shows once the setup is right.
func TestCheckMailWarnings(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	mail := "\n[reminders]\nfrom = \"Group <reminders@group.example.org>\"\nrecipients = [\"list@example.org\"]\n"
	write := func(url string) {
		t.Helper()
		text := strings.Replace(e2eSchedule, `url = "https://e2e.example.org"`, `url = "`+url+`"`, 1) + mail
		if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CONVENE_DKIM_KEY", "")
	os.Unsetenv("CONVENE_DKIM_KEY")

	write("http://e2e.example.org")
	_, stderr, code := runCheck(t, "--config", config)
	if code != 0 {
		t.Fatalf("exit status %d, want 0\n%s", code, stderr)
	}
	for _, want := range []string{
		config + ":4: calendar.url: \"http://e2e.example.org\" is not https",
		config + ": reminders.from: no DKIM key is configured (--dkim-key or CONVENE_DKIM_KEY): reminders from group.example.org go out unsigned",
	} {
		if !strings.Contains(stderr, "convene: warning: "+want) {
			t.Errorf("check stderr =\n%s\nwant a warning %s", stderr, want)
		}
	}

	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"https://e2e.example.org", "http://127.0.0.1:8080"} {
		write(url)
		t.Setenv("CONVENE_DKIM_KEY", keyFile)
		if _, stderr, code := runCheck(t, "--config", config); code != 0 || strings.Contains(stderr, "warning") {
			t.Errorf("url %s with a DKIM key: exit status %d, stderr:\n%s", url, code, stderr)
		}
	}
}

// TestSubscribersSuspended: a subscriber whose server refused three
// reminders in a row shows as suspended with the last reply, gets no
// reminders, and `subscribers add` resumes it.
func TestSubscribersSuspended(t *testing.T) {
	dir := subscribersDir(t)
	mustRun(t, "subscribers", "add", "--create", "gone@example.org", "ok@example.org")
	st, err := store.Open(filepath.Join(dir, "convene.db"))
	if err != nil {
		t.Fatal(err)
	}
	for range store.SuspendAfter {
		if _, err := st.Refused(context.Background(), "gone@example.org", "550 5.1.1 mailbox unavailable", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	getting, err := st.Subscribers(context.Background())
	st.Close()
	if err != nil || len(getting) != 1 || getting[0].Email != "ok@example.org" {
		t.Fatalf("subscribers getting mail: %v (%v), want only ok@", getting, err)
	}
	out := mustRun(t, "subscribers", "list")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "gone@example.org") {
			line = l
		}
	}
	if !strings.Contains(line, "suspended") || !strings.Contains(line, "550 5.1.1 mailbox unavailable") {
		t.Errorf("subscribers list:\n%s\nwant gone@ suspended with the last reply", out)
	}
	if out := mustRun(t, "subscribers", "add", "gone@example.org"); !strings.HasPrefix(out, "resumed gone@example.org") {
		t.Errorf("add of a suspended subscriber = %q, want resumed", out)
	}
	if out := mustRun(t, "subscribers", "list"); strings.Contains(out, "suspended") {
		t.Errorf("after add, subscribers list:\n%s", out)
	}
}

// TestServeWarnsUnsigned: serve with an SMTP server and no DKIM key says
// at start that reminders go out unsigned.
func TestServeWarnsUnsigned(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONVENE_DKIM_KEY", "")
	os.Unsetenv("CONVENE_DKIM_KEY")
	_, logs := startServe(t, dir, "--smtp", "smtp://"+plainSMTP(t)+"?tls=none")
	want := `"level":"WARN","msg":"no DKIM key (--dkim-key or CONVENE_DKIM_KEY): reminders go out unsigned`
	waitFor(t, "serve logs "+want+":\n"+logs.String(), func() bool { return strings.Contains(logs.String(), want) })
}

// An --outbox-lease shorter than a reminder may take to send would let
// another replica send it again: serve refuses it on a shared state.
func TestCheckLease(t *testing.T) {
	for _, tc := range []struct {
		lease, timeout time.Duration
		ok             bool
	}{
		{3 * time.Minute, 30 * time.Second, true},
		{2 * time.Minute, 30 * time.Second, true},
		{119 * time.Second, 30 * time.Second, false},
		{4 * time.Second, time.Second, true},
		{3 * time.Second, time.Second, false},
	} {
		c := &mailConfig{lease: tc.lease, smtpTimeout: tc.timeout}
		err := c.checkLease()
		if (err == nil) != tc.ok {
			t.Errorf("lease %v, timeout %v: err = %v, want ok %v", tc.lease, tc.timeout, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--outbox-lease "+(4*tc.timeout).String()+" or more") {
			t.Errorf("error does not say the least lease: %v", err)
		}
	}
}
