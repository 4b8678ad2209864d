package mailer

import (
	"context"
	"crypto/ed25519"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenSchedule = header + `
[[sessions]]
id = "introduction"
title = "Introduction to Mutual Aid"
start = 2023-07-16T20:00:00
reading = "Mutual Aid, Introduction"
facilitator = "Clarissa"
description = """
We begin with Kropotkin's introduction.
Bring <questions> & "answers"."""
links = [{ title = "Audio recording", url = "https://example.org/audio/intro.mp3" }]
`

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// goldenFeeds parses goldenSchedule and renders its feeds on a fresh
// state: the composer of the message tests.
func goldenFeeds(t *testing.T) (*schedule.Schedule, *feed.Set) {
	t.Helper()
	s := mustParse(t, goldenSchedule)
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	set, err := feed.Render(context.Background(), s, st, utc("2023-07-01T00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	return s, set
}

func TestMessageGolden(t *testing.T) {
	s, set := goldenFeeds(t)
	c := &Composer{Schedule: s, Feeds: set}
	o := s.Single(s.Sessions[0])
	moved := o
	moved.Start = o.Start.Add(23 * time.Hour)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	la, _ := time.LoadLocation("America/Los_Angeles")
	now := o.Start.Add(-24 * time.Hour)
	tests := []struct {
		name string
		row  store.OutboxRow
		o    *schedule.Occurrence
	}{
		{"reminder-new-york", store.OutboxRow{Kind: KindReminder, Offset: 24 * time.Hour, Recipient: "list@example.org", Zone: "America/New_York"}, &o},
		{"reminder-tokyo-subscriber", store.OutboxRow{Kind: KindReminder, Offset: 24 * time.Hour, Recipient: "ann@example.org", Zone: tokyo.String(),
			Unsubscribe: "https://group.example.org/unsubscribe/k3y"}, &o},
		{"moved-los-angeles", store.OutboxRow{Kind: KindMoved, Recipient: "bo@example.org", Zone: la.String(), PrevStarts: o.Start, Starts: moved.Start}, &moved},
		{"cancelled", store.OutboxRow{Kind: KindCancelled, Recipient: "list@example.org", Zone: "America/New_York", Title: o.Title, Starts: o.Start}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.row.Ident, tt.row.Occurrence = tt.name, o.Key()
			m, err := c.Row(tt.row, tt.o, now)
			if err != nil {
				t.Fatal(err)
			}
			p := parseMessage(t, m.Data)
			golden(t, tt.name+".txt", "Subject: "+p.Header.Get("Subject")+"\n\n"+p.Text)
			golden(t, tt.name+".html", p.HTML)

			h := p.Header
			if got := h.Get("Auto-Submitted"); got != "auto-generated" {
				t.Errorf("Auto-Submitted = %q", got)
			}
			if got := h.Get("List-Id"); got != `"Reading Group" <reading-group.example.org>` {
				t.Errorf("List-Id = %q", got)
			}
			if got, want := h.Get("Message-Id"), "<"+messageID(tt.name, "example.org")+">"; got != want {
				t.Errorf("Message-ID = %q, want %q", got, want)
			}
			if d, err := h.Date(); err != nil || !d.Equal(now) {
				t.Errorf("Date = %v, %v; want %v", d, err, now)
			}
			if tt.row.Unsubscribe != "" {
				if got := h.Get("List-Unsubscribe"); got != "<"+tt.row.Unsubscribe+">" {
					t.Errorf("List-Unsubscribe = %q", got)
				}
				if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
					t.Errorf("List-Unsubscribe-Post = %q", got)
				}
			} else if h.Get("List-Unsubscribe") != "" {
				t.Errorf("List-Unsubscribe on a static recipient's message")
			}
			if tt.o == nil {
				if p.ICS != nil {
					t.Error("a cancelled notice carries an .ics")
				}
				return
			}
			if !strings.Contains(p.ICSType, "method=PUBLISH") {
				t.Errorf(".ics Content-Type %q lacks method=PUBLISH", p.ICSType)
			}
			if want := set.Event(*tt.o); string(p.ICS) != string(want) {
				t.Errorf(".ics differs from feed.Set.Event:\n%s", p.ICS)
			}
		})
	}
}

func TestWhen(t *testing.T) {
	s := mustParse(t, header)
	c := &Composer{Schedule: s}
	start := utc("2023-07-17T00:00Z")
	load := func(n string) *time.Location { l, _ := time.LoadLocation(n); return l }
	tests := []struct {
		zone *time.Location
		want string
	}{
		{load("America/New_York"), "Sunday 16 July, 20:00 EDT in New York | Monday 17 July, 00:00 UTC (next day)"},
		{load("Europe/London"), "Monday 17 July, 01:00 BST in London | Sunday 16 July, 20:00 EDT in New York (previous day) | Monday 17 July, 00:00 UTC"},
		{load("Asia/Kolkata"), "Monday 17 July, 05:30 IST in Kolkata | Sunday 16 July, 20:00 EDT in New York (previous day) | Monday 17 July, 00:00 UTC"},
		{time.UTC, "Monday 17 July, 00:00 UTC | Sunday 16 July, 20:00 EDT in New York (previous day)"},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range c.when(start, tt.zone, start) {
			got = append(got, m.String())
		}
		if got := strings.Join(got, " | "); got != tt.want {
			t.Errorf("when(%s) = %q, want %q", tt.zone, got, tt.want)
		}
	}
}

func TestDKIMAndDir(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, goldenSchedule)
	signer, err := NewDKIM("example.org", "convene", key)
	if err != nil {
		t.Fatal(err)
	}
	c := &Composer{Schedule: s, DKIM: signer}
	m, err := c.Test("a@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := Dir{Path: t.TempDir()}
	if err := dir.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir.Path, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d .eml files, want 1", len(files))
	}
	raw, _ := os.ReadFile(files[0])
	p := parseMessage(t, raw)
	sig := p.Header.Get("Dkim-Signature")
	for _, tag := range []string{"d=example.org", "s=convene", "a=ed25519-sha256"} {
		if !strings.Contains(strings.Join(strings.Fields(sig), ""), tag) {
			t.Errorf("DKIM-Signature %q lacks %s", sig, tag)
		}
	}
	if !strings.Contains(p.Text, "test message") {
		t.Errorf("text body %q", p.Text)
	}
}
