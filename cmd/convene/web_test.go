package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

// TestRecipientsIncludeSubscribers: confirmed sign-ups get reminders in
// their zone, for their series, with a working unsubscribe link; pending
// ones and duplicates of the static list do not.
func TestRecipientsIncludeSubscribers(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := schedule.Load(filepath.Join("..", "..", "events.toml"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := st.AddSubscriber(ctx, now, "tokyo@example.org", "Asia/Tokyo", []string{"chapters"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddSubscriber(ctx, now, s.Reminders.Recipients[0], "UTC", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SignUp(ctx, now, store.SignUp{Email: "pending@example.org", Zone: "UTC", Nonce: "x", Expires: now.Add(time.Hour)},
		store.MailLimit{Max: 1, Window: time.Hour}); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Store: st, Secret: bytes.Repeat([]byte("k"), 32), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := recipients(ctx, s, st, srv.UnsubscribeURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("recipients = %+v, want the static one and tokyo@", rs)
	}
	if rs[0].Address != s.Reminders.Recipients[0] || rs[0].UnsubscribeURL != "" {
		t.Errorf("static recipient = %+v", rs[0])
	}
	r := rs[1]
	if r.Address != "tokyo@example.org" || r.Zone.String() != "Asia/Tokyo" || len(r.Series) != 1 || r.Series[0] != "chapters" ||
		!strings.HasPrefix(r.UnsubscribeURL, s.Calendar.URL+"/unsubscribe/") {
		t.Errorf("subscriber recipient = %+v", r)
	}
}
