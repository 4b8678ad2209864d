package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A state in WAL mode is the main file plus its -wal file, so copying the
// file alone can lose the latest writes or catch a page half-written.
// Backup asks SQLite itself for a copy (VACUUM INTO), which reads one
// consistent snapshot while the daemon goes on writing.

// Info is what Check learns about a state file.
type Info struct {
	Schema      int // schema version (SQLite user_version)
	Subscribers int
	Versions    int // published calendar components and documents
	Bytes       int64
}

func (i Info) String() string {
	return fmt.Sprintf("schema %d, %d subscribers, %d versions, %d bytes", i.Schema, i.Subscribers, i.Versions, i.Bytes)
}

// readOnly is a state file opened without creating, migrating or locking
// it, so that it can be read while the daemon runs.
type readOnly struct {
	*sql.DB
	path           string
	hadWAL, hadSHM bool
}

func openReadOnly(path string) (*readOnly, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("state %s does not exist", path)
		}
		return nil, err
	}
	r := &readOnly{path: path, hadWAL: exists(path + "-wal"), hadSHM: exists(path + "-shm")}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	r.DB = db
	return r, nil
}

// Close closes the file. Reading a state in WAL mode makes its -wal and
// -shm files, which a reader cannot remove; when no daemon had them (they
// were absent and the -wal is still empty), they go, so that a backup run
// as root never leaves files the daemon's user cannot write.
func (r *readOnly) Close() error {
	err := r.DB.Close()
	if !r.hadWAL && !r.hadSHM {
		if st, e := os.Stat(r.path + "-wal"); e == nil && st.Size() == 0 {
			os.Remove(r.path + "-wal")
			os.Remove(r.path + "-shm")
		}
	}
	return err
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Backup writes a consistent copy of the state file src, which may be in
// use, to the new file dst, checks the copy, and returns what it holds.
// It refuses to overwrite dst.
func Backup(ctx context.Context, src, dst string) (Info, error) {
	if err := fileOnly("backup", src, dst); err != nil {
		return Info{}, err
	}
	if exists(dst) {
		return Info{}, fmt.Errorf("backup: %s already exists: give a new name, or remove it first", dst)
	}
	if st, err := os.Stat(filepath.Dir(dst)); err != nil || !st.IsDir() {
		return Info{}, fmt.Errorf("backup: the directory %s does not exist: create it first", filepath.Dir(dst))
	}
	db, err := openReadOnly(src)
	if err != nil {
		return Info{}, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	// Write next to dst and rename, so that dst is either whole or absent.
	tmp := dst + ".tmp-" + fmt.Sprint(time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return Info{}, fmt.Errorf("backup %s: %w", src, err)
	}
	info, err := Check(ctx, tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return Info{}, fmt.Errorf("backup %s: %w", src, err)
	}
	return info, syncDir(filepath.Dir(dst))
}

// Check reads the state file at path without changing it: its integrity,
// its schema version (a version newer than this binary's is an error) and
// its counts.
func Check(ctx context.Context, path string) (Info, error) {
	if err := fileOnly("check", path); err != nil {
		return Info{}, err
	}
	db, err := openReadOnly(path)
	if err != nil {
		return Info{}, err
	}
	defer db.Close()
	var info Info
	var problems []string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return Info{}, notState(path, err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return Info{}, err
		}
		if p != "ok" {
			problems = append(problems, p)
		}
	}
	if err := rows.Close(); err != nil {
		return Info{}, notState(path, err)
	}
	if len(problems) > 0 {
		return Info{}, fmt.Errorf("%s is damaged (SQLite integrity check: %s): use another backup", path, strings.Join(problems, "; "))
	}
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&info.Schema); err != nil {
		return Info{}, notState(path, err)
	}
	if err := checkVersion(info.Schema); err != nil {
		return Info{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM subscribers), (SELECT count(*) FROM versions)`).Scan(&info.Subscribers, &info.Versions); err != nil {
		return Info{}, notState(path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, err
	}
	info.Bytes = st.Size()
	return info, nil
}

// fileOnly refuses a PostgreSQL state to op, a tool for SQLite files:
// PostgreSQL has its own, which copy a database that is in use.
func fileOnly(op string, states ...string) error {
	for _, st := range states {
		if IsPostgres(st) {
			return fmt.Errorf("%s: %s is a PostgreSQL database, and convene %s works on a SQLite state file: "+
				"copy the database with pg_dump (pg_dump -Fc -f convene.dump URL) and put it back with pg_restore "+
				"(pg_restore --clean -d URL convene.dump)", op, Redact(st), op)
		}
	}
	return nil
}

func notState(path string, err error) error {
	return fmt.Errorf("%s is not a convene state file (%v)", path, err)
}

// Restore checks the backup at src and puts it in place as the state
// file dst. The state it replaces, if any, is moved aside to dst plus
// ".before-restore-" and the time, with its -wal file, and the restored
// file gets its owner and mode. It refuses while a serve holds dst (see
// OpenExclusive), and holds the lock itself meanwhile.
func Restore(ctx context.Context, src, dst string, now time.Time) (Info, string, error) {
	if err := fileOnly("restore", src, dst); err != nil {
		return Info{}, "", err
	}
	info, err := Check(ctx, src)
	if err != nil {
		return Info{}, "", fmt.Errorf("restore: %w", err)
	}
	_, err = os.Stat(dst + ".lock")
	created := errors.Is(err, fs.ErrNotExist)
	held, err := lock(dst)
	if err != nil {
		return Info{}, "", fmt.Errorf("restore: %w", err)
	}
	defer func() {
		if held != nil {
			held.Close()
		}
		if created {
			// Made by this process (perhaps root): serve makes its own.
			os.Remove(dst + ".lock")
		}
	}()
	tmp := dst + ".tmp-" + fmt.Sprint(now.UnixNano())
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return Info{}, "", fmt.Errorf("restore: %w", err)
	}
	var aside string
	if old, err := os.Stat(dst); err == nil {
		if err := sameOwner(tmp, old); err != nil {
			os.Remove(tmp)
			return Info{}, "", fmt.Errorf("restore: %w", err)
		}
		aside = dst + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal"} {
			if err := os.Rename(dst+suffix, aside+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				os.Remove(tmp)
				return Info{}, "", fmt.Errorf("restore: move the old state aside: %w", err)
			}
		}
		os.Remove(dst + "-shm")
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return Info{}, "", fmt.Errorf("restore: %w", err)
	}
	return info, aside, syncDir(filepath.Dir(dst))
}

// copyFile copies src to the new file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
