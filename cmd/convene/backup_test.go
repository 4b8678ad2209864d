package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convene/convene/store"
)

// runCmd runs convene with args and returns its stdout, stderr and error.
func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// The README's upgrade path: back up while serve runs, restore the copy
// after it stopped; a copy from a newer convene is refused.
func TestBackupRestoreCommands(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
	base, _ := startServe(t, dir)
	if resp, _ := get(t, base+"/readyz"); resp.StatusCode != 200 {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}
	out, _, err := runCmd(t, "backup", "--state", "state.db", "backup.db")
	if err != nil || !strings.Contains(out, "backed up state.db to backup.db (schema ") {
		t.Fatalf("backup = %q, %v", out, err)
	}
	if _, _, err := runCmd(t, "backup", "--state", "state.db", "backup.db"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second backup to the same file = %v, want a refusal", err)
	}
	if _, _, err := runCmd(t, "backup", "--state", "state.db"); exitCode(err, &bytes.Buffer{}) != 2 {
		t.Errorf("backup without OUT = %v, want a usage error", err)
	}

	if _, _, err := runCmd(t, "restore", "--state", "state.db", "backup.db"); err == nil || !strings.Contains(err.Error(), "the state is in use by process") {
		t.Errorf("restore over the state serve is using = %v, want a refusal", err)
	}
	out, _, err = runCmd(t, "restore", "--state", "restored.db", "backup.db")
	if err != nil || !strings.Contains(out, "restored restored.db from backup.db") {
		t.Fatalf("restore = %q, %v", out, err)
	}
	st, err := store.Open(filepath.Join(dir, "restored.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	db, _ := sql.Open("sqlite", "file:backup.db")
	db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, store.SchemaVersion()+2))
	db.Close()
	_, _, err = runCmd(t, "restore", "--state", "restored.db", "backup.db")
	want := fmt.Sprintf("this state was written by a newer convene (schema %d, this binary knows %d): upgrade the binary or restore a backup", store.SchemaVersion()+2, store.SchemaVersion())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("restore of a newer state = %v, want %q", err, want)
	}
}

// serve refuses a state from a newer convene, saying what to do.
func TestServeRefusesNewerState(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
	t.Chdir(dir)
	st, err := store.Open("state.db")
	if err != nil {
		t.Fatal(err)
	}
	st.DB().Exec(fmt.Sprintf(`PRAGMA user_version = %d`, store.SchemaVersion()+1))
	st.Close()
	_, _, err = runCmd(t, "serve", "--config", "events.toml", "--state", "state.db", "--addr", "127.0.0.1:0")
	want := fmt.Sprintf("open state state.db: this state was written by a newer convene (schema %d, this binary knows %d): upgrade the binary or restore a backup", store.SchemaVersion()+1, store.SchemaVersion())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("serve on a newer state = %v, want %q", err, want)
	}
}
