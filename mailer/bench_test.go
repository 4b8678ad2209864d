package mailer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// batch is what benchBatch measured.
type batch struct {
	took   time.Duration // from the first due instant to the last acceptance
	cpu    time.Duration // this process's CPU time meanwhile
	server time.Duration // mailpit's CPU time meanwhile
	msg    []byte        // one of the messages, as sent
}

// benchBatch sends n reminders, all due now, through a worker to mp.
func benchBatch(b *testing.B, mp *mailpit, n int, key crypto.Signer, conns int) batch {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg, err := ParseSMTP("smtp://"+mp.SMTP+"?tls=none", "")
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
	time.Sleep(time.Until(due))
	cpu, server := cpuTime(), procCPU(b, mp.pid)
	for {
		c, _, _ := st.OutboxStats(ctx)
		if c[store.Sent] == n {
			break
		}
		time.Sleep(100 * time.Millisecond) // the rate comes from sent_at: polling only ends the wait
	}
	res := batch{cpu: cpuTime() - cpu, server: procCPU(b, mp.pid) - server}
	cancel()
	<-done
	rows, _ := st.Outbox(context.Background())
	last := due
	for _, r := range rows {
		last = maxTime(last, r.SentAt)
	}
	res.took = last.Sub(due)
	sn := w.snap.Load()
	o := sn.live[rows[0].Occurrence]
	m, err := sn.comp.Row(rows[0], &o, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	res.msg = m.Data
	return res
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// procCPU is the CPU time process pid has used so far (Linux).
func procCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command's name, which is in parentheses.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// BenchmarkMailpitThroughput: reminders per second to mailpit without
// DKIM and with Ed25519 and RSA (2048) keys, over one connection and over
// two (--smtp-connections 2), each beside Postfix's smtp-source sending
// as many copies of one of those reminders (-F: the same bytes, which
// mailpit parses and stores as it does ours) to the same mailpit, in
// rounds that alternate the two, in the same run. ratio is ours over
// smtp-source's on one connection; ratio-same-connections compares with
// smtp-source on as many connections as ours; ratio-plain-body with
// smtp-source's own message of the same size (-l: a header and lines of
// text, less work for mailpit). Rates and ratios are the medians of the
// rounds'. cpu-ms/msg is convene's CPU time per message,
// mailpit-cpu-ms/msg mailpit's while it took ours,
// smtp-source-mailpit-cpu-ms/msg while it took smtp-source's copies, and
// plain-body-mailpit-cpu-ms/msg smtp-source's plain messages.
func BenchmarkMailpitThroughput(b *testing.B) {
	const n, rounds = 1000, 3
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
	for _, conns := range []int{1, 2} {
		for _, k := range []struct {
			name string
			key  crypto.Signer
		}{{"off", nil}, {"ed25519", edKey}, {"rsa", rsaKey}} {
			b.Run(fmt.Sprintf("dkim=%s/connections=%d", k.name, conns), func(b *testing.B) {
				// Each round's rates: ours, smtp-source's on one
				// connection, on as many as ours, with its plain body.
				var ours, one, same, plain []float64
				var cpu, server, srcServer, plainServer time.Duration
				var size int
				for b.Loop() {
					for range rounds {
						res := benchBatch(b, mp, n, k.key, conns)
						size = len(res.msg)
						ours = append(ours, float64(n)/res.took.Seconds())
						cpu += res.cpu
						server += res.server
						file := filepath.Join(b.TempDir(), "message.eml")
						// smtp-source appends CRLF to each line of the file.
						if err := os.WriteFile(file, bytes.ReplaceAll(res.msg, []byte("\r\n"), []byte("\n")), 0o644); err != nil {
							b.Fatal(err)
						}
						rate, srv := smtpSource(b, src, mp, n, 1, "-F", file)
						one = append(one, rate)
						srcServer += srv
						if conns > 1 {
							rate, _ = smtpSource(b, src, mp, n, conns, "-F", file)
							same = append(same, rate)
						}
						rate, srv = smtpSource(b, src, mp, n, 1, "-l", fmt.Sprint(size))
						plain = append(plain, rate)
						plainServer += srv
					}
				}
				per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(len(ours)*n) }
				b.ReportMetric(median(ours, nil), "reminders/s")
				b.ReportMetric(median(one, nil), "smtp-source-msgs/s")
				b.ReportMetric(median(ours, one), "ratio")
				if conns > 1 {
					b.ReportMetric(median(ours, same), "ratio-same-connections")
				}
				b.ReportMetric(median(ours, plain), "ratio-plain-body")
				b.ReportMetric(float64(size), "bytes/msg")
				b.ReportMetric(per(cpu), "cpu-ms/msg")
				b.ReportMetric(per(server), "mailpit-cpu-ms/msg")
				b.ReportMetric(per(srcServer), "smtp-source-mailpit-cpu-ms/msg")
				b.ReportMetric(per(plainServer), "plain-body-mailpit-cpu-ms/msg")
			})
		}
	}
}

// median is the median of xs, or with over, of xs[i]/over[i].
func median(xs, over []float64) float64 {
	v := slices.Clone(xs)
	for i := range over {
		v[i] /= over[i]
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// smtpSource sends n messages with smtp-source over sessions parallel
// connections to mp, with args saying what to send, and returns its rate
// and mailpit's CPU time meanwhile.
func smtpSource(b *testing.B, src string, mp *mailpit, n, sessions int, args ...string) (float64, time.Duration) {
	args = append([]string{"-d", "-s", fmt.Sprint(sessions), "-m", fmt.Sprint(n),
		"-f", "reminders@example.org", "-t", "member@example.org"}, args...)
	server := procCPU(b, mp.pid)
	t0 := time.Now()
	out, err := exec.Command(src, append(args, mp.SMTP)...).CombinedOutput()
	if err != nil {
		b.Fatalf("smtp-source: %v\n%s", err, out)
	}
	return float64(n) / time.Since(t0).Seconds(), procCPU(b, mp.pid) - server
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
