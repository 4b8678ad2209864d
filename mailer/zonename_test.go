package mailer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/store"
)

// TestZoneNameAsWritten: a reminder for a schedule that names its zone by
// a link (Europe/Kiev) names it in its text ("in Kiev"), as the maintainer
// wrote it, while its .ics attachment writes the canonical TZID
// (Europe/Kyiv), as the feed does.
func TestZoneNameAsWritten(t *testing.T) {
	s := mustParse(t, strings.Replace(header, "America/New_York", "Europe/Kiev", 1)+`
[[sessions]]
id = "kyiv"
title = "In Kyiv"
start = 2027-03-02T19:00:00
`)
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	set, err := feed.Render(context.Background(), s, st, utc("2027-01-01T00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	o := s.Single(s.Sessions[0])
	m, err := (&Composer{Schedule: s, Feeds: set}).Row(store.OutboxRow{Kind: KindReminder, Offset: 24 * time.Hour,
		Recipient: "list@example.org", Zone: "Europe/Kiev", Ident: "kyiv", Occurrence: o.Key()}, &o, o.Start.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, m.Data)
	if !strings.Contains(p.Text, "19:00 EET in Kiev") {
		t.Errorf("the text does not name the zone as written (Europe/Kiev: in Kiev):\n%s", p.Text)
	}
	if ics := string(p.ICS); !strings.Contains(ics, "TZID=Europe/Kyiv:") || strings.Contains(ics, "Europe/Kiev") {
		t.Errorf("the .ics does not write TZID=Europe/Kyiv alone:\n%s", ics)
	}
}
