package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
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
	tests := []struct {
		name   string
		checks []Check
		status int
		body   []string
	}{
		{"none", nil, 200, []string{"ready"}},
		{"all hold", []Check{{Name: "schedule", Func: ok}, {Name: "store", Func: ok}}, 200, []string{"ready"}},
		{"one fails", []Check{{Name: "schedule", Func: ok}, {Name: "store", Func: func(context.Context) error { return errors.New("readonly database") }}},
			503, []string{"not ready", "store: readonly database"}},
		{"slow check times out", []Check{{Name: "store", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}},
			503, []string{"store: context deadline exceeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Ready(50*time.Millisecond, tt.checks...).ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
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
