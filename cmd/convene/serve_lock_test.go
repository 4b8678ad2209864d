package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeTwiceOnOneState checks that a second serve on the state of a
// running one refuses to start, naming the holder's PID, instead of
// sending every reminder a second time.
func TestServeTwiceOnOneState(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	if err := os.WriteFile(config, []byte(e2eSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "db")
	args := []string{"serve", "--config", config, "--state", state, "--addr", "127.0.0.1:0", "--outbox", filepath.Join(dir, "outbox")}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, logs) }()
	defer func() { cancel(); <-done }()
	e2eWait(t, "no listening line in the log:\n"+logs.String(), func() bool {
		return listening.MatchString(logs.String())
	})

	err := run(context.Background(), args, io.Discard, io.Discard)
	want := fmt.Sprintf("the state is in use by process %d (lock %s.lock): stop it first, or give this one its own --state", os.Getpid(), state)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("second serve = %v, want %q", err, want)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("second serve: exit status %d, want 1", code)
	}
}
