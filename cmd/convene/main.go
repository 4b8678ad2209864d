// Command convene serves a group's schedule as an iCalendar feed and
// emails reminders before each meeting. See the README for its commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/convene/convene/schedule"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ error }

// statusError is an error with its own exit status (diff: 1 for "the
// edit changes something", 2 for any failure).
type statusError struct {
	error
	status int
}

func (e statusError) Unwrap() error { return e.error }

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "convene:", err)
	var se statusError
	if errors.As(err, &se) {
		return se.status
	}
	var ue usageError
	var ps schedule.Problems
	if errors.As(err, &ue) || errors.As(err, &ps) {
		return 2
	}
	return 1
}

const usage = `usage: convene <command> [flags]

commands:
  serve      serve the feeds and send reminders
  check      validate events.toml and list the next sessions
  diff       show what an edit of events.toml changes for subscribers
  init       write a commented events.toml for a new group
  feed       write the feed to stdout, or every feed to a directory
  preview    print one reminder email as it would be sent
  send-test  send a test email through the configured SMTP server
  subscribers  list, add, remove, export or import the people who get reminders
  backup     write a consistent copy of the state file, while serve runs
  restore    check a backup and put it back as the state file
  migrate-state  copy a SQLite state into PostgreSQL, for several replicas
  ready      ask a running serve whether it is ready (a container health check)
  version    print the version

Run "convene <command> --help" for the flags of a command.`

// run is the whole program; main only turns its error into an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{errors.New("no command")}
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "check":
		return check(args, stdout, stderr)
	case "diff":
		return diffCmd(ctx, args, stdout, stderr) // diff.go
	case "init":
		return initCmd(args, stdout, stderr) // init.go
	case "feed":
		return feedCmd(ctx, args, stdout, stderr)
	case "preview":
		return preview(args, stdout, stderr)
	case "send-test":
		return sendTest(ctx, args, stdout, stderr)
	case "subscribers":
		return subscribers(ctx, args, stdout, stderr)
	case "backup":
		return backup(ctx, args, stdout, stderr)
	case "restore":
		return restore(ctx, args, stdout, stderr)
	case "migrate-state":
		return migrateState(ctx, args, stdout, stderr) // migrate.go
	case "ready":
		return ready(ctx, args, stdout, stderr) // ready.go
	case "version":
		fmt.Fprintln(stdout, "convene", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

// version is stamped in at build time with -ldflags "-X main.version=...".
var version = "dev"

// newFlags returns a flag set for a command whose flags each also read a
// CONVENE_* environment variable (--smtp-password-file: CONVENE_SMTP_PASSWORD_FILE).
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("convene "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = argsUsage(fs, stderr, name+" [flags]", "")
	return fs
}

// argsUsage returns a usage function for fs: the synopsis (after
// "convene "), what the command does, then each flag with its variable.
func argsUsage(fs *flag.FlagSet, stderr io.Writer, synopsis, about string) func() {
	return func() {
		fmt.Fprintf(stderr, "usage: convene %s\n\n", synopsis)
		if about != "" {
			fmt.Fprintf(stderr, "%s\n\n", about)
		}
		fmt.Fprintf(stderr, "Every flag can also be set by the environment variable shown.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s (%s)\n    \t%s", f.Name, envName(f.Name), f.Usage)
			if f.DefValue != "" {
				fmt.Fprintf(stderr, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
}

// usageLine puts line, the command's arguments, above the flags in the
// help of fs.
func usageLine(fs *flag.FlagSet, stderr io.Writer, line string) {
	flags := fs.Usage
	fs.Usage = func() {
		fmt.Fprintln(stderr, line)
		flags()
	}
}

func envName(flagName string) string {
	return "CONVENE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then fills each flag not given from its variable.
func parse(fs *flag.FlagSet, args []string) error {
	rest, err := parseArgs(fs, args)
	if err == nil && len(rest) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", rest[0])}
	}
	return err
}

// parseArgs is parse for commands that take arguments after their flags:
// it returns them.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && !given[f.Name] && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = usageError{fmt.Errorf("%s: %v", envName(f.Name), e)}
			}
		}
	})
	return fs.Args(), err
}
