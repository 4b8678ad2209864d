package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLive(t *testing.T) {
	w := httptest.NewRecorder()
	Live().ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", w.Code, w.Body)
	}
}

func TestReady(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("the database does not answer") }
	tests := []struct {
		name   string
		url    string // default /readyz
		checks []Check
		status int
		body   []string
	}{
		{"none", "", nil, 200, []string{"ready"}},
		{"all hold", "", []Check{{Name: "schedule", Func: ok}, {Name: "store", Func: ok}}, 200, []string{"ready"}},
		{"one fails", "", []Check{{Name: "schedule", Func: ok}, {Name: "store", Func: func(context.Context) error { return errors.New("readonly database") }}},
			503, []string{"not ready", "store: readonly database"}},
		{"slow check times out", "", []Check{{Name: "store", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}},
			503, []string{"not ready", "store: "}},
		{"failing check excluded", "/readyz?exclude=store", []Check{{Name: "schedule", Func: ok}, {Name: "store", Func: down}}, 200, []string{"ready"}},
		{"other check still counts", "/readyz?exclude=store", []Check{{Name: "schedule", Func: down}, {Name: "store", Func: down}},
			503, []string{"not ready", "schedule: the database does not answer"}},
		{"unknown exclude", "/readyz?exclude=db", []Check{{Name: "schedule", Func: ok}, {Name: "store", Func: ok}},
			400, []string{"exclude=db: no such check (the checks are schedule, store)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.url == "" {
				tt.url = "/readyz"
			}
			w := httptest.NewRecorder()
			Ready(50*time.Millisecond, tt.checks...).ServeHTTP(w, httptest.NewRequest("GET", tt.url, nil))
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			for _, s := range tt.body {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %q does not contain %q", w.Body, s)
				}
			}
		})
	}
}

// TestReadyFrozenDisk checks that /readyz answers 503 within its timeout
// while a check is stuck in a call that ignores its context (SQLite on a
// frozen disk), starts no second call while the first is stuck, and
// answers 200 once the disk thaws.
func TestReadyFrozenDisk(t *testing.T) {
	thaw := make(chan struct{})
	var calls atomic.Int32
	frozen := func(context.Context) error {
		calls.Add(1)
		<-thaw // ignores its context, like a blocked write(2)
		return nil
	}
	h := Ready(100*time.Millisecond, Check{Name: "store", Func: frozen})
	get := func() *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil)); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			close(thaw)
			t.Fatal("/readyz hangs while the disk is frozen")
		}
		return w
	}
	for i := range 3 {
		w := get()
		if w.Code != 503 || !strings.Contains(w.Body.String(), "store: no answer after") {
			t.Errorf("probe %d on a frozen disk = %d %q, want 503 naming the store", i, w.Code, w.Body)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the check ran %d times while stuck, want once", n)
	}
	close(thaw)
	for start := time.Now(); ; {
		w := get()
		if w.Code == 200 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("after the thaw /readyz = %d %q", w.Code, w.Body)
		}
	}
}
