package mailer

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

// TestPropertyKeptBodies: the bodies a Composer keeps and fills with
// each message's unsubscribe link are, byte for byte, what the templates
// render for that message, for random kinds, meetings, zones, times,
// texts and links (some that the stand-in cannot stand for, some texts
// that hold the stand-in itself).
func TestPropertyKeptBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(propertySeed(t), 0))
	s := mustParse(t, goldenSchedule+`
[[series]]
id = "weekly"
title = "Weekly & more"
start = 2023-07-19T18:30:00
rrule = "FREQ=WEEKLY;COUNT=4"
location = "https://meet.example.org/weekly"
`)
	occs := s.Expand(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	c := &Composer{Schedule: s}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	zones := []string{"UTC", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"}
	token := func() string {
		b := make([]byte, 1+rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	const n = 1500
	for i := range n {
		o := occs[rng.IntN(len(occs))]
		link := pick([]string{"", "https://group.example.org/unsubscribe/" + token(), "http://localhost:8080/unsubscribe/" + token(),
			"https://group.example.org/unsubscribe/a+b&c='d'", "https://grüppe.example.org/unsubscribe/" + token(), unsubscribeStandIn})
		kind := pick([]string{string(KindReminder), string(KindMoved), string(KindCancelled), string(KindBackOn)})
		zone, _ := schedule.LoadZone(pick(zones))
		now := o.Start.Add(-[]time.Duration{time.Hour, 24 * time.Hour, 10 * time.Minute, 3 * 24 * time.Hour}[rng.IntN(4)])
		v := c.base(kind, link)
		v.Title = o.Title
		c.details(&v, o)
		if rng.IntN(20) == 0 {
			v.Description = "see " + unsubscribeStandIn
		}
		v.When = c.when(o.Start, zone, now)
		v.In = until(o.Start.Sub(now))
		v.Tentative = rng.IntN(4) == 0
		if kind == string(KindMoved) {
			v.PrevWhen = c.when(o.Start.Add(-time.Hour), zone, now)
		}
		v.Subject = kind + ": " + v.Title
		text, html, err := c.render(v)
		wantText, wantHTML, wantErr := render(v)
		if err != nil || wantErr != nil {
			t.Fatalf("case %d: %v, %v", i, err, wantErr)
		}
		if text != wantText || html != wantHTML {
			t.Fatalf("case %d (%s, link %q): kept bodies differ from the rendered ones:\n--- kept\n%s\n--- rendered\n%s", i, kind, link, text+html, wantText+wantHTML)
		}
	}
	if len(c.bodies) == 0 || len(c.bodies) > n/3 {
		t.Errorf("%d bodies kept for %d messages", len(c.bodies), n)
	}
}
