package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convene/convene/mailer"
	"github.com/convene/convene/schedule"
)

// Formats of check's problems and warnings.
const (
	formatText   = "text"   // one line each on stderr, for people
	formatJSON   = "json"   // one JSON object a line on stdout, for programs
	formatGitHub = "github" // GitHub Actions annotations on stdout
)

func check(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	config := fs.String("config", "events.toml", "the schedule file")
	count := fs.Int("next", 10, "how many upcoming sessions to list")
	format := fs.String("format", formatText, "how to print problems: text, json (one object a line) or github (Actions annotations)")
	dkimKey := fs.String("dkim-key", "", "the DKIM key serve signs with (--dkim-key of serve); without one, check warns that reminders go out unsigned")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != formatText && *format != formatJSON && *format != formatGitHub {
		return usageError{fmt.Errorf("--format %q: want text, json or github", *format)}
	}
	s, err := schedule.Load(*config)
	var ps schedule.Problems
	if err != nil && (*format == formatText || !errors.As(err, &ps)) {
		return err
	}
	if err != nil {
		report(stdout, *format, "error", ps)
		return reported{ps}
	}
	if w := dkimWarning(s, *dkimKey); w != nil {
		s.Warnings = append(s.Warnings, *w)
	}
	// Warnings leave the exit status 0.
	if *format == formatText {
		for _, w := range s.Warnings {
			fmt.Fprintln(stderr, "convene: warning:", w)
		}
	} else {
		report(stdout, *format, "warning", s.Warnings)
	}
	if *format == formatJSON {
		return nil
	}
	return listNext(stdout, s, *config, *count)
}

// dkimWarning says when reminders would go out without a DKIM signature,
// which Gmail and Yahoo require of bulk senders.
func dkimWarning(s *schedule.Schedule, keyPath string) *schedule.Problem {
	if s.Reminders.From == "" {
		return nil
	}
	p := &schedule.Problem{File: s.File, Key: "reminders.from"}
	domain, err := mailer.SenderDomain(s)
	if err != nil {
		return nil
	}
	if keyPath == "" {
		p.Rule = fmt.Sprintf("no DKIM key is configured (--dkim-key or CONVENE_DKIM_KEY): reminders from %s go out unsigned, and Gmail and Yahoo reject or junk unsigned bulk mail; see the README's Reminders section", domain)
		return p
	}
	if _, err := (&mailConfig{dkimKey: keyPath}).dkim(); err != nil {
		p.Rule = err.Error()
		return p
	}
	return nil
}

// reported is problems already printed in a machine format: the exit
// status is still 2, and stderr gets a one-line summary.
type reported struct{ schedule.Problems }

func (r reported) Error() string {
	if len(r.Problems) == 1 {
		return r.Problems[0].File + ": 1 problem"
	}
	return fmt.Sprintf("%s: %d problems", r.Problems[0].File, len(r.Problems))
}

func (r reported) Unwrap() error { return r.Problems }

// report prints problems or warnings (level "error" or "warning") in
// format json or github.
func report(w io.Writer, format, level string, ps []schedule.Problem) {
	for _, p := range ps {
		if format == formatJSON {
			line, _ := json.Marshal(struct {
				Level   string `json:"level"`
				File    string `json:"file"`
				Line    int    `json:"line,omitempty"`
				Key     string `json:"key,omitempty"`
				Message string `json:"message"`
			}{level, p.File, p.Line, p.Key, p.Rule})
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		props := "file=" + annotationProperty(p.File)
		if p.Line > 0 {
			props += ",line=" + strconv.Itoa(p.Line)
		}
		title := "convene check"
		if p.Key != "" {
			title += ": " + p.Key
		}
		props += ",title=" + annotationProperty(title)
		fmt.Fprintf(w, "::%s %s::%s\n", level, props, annotationData(p.Rule))
	}
}

// annotationData escapes a workflow command's message the way the
// GitHub Actions runner reads it back.
func annotationData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func annotationProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// listNext prints that the file is good and its next sessions and
// reminders.
func listNext(stdout io.Writer, s *schedule.Schedule, config string, count int) error {
	now := time.Now()
	upcoming := s.Expand(now, now.AddDate(10, 0, 0))
	if len(upcoming) > count {
		upcoming = upcoming[:count]
	}
	fmt.Fprintf(stdout, "%s: ok, %d sessions and %d series\n\n", config, len(s.Sessions), len(s.Series))
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
	nextReminders(stdout, s, now, count)
	return nil
}
