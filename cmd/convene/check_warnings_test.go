package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWarnings checks that check prints the warnings of a valid file
// with file, line, key and fix, and still exits 0; and that a forbidden
// rule part combination exits 2 with the fix.
func TestCheckWarnings(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	write := func(rrule string) {
		t.Helper()
		text := strings.Replace(e2eSchedule, `rrule = "FREQ=WEEKLY"`, `rrule = "`+rrule+`"`, 1)
		if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	write("FREQ=WEEKLY;BYHOUR=9,20;BYMINUTE=0")
	err := run(context.Background(), []string{"check", "--config", config}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 0 {
		t.Fatalf("check of a file with warnings: exit status %d, want 0\n%s", code, stderr.String())
	}
	want := "convene: warning: " + config + ":16: series[0].rrule: FREQ=WEEKLY;BYHOUR=9,20;BYMINUTE=0 makes 2 meetings a day"
	if !strings.HasPrefix(stderr.String(), want) || !strings.Contains(stderr.String(), "make one series per time of day") {
		t.Errorf("check stderr =\n%s\nwant %s...", stderr.String(), want)
	}
	if !strings.Contains(stdout.String(), ": ok,") {
		t.Errorf("check stdout =\n%s", stdout.String())
	}

	stderr.Reset()
	write("FREQ=WEEKLY;BYDAY=1SU")
	err = run(context.Background(), []string{"check", "--config", config}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 2 {
		t.Errorf("check of FREQ=WEEKLY;BYDAY=1SU: exit status %d, want 2", code)
	}
	if want := config + ":16: series[0].rrule: BYDAY=1SU: a numbered day (1SU) is allowed only with FREQ=MONTHLY or FREQ=YEARLY (RFC 5545 section 3.3.10); did you mean FREQ=MONTHLY;BYDAY=1SU?"; !strings.Contains(stderr.String(), want) {
		t.Errorf("check stderr =\n%s\nwant %s", stderr.String(), want)
	}
}
