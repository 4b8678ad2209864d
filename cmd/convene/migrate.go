package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/convene/convene/store"
)

// migrateState copies a SQLite state into an empty PostgreSQL one, for
// an operator moving from one machine to several replicas.
func migrateState(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-state", stderr)
	fs.Usage = argsUsage(fs, stderr, "migrate-state --from convene.db --to postgres://USER@HOST/DB [--replace]",
		"Copies every table of the SQLite state (versions, outbox, subscribers, secrets, the last good\n"+
			"schedule, bounces) into the PostgreSQL state, in one transaction. Stop serve first: it\n"+
			"refuses while a serve holds the file, and refuses a target that is not empty unless --replace.")
	from := fs.String("from", "convene.db", "the SQLite state file to copy")
	to := fs.String("to", "", "the PostgreSQL state, a postgres:// URL (as --state of the replicas)")
	replace := fs.Bool("replace", false, "delete every row of the target first (after a trial run), instead of refusing it")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		fs.Usage()
		return usageError{errors.New("migrate-state: --to is required: the postgres:// URL the replicas will use as --state")}
	}
	m, err := store.MigrateState(ctx, *from, *to, *replace)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %s to %s: %s\n", *from, store.Redact(*to), m)
	fmt.Fprintf(stdout, "now run every serve with --state (CONVENE_STATE) set to that URL; keep %s as a backup and start no serve on it\n", *from)
	return nil
}
