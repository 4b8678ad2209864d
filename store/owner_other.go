//go:build !unix

package store

import (
	"io/fs"
	"os"
)

// sameOwner gives the file at path the mode of old.
func sameOwner(path string, old fs.FileInfo) error {
	return os.Chmod(path, old.Mode().Perm())
}
