package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// preview prints what a person reads: decoded subject and text, no
// quoted-printable; --raw prints the MIME message.
func TestPreviewReadable(t *testing.T) {
	dir := t.TempDir()
	sched := strings.Replace(e2eSchedule, `title = "Introduction"`,
		`title = "Café = Kropotkin's « Mutual Aid », a long title that needs folding in quoted-printable"`, 1)
	sched = strings.Replace(sched, "[calendar]\n", "[reminders]\nfrom = \"club@example.org\"\nbefore = [\"1h\"]\n\n[calendar]\n", 1)
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(sched), 0o644)
	t.Chdir(dir)

	out := mustRun(t, "preview", "--session", "intro", "--to", "a@example.org")
	for _, want := range []string{
		"Subject: Reminder: Café = Kropotkin's « Mutual Aid »",
		"To:      <a@example.org>",
		"Café = Kropotkin's « Mutual Aid », a long title that needs folding in quoted-printable starts in 1 hour",
		"invite.ics (text/calendar)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("preview does not say %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"=3D", "=C3", "=?utf-8?", "Content-Transfer-Encoding"} {
		if strings.Contains(out, bad) {
			t.Errorf("preview shows %q, which is MIME, not text:\n%s", bad, out)
		}
	}
	if _, _, err := runCmd(t, "preview", "--session", "intro", "--state", "missing.db"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("preview --state missing.db = %v, want a refusal, not a new state", err)
	}
	raw := mustRun(t, "preview", "--session", "intro", "--to", "a@example.org", "--raw")
	if !strings.Contains(raw, "MIME-Version: 1.0") || !strings.Contains(raw, "Content-Transfer-Encoding") {
		t.Errorf("preview --raw is not the MIME message:\n%s", raw)
	}
}
