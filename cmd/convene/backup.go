package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/convene/convene/store"
)

// backup writes a consistent copy of a state file, even one a running
// serve is writing.
func backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	fs.Usage = argsUsage(fs, stderr, "backup [--state convene.db] OUT",
		"Writes a consistent copy of the state file to the new file OUT, while serve runs.")
	state := fs.String("state", "convene.db", "the state file (SQLite) to copy")
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fs.Usage()
		return usageError{fmt.Errorf("backup: want one OUT file, got %d arguments", len(rest))}
	}
	info, err := store.Backup(ctx, *state, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%s)\n", *state, rest[0], info)
	return nil
}

// restore puts a backup back as the state file, after checking it.
func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	fs.Usage = argsUsage(fs, stderr, "restore [--state convene.db] BACKUP",
		"Checks BACKUP (integrity, schema version) and puts it in place as the state file.\nStop serve first; the state replaced is kept next to it.")
	state := fs.String("state", "convene.db", "the state file (SQLite) to replace")
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fs.Usage()
		return usageError{fmt.Errorf("restore: want one BACKUP file, got %d arguments", len(rest))}
	}
	info, aside, err := store.Restore(ctx, rest[0], *state, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s (%s)\n", *state, rest[0], info)
	if aside != "" {
		fmt.Fprintf(stdout, "the state it replaced is kept as %s\n", aside)
	}
	return nil
}
