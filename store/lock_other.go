//go:build !unix

package store

import "os"

// lock does nothing where flock is missing: run one serve per state.
func lock(path string) (*os.File, error) { return nil, nil }
