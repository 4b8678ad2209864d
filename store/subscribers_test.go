package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSignUpConfirmUnsubscribe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		st := openState(t, newState())
		now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
		lim := MailLimit{Max: 2, Window: time.Hour}
		su := SignUp{Email: "Ada@Example.org", Zone: "Asia/Tokyo", Series: []string{"chapters"}, Nonce: "n1", Expires: now.Add(48 * time.Hour)}
		if send, err := st.SignUp(ctx, now, su, lim); err != nil || !send {
			t.Fatalf("SignUp = %v, %v; want true, nil", send, err)
		}
		if subs, _ := st.Subscribers(ctx); len(subs) != 0 {
			t.Fatalf("Subscribers before confirming = %v, want none", subs)
		}
		// The same address, written differently, replaces the open confirmation.
		su2 := su
		su2.Email, su2.Zone, su2.Nonce = "ada@example.org", "Europe/London", "n2"
		if send, err := st.SignUp(ctx, now, su2, lim); err != nil || !send {
			t.Fatalf("second SignUp = %v, %v; want true, nil", send, err)
		}
		// The third within the window is refused and changes nothing.
		su3 := su
		su3.Nonce = "n3"
		if send, err := st.SignUp(ctx, now.Add(time.Minute), su3, lim); err != nil || send {
			t.Fatalf("third SignUp = %v, %v; want false, nil", send, err)
		}
		if _, err := st.Confirm(ctx, now, "n1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Confirm(replaced nonce) err = %v, want ErrNotFound", err)
		}
		if _, err := st.Confirm(ctx, now, "n3"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Confirm(refused nonce) err = %v, want ErrNotFound", err)
		}
		sub, err := st.Confirm(ctx, now, "n2")
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Confirmed || sub.Zone != "Europe/London" || !slices.Equal(sub.Series, []string{"chapters"}) || sub.Key == "" {
			t.Fatalf("Confirm = %+v", sub)
		}
		if _, err := st.Confirm(ctx, now, "n2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Confirm reused: err = %v, want ErrNotFound", err)
		}
		subs, err := st.Subscribers(ctx)
		if err != nil || len(subs) != 1 || subs[0].ID != sub.ID {
			t.Fatalf("Subscribers = %v, %v", subs, err)
		}
		if err := st.SetZone(ctx, sub.Key, "America/Chicago"); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.SubscriberByKey(ctx, sub.Key); got.Zone != "America/Chicago" {
			t.Fatalf("zone after SetZone = %q", got.Zone)
		}
		// A new window lets the address sign up again; the confirmed row
		// keeps its settings until the new link is followed.
		later := now.Add(2 * time.Hour)
		su4 := SignUp{Email: "ada@example.org", Zone: "UTC", Nonce: "n4", Expires: later.Add(time.Hour)}
		if send, err := st.SignUp(ctx, later, su4, lim); err != nil || !send {
			t.Fatalf("SignUp after window = %v, %v", send, err)
		}
		if got, _ := st.SubscriberByKey(ctx, sub.Key); got.Zone != "America/Chicago" || !got.Confirmed {
			t.Fatalf("known subscriber changed before confirming: %+v", got)
		}
		if _, err := st.Confirm(ctx, later.Add(2*time.Hour), "n4"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Confirm after expiry: err = %v, want ErrNotFound", err)
		}
		if err := st.Unsubscribe(ctx, sub.Key); err != nil {
			t.Fatal(err)
		}
		if err := st.Unsubscribe(ctx, sub.Key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Unsubscribe err = %v, want ErrNotFound", err)
		}
		if all, _ := st.AllSubscribers(ctx); len(all) != 0 {
			t.Fatalf("rows after unsubscribing: %v", all)
		}
	})
}

func TestLapsedSignUpsAreDeleted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		st := openState(t, newState())
		now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
		lim := MailLimit{Max: 3, Window: time.Hour}
		st.SignUp(ctx, now, SignUp{Email: "a@example.org", Zone: "UTC", Nonce: "a", Expires: now.Add(time.Hour)}, lim)
		st.SignUp(ctx, now.Add(2*time.Hour), SignUp{Email: "b@example.org", Zone: "UTC", Nonce: "b", Expires: now.Add(3 * time.Hour)}, lim)
		all, err := st.AllSubscribers(ctx)
		if err != nil || len(all) != 1 || all[0].Email != "b@example.org" {
			t.Fatalf("AllSubscribers = %v, %v; want only b", all, err)
		}
	})
}

func TestAddRemoveSubscriber(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		st := openState(t, newState())
		now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
		sub, err := st.AddSubscriber(ctx, now, "m@example.org", "Asia/Tokyo", nil)
		if err != nil || !sub.Confirmed || sub.Zone != "Asia/Tokyo" {
			t.Fatalf("AddSubscriber = %+v, %v", sub, err)
		}
		again, err := st.AddSubscriber(ctx, now, "M@example.org", "UTC", []string{"x"})
		if err != nil || again.ID != sub.ID || again.Zone != "UTC" || again.Key != sub.Key {
			t.Fatalf("AddSubscriber of a known address = %+v, %v; want id %d, zone UTC, same key", again, err, sub.ID)
		}
		if err := st.RemoveSubscriber(ctx, "m@EXAMPLE.org"); err != nil {
			t.Fatal(err)
		}
		if err := st.RemoveSubscriber(ctx, "m@example.org"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RemoveSubscriber twice: err = %v", err)
		}
	})
}

func TestSecretIsKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newState func() string) {
		ctx := context.Background()
		path := newState()
		st, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := st.Secret(ctx, "web", 32)
		if err != nil || len(a) != 32 {
			t.Fatalf("Secret = %x, %v", a, err)
		}
		st.Close()
		st, err = Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		b, _ := st.Secret(ctx, "web", 32)
		if !bytes.Equal(a, b) {
			t.Fatalf("Secret after reopening = %x, want %x", b, a)
		}
		if c, _ := st.Secret(ctx, "other", 32); bytes.Equal(a, c) {
			t.Fatal("two secrets are equal")
		}
	})
}
