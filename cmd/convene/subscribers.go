package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

const subscribersUsage = `usage: convene subscribers list   [--state convene.db]
       convene subscribers add    [--state convene.db] [--zone ZONE] [--series ID,ID] ADDRESS...
       convene subscribers remove [--state convene.db] ADDRESS...

add confirms the addresses at once (the maintainer vouches for them);
a running convene picks the change up at its next reload (SIGHUP).`

// subscribers is the maintainers' command for the people who signed up.
func subscribers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, subscribersUsage)
		return usageError{errors.New("subscribers: no action")}
	}
	action, args := args[0], args[1:]
	fs := newFlags("subscribers "+action, stderr)
	state := fs.String("state", "convene.db", "the state file (SQLite)")
	var zone, series *string
	if action == "add" {
		zone = fs.String("zone", "UTC", "the time zone of the reminders")
		series = fs.String("series", "", "comma-separated series ids (default: every meeting)")
	}
	switch action {
	case "list", "add", "remove":
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, subscribersUsage)
		return nil
	default:
		fmt.Fprintln(stderr, subscribersUsage)
		return usageError{fmt.Errorf("subscribers: unknown action %q", action)}
	}
	addrs, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if action == "list" && len(addrs) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", addrs[0])}
	}
	if action != "list" && len(addrs) == 0 {
		return usageError{fmt.Errorf("subscribers %s: no address given", action)}
	}
	st, err := store.Open(*state)
	if err != nil {
		return err
	}
	defer st.Close()
	switch action {
	case "list":
		subs, err := st.AllSubscribers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "id\taddress\tzone\tseries\tstatus\tsince")
		for _, s := range subs {
			status := "confirmed"
			if !s.Confirmed {
				status = "pending"
			}
			ids := strings.Join(s.Series, ",")
			if ids == "" {
				ids = "all"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Email, s.Zone, ids, status, s.Created.Format("2006-01-02"))
		}
		return tw.Flush()
	case "add":
		z, err := schedule.LoadZone(*zone)
		if err != nil {
			return usageError{fmt.Errorf("--zone: %w", err)}
		}
		var ids []string
		for _, id := range strings.Split(*series, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
		for _, a := range addrs {
			addr, err := web.ParseAddress(a)
			if err != nil {
				return usageError{err}
			}
			s, err := st.AddSubscriber(ctx, time.Now(), addr, z.String(), ids)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "added %s (id %d, %s)\n", addr, s.ID, s.Zone)
		}
	case "remove":
		for _, a := range addrs {
			if err := st.RemoveSubscriber(ctx, strings.TrimSpace(a)); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s is not a subscriber", a)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed %s\n", a)
		}
	}
	return nil
}

// parseWithArgs is parse for commands that take arguments as well as
// flags, in any order: it returns the arguments.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// The flags seen stay set, so parse only fills the rest from the
	// environment.
	return rest, parse(fs, nil)
}
