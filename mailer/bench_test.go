package mailer

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// benchBatch sends n reminders, all due now, through a worker to addr and
// returns how long the batch took from the first due instant.
func benchBatch(b *testing.B, smtpURL string, n int, key crypto.Signer, conns int) (time.Duration, int) {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg, err := ParseSMTP(smtpURL, "")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Connections = conns
	tr, err := NewSMTP(cfg)
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(Options{Store: st, Transport: tr, DKIMKey: key, Connections: conns})
	if err != nil {
		b.Fatal(err)
	}
	var rcpts []string
	for i := range n {
		rcpts = append(rcpts, fmt.Sprintf("m%05d@example.org", i))
	}
	start := time.Now().Add(time.Hour + 500*time.Millisecond).Truncate(time.Second).Add(time.Second)
	loadInto(b, w, st, schedFor(start, []string{"1h"}, rcpts...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	due := start.Add(-time.Hour)
	for {
		c, _, _ := st.OutboxStats(ctx)
		if c[store.Sent] == n {
			break
		}
		time.Sleep(200 * time.Millisecond) // the rate comes from sent_at: polling only ends the wait
	}
	cancel()
	<-done
	rows, _ := st.Outbox(context.Background())
	last := due
	for _, r := range rows {
		last = maxTime(last, r.SentAt)
	}
	return last.Sub(due), messageSize(b, w, rows[0])
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func messageSize(b *testing.B, w *Worker, r store.OutboxRow) int {
	sn := w.snap.Load()
	o := sn.live[r.Occurrence]
	m, err := sn.comp.Row(r, &o, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return len(m.Data)
}

// BenchmarkMailpitThroughput: reminders per second to mailpit without
// DKIM and with RSA (2048) and Ed25519 keys, over one connection and over
// two (--smtp-connections 2), each beside Postfix's smtp-source sending as
// many messages of the same size to the same mailpit, alternately in one
// run. ratio is ours over smtp-source's on one connection;
// ratio-same-connections compares with smtp-source on as many
// connections as ours.
func BenchmarkMailpitThroughput(b *testing.B) {
	const n = 2000
	mp := startMailpit(b)
	src := need(b, "smtp-source", "../bin/smtp-source")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		key   crypto.Signer
		conns int
	}{
		{"dkim=off/connections=1", nil, 1}, {"dkim=rsa/connections=1", rsaKey, 1},
		{"dkim=ed25519/connections=1", edKey, 1}, {"dkim=rsa/connections=2", rsaKey, 2},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ours, one, same float64
			var size int
			for b.Loop() {
				var took time.Duration
				took, size = benchBatch(b, "smtp://"+mp.SMTP+"?tls=none", n, bc.key, bc.conns)
				ours += float64(n) / took.Seconds()
				one += smtpSource(b, src, mp.SMTP, n, size, 1)
				if bc.conns > 1 {
					same += smtpSource(b, src, mp.SMTP, n, size, bc.conns)
				}
			}
			b.ReportMetric(ours/float64(b.N), "reminders/s")
			b.ReportMetric(one/float64(b.N), "smtp-source-msgs/s")
			b.ReportMetric(ours/one, "ratio")
			if bc.conns > 1 {
				b.ReportMetric(ours/same, "ratio-same-connections")
			}
			b.ReportMetric(float64(size), "bytes/msg")
		})
	}
}

// smtpSource sends n messages of size bytes with smtp-source over
// sessions parallel connections to addr and returns its rate.
func smtpSource(b *testing.B, src, addr string, n, size, sessions int) float64 {
	t0 := time.Now()
	out, err := exec.Command(src, "-d", "-s", fmt.Sprint(sessions), "-m", fmt.Sprint(n), "-l", fmt.Sprint(size),
		"-f", "reminders@example.org", "-t", "member@example.org", addr).CombinedOutput()
	if err != nil {
		b.Fatalf("smtp-source: %v\n%s", err, out)
	}
	return float64(n) / time.Since(t0).Seconds()
}

// BenchmarkPunctuality: how long after its due instant each reminder is
// accepted by the server, p50 and p99, for 20 due instants 50ms apart
// with 10 reminders each.
func BenchmarkPunctuality(b *testing.B) {
	mp := startMailpit(b)
	var lates []time.Duration
	for b.Loop() {
		st, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
		if err != nil {
			b.Fatal(err)
		}
		w, err := New(Options{Store: st, Transport: smtpTransport(b, "smtp://"+mp.SMTP+"?tls=none", "")})
		if err != nil {
			b.Fatal(err)
		}
		var offsets, rcpts []string
		for i := range 20 {
			offsets = append(offsets, (time.Hour - time.Duration(i)*50*time.Millisecond).String())
		}
		for i := range 10 {
			rcpts = append(rcpts, fmt.Sprintf("p%d@example.org", i))
		}
		start := time.Now().Add(time.Hour).Truncate(time.Second).Add(2 * time.Second)
		loadInto(b, w, st, schedFor(start, offsets, rcpts...))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		for {
			c, _, _ := st.OutboxStats(ctx)
			if c[store.Sent] == 200 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		rows, _ := st.Outbox(context.Background())
		for _, r := range rows {
			lates = append(lates, r.SentAt.Sub(r.Due))
		}
		st.Close()
	}
	slices.Sort(lates)
	pct := func(p float64) float64 {
		return float64(lates[int(p*float64(len(lates)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lates[len(lates)-1])/float64(time.Millisecond), "max-ms")
}
