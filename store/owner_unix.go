//go:build unix

package store

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// sameOwner gives the file at path the owner, group and mode of old, so
// that a state restored by root stays writable by the daemon's user.
func sameOwner(path string, old fs.FileInfo) error {
	if err := os.Chmod(path, old.Mode().Perm()); err != nil {
		return err
	}
	want, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if have, ok := st.Sys().(*syscall.Stat_t); ok && have.Uid == want.Uid && have.Gid == want.Gid {
		return nil
	}
	if err := os.Chown(path, int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("give the restored state the owner of the old one (uid %d, gid %d): %w: run restore as that user or as root", want.Uid, want.Gid, err)
	}
	return nil
}
