package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/convene/convene/schedule"
)

func check(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	config := fs.String("config", "events.toml", "the schedule file")
	count := fs.Int("next", 10, "how many upcoming sessions to list")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := schedule.Load(*config)
	if err != nil {
		return err
	}
	// Warnings go with the problems, on stderr, and leave the exit status 0.
	for _, w := range s.Warnings {
		fmt.Fprintln(stderr, "convene: warning:", w)
	}
	now := time.Now()
	upcoming := s.Expand(now, now.AddDate(10, 0, 0))
	if len(upcoming) > *count {
		upcoming = upcoming[:*count]
	}
	fmt.Fprintf(stdout, "%s: ok, %d sessions and %d series\n\n", *config, len(s.Sessions), len(s.Series))
	if len(upcoming) == 0 {
		fmt.Fprintln(stdout, "No upcoming sessions.")
		return nil
	}
	cal := s.Calendar.Zone
	fmt.Fprintf(stdout, "Next sessions:\n")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\tUTC\tsession\ttitle\tstatus\n", cal)
	for _, o := range upcoming {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", o.Start.In(cal).Format("Mon 2006-01-02 15:04 MST"),
			o.Start.UTC().Format("Mon 2006-01-02 15:04"), o.Key(), o.Title, o.Status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	nextReminders(stdout, s, now, *count)
	return nil
}
