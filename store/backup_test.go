package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// dump is what a state holds that matters after a restore: the
// subscribers and the versions of what was published.
type dump struct {
	Subscribers []Subscriber
	Versions    map[string]Version
}

func readDump(t *testing.T, path string) dump {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	subs, err := s.AllSubscribers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB().Query(`SELECT key, sequence, created, modified FROM versions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	d := dump{Subscribers: subs, Versions: map[string]Version{}}
	for rows.Next() {
		var key string
		var v Version
		var c, m int64
		if err := rows.Scan(&key, &v.Sequence, &c, &m); err != nil {
			t.Fatal(err)
		}
		v.Created, v.Modified = time.Unix(c, 0).UTC(), time.Unix(m, 0).UTC()
		d.Versions[key] = v
	}
	return d
}

// TestBackupUnderLoad copies a state while another goroutine writes to
// it, as serve does. Each write adds subscriber i, then stamps a new
// version of "k" (sequence i), so a consistent copy with n subscribers
// holds exactly the first n and "k" at sequence n-2 or n-1. After the
// load stops, a backup restores to the same subscribers and versions.
func TestBackupUnderLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, src := open(t)
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			now := t0.Add(time.Duration(i) * time.Second)
			if _, err := s.AddSubscriber(ctx, now, fmt.Sprintf("p%d@example.org", i), "Europe/Berlin", nil); err != nil {
				writeErr = err
				return
			}
			if _, err := s.Stamp(ctx, now, map[string]string{"k": fmt.Sprint(i)}); err != nil {
				writeErr = err
				return
			}
		}
	}()
	var copies int
	for i := range 5 {
		time.Sleep(20 * time.Millisecond)
		out := filepath.Join(dir, fmt.Sprintf("copy%d.db", i))
		info, err := Backup(ctx, src, out)
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("Backup under load: %v", err)
		}
		d := readDump(t, out)
		n := len(d.Subscribers)
		if info.Subscribers != n {
			t.Errorf("copy %d: Backup reports %d subscribers, the copy holds %d", i, info.Subscribers, n)
		}
		for j, sub := range d.Subscribers {
			if want := fmt.Sprintf("p%d@example.org", j); sub.Email != want {
				t.Fatalf("copy %d: subscriber %d = %s, want %s (not a consistent snapshot)", i, j, sub.Email, want)
			}
		}
		if k, ok := d.Versions["k"]; n > 0 && (!ok && n > 1 || ok && (k.Sequence < n-2 || k.Sequence > n-1)) {
			t.Errorf("copy %d: %d subscribers but k at sequence %d (present %v), want %d or %d", i, n, k.Sequence, ok, n-2, n-1)
		}
		if n > 0 {
			copies++
		}
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writes during the backups: %v", writeErr)
	}
	if copies == 0 {
		t.Fatal("no backup saw a write: the load did not run")
	}
	s.Close()

	final := filepath.Join(dir, "final.db")
	if _, err := Backup(ctx, src, final); err != nil {
		t.Fatal(err)
	}
	want := readDump(t, src)
	restored := filepath.Join(dir, "restored.db")
	if _, _, err := Restore(ctx, final, restored, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := readDump(t, restored); !reflect.DeepEqual(got, want) {
		t.Errorf("restored state differs from the source:\n got %d subscribers, versions %v\nwant %d subscribers, versions %v",
			len(got.Subscribers), got.Versions, len(want.Subscribers), want.Versions)
	}
	t.Logf("%d copies under load; final: %d subscribers, k at sequence %d", copies, len(want.Subscribers), want.Versions["k"].Sequence)
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, src := open(t)
	exists := filepath.Join(dir, "exists.db")
	os.WriteFile(exists, []byte("keep me"), 0o600)
	if _, err := Backup(ctx, src, exists); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Backup over an existing file = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me" {
		t.Errorf("Backup changed an existing file: %q", b)
	}
	missing := filepath.Join(dir, "missing.db")
	if _, err := Backup(ctx, missing, filepath.Join(dir, "out.db")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Backup of a missing state = %v, want \"does not exist\"", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Backup of a missing state created it")
	}
}

func TestRestoreChecksTheBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, live := open(t)
	if _, err := s.AddSubscriber(ctx, time.Now(), "kept@example.org", "UTC", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := readDump(t, live)

	newer := filepath.Join(dir, "newer.db")
	if _, err := Backup(ctx, live, newer); err != nil {
		t.Fatal(err)
	}
	rawExec(t, newer, fmt.Sprintf(`PRAGMA user_version = %d`, SchemaVersion()+1))
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not sqlite ", 500)), 0o600)
	other := filepath.Join(dir, "other.db")
	rawExec(t, other, `CREATE TABLE t (a)`)

	for name, tt := range map[string]struct{ path, want string }{
		"newer schema": {newer, "newer convene"},
		"not SQLite":   {garbage, "not a convene state"},
		"other SQLite": {other, "not a convene state"},
		"missing":      {filepath.Join(dir, "nope.db"), "does not exist"},
	} {
		_, _, err := Restore(ctx, tt.path, live, time.Now())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Restore = %v, want an error saying %q", name, err, tt.want)
		}
	}
	if got := readDump(t, live); !reflect.DeepEqual(got, before) {
		t.Errorf("a refused restore changed the state")
	}
	if m, _ := filepath.Glob(live + ".*"); len(m) > 0 {
		t.Errorf("a refused restore left files: %v", m)
	}
}

func TestRestoreKeepsTheOldState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, live := open(t)
	s.AddSubscriber(ctx, time.Now(), "old@example.org", "UTC", nil)
	s.Close()
	os.Chmod(live, 0o640)
	bak := filepath.Join(dir, "bak.db")
	if _, err := Backup(ctx, live, bak); err != nil {
		t.Fatal(err)
	}
	s, _ = Open(live)
	s.AddSubscriber(ctx, time.Now(), "new@example.org", "UTC", nil)
	s.Close()

	now := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	info, aside, err := Restore(ctx, bak, live, now)
	if err != nil {
		t.Fatal(err)
	}
	if info.Subscribers != 1 || aside != live+".before-restore-20250301T093000Z" {
		t.Errorf("Restore = %+v, %q", info, aside)
	}
	if got := readDump(t, live).Subscribers; len(got) != 1 || got[0].Email != "old@example.org" {
		t.Errorf("restored subscribers = %v, want old@example.org only", got)
	}
	if got := readDump(t, aside).Subscribers; len(got) != 2 {
		t.Errorf("the state moved aside has %d subscribers, want 2", len(got))
	}
	if st, _ := os.Stat(live); st.Mode().Perm() != 0o640 {
		t.Errorf("restored mode = %v, want the old file's 0640", st.Mode().Perm())
	}
}

// A running serve holds the state: restore refuses and changes nothing.
func TestRestoreRefusesAHeldState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	s, err := OpenExclusive(live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddSubscriber(ctx, time.Now(), "kept@example.org", "UTC", nil)
	bak := filepath.Join(dir, "bak.db")
	if _, err := Backup(ctx, live, bak); err != nil {
		t.Fatal(err)
	}
	_, _, err = Restore(ctx, bak, live, time.Now())
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("Restore over a held state = %v, want a LockedError", err)
	}
	if m, _ := filepath.Glob(live + ".before-restore-*"); len(m) > 0 {
		t.Errorf("a refused restore moved the state aside: %v", m)
	}
	if subs, _ := s.AllSubscribers(ctx); len(subs) != 1 {
		t.Errorf("the held state has %d subscribers, want 1", len(subs))
	}
}

// Reading a stopped daemon's state leaves no -wal or -shm behind (made by
// root, they would lock the daemon's user out); a running daemon's stay.
func TestBackupLeavesNoWALFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, live := open(t)
	s.AddSubscriber(ctx, time.Now(), "a@example.org", "UTC", nil)
	s.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		if exists(live + suffix) {
			t.Fatalf("%s%s exists after Close", live, suffix)
		}
	}
	if _, err := Backup(ctx, live, filepath.Join(dir, "a.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(ctx, live); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if exists(live + suffix) {
			t.Errorf("backup of a stopped state left %s%s", live, suffix)
		}
	}
	s, err := Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddSubscriber(ctx, time.Now(), "b@example.org", "UTC", nil)
	if _, err := Backup(ctx, live, filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
	if !exists(live+"-wal") || !exists(live+"-shm") {
		t.Error("backup of a running state removed its -wal or -shm")
	}
	if _, err := Backup(ctx, live, filepath.Join(dir, "no", "such", "c.db")); err == nil || !strings.Contains(err.Error(), "does not exist: create it first") {
		t.Errorf("backup into a missing directory = %v", err)
	}
}

// The file tools refuse a PostgreSQL state, naming PostgreSQL's own.
func TestFileToolsRefusePostgres(t *testing.T) {
	ctx := context.Background()
	pg := "postgres://convene:hunter2@db.example.org/convene"
	dir := t.TempDir()
	_, err1 := Backup(ctx, pg, filepath.Join(dir, "out.db"))
	_, err2 := Check(ctx, pg)
	_, _, err3 := Restore(ctx, filepath.Join(dir, "backup.db"), pg, time.Now())
	for i, err := range []error{err1, err2, err3} {
		if err == nil || !strings.Contains(err.Error(), "pg_dump") || !strings.Contains(err.Error(), "pg_restore") ||
			strings.Contains(err.Error(), "hunter2") {
			t.Errorf("tool %d on a PostgreSQL state: %v; want an error naming pg_dump and pg_restore, without the password", i, err)
		}
	}
}
