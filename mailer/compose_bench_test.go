package mailer

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// cpuTime is the CPU time this process has used: on a busy machine it
// says more about a cost than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCompose: the CPU cost of one reminder, rendered and signed
// without DKIM, with Ed25519 and with RSA-2048: what the signing
// goroutines take off the connection's path. The reminders are one
// meeting's, to 64 subscribers in 4 zones.
func BenchmarkCompose(b *testing.B) {
	s := mustParse(b, goldenSchedule)
	o := s.Single(s.Sessions[0])
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	// One meeting's reminders to subscribers in four zones, each with
	// their own address and unsubscribe link, as a batch has them.
	var rows []store.OutboxRow
	for i := range 64 {
		rows = append(rows, store.OutboxRow{Ident: fmt.Sprint("bench", i), Kind: KindReminder, Occurrence: o.Key(), Offset: time.Hour,
			Recipient: fmt.Sprintf("member%d@example.org", i), Zone: []string{"Europe/London", "America/New_York", "Asia/Tokyo", "UTC"}[i%4],
			Unsubscribe: fmt.Sprintf("https://group.example.org/unsubscribe/k3y%d", i), Starts: o.Start})
	}
	for _, bc := range []struct {
		name string
		key  crypto.Signer
	}{{"dkim=off", nil}, {"dkim=ed25519", edKey}, {"dkim=rsa", rsaKey}} {
		b.Run(bc.name, func(b *testing.B) {
			c := &Composer{Schedule: s}
			if bc.key != nil {
				if c.DKIM, err = NewDKIM("example.org", "convene", bc.key); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				i++
				if _, err := c.Row(rows[i%len(rows)], &o, o.Start.Add(-time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}
