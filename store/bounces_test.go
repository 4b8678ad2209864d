package store

import (
	"context"
	"testing"
	"time"
)

// TestRefusedSuspendsAndConfirmResumes: refusals count in a row, a
// delivery ends the run, the third in a row suspends, and a new
// confirmation resumes the address.
func TestRefusedSuspendsAndConfirmResumes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		st := openState(t, newState())
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		if _, err := st.AddSubscriber(ctx, now, "a@example.org", "UTC", nil); err != nil {
			t.Fatal(err)
		}
		refuse := func(want bool) {
			t.Helper()
			if got, err := st.Refused(ctx, "A@example.org", "550 no", now); err != nil || got != want {
				t.Fatalf("Refused = %v, %v; want %v", got, err, want)
			}
		}
		getting := func() int {
			t.Helper()
			subs, err := st.Subscribers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(subs)
		}
		refuse(false)
		refuse(false)
		if err := st.Delivered(ctx, "a@example.org"); err != nil {
			t.Fatal(err)
		}
		refuse(false)
		refuse(false)
		refuse(true)
		if n := getting(); n != 0 {
			t.Fatalf("%d subscribers get mail after the suspension, want 0", n)
		}
		if got, err := st.Refused(ctx, "nobody@example.org", "550", now); err != nil || got {
			t.Errorf("Refused(not a subscriber) = %v, %v", got, err)
		}
		su := SignUp{Email: "a@example.org", Zone: "UTC", Nonce: "n1", Expires: now.Add(time.Hour)}
		if _, err := st.SignUp(ctx, now, su, MailLimit{Max: 5, Window: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if n := getting(); n != 0 {
			t.Fatalf("a sign-up alone resumed the address")
		}
		sub, err := st.Confirm(ctx, now, "n1")
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Suspended.IsZero() || sub.Refused != 0 || sub.LastReply != "" || getting() != 1 {
			t.Errorf("after confirming: %+v, %d getting mail", sub, getting())
		}
	})
}
