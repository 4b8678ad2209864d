package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

const subscribersUsage = `usage: convene subscribers list   [--state convene.db]
       convene subscribers add    [--state convene.db] [--config events.toml] [--zone ZONE] [--series ID,ID] [--create] ADDRESS...
       convene subscribers remove [--state convene.db] ADDRESS...
       convene subscribers export [--state convene.db] [FILE.csv]
       convene subscribers import [--state convene.db] [--config events.toml] [--create] FILE.csv

list shows each subscriber's status: pending (not confirmed), confirmed, or
suspended (their mail server refused three reminders in a row, with its last
reply). add resumes a suspended address, as a new sign-up does.

add confirms the addresses at once (the maintainer vouches for them). A new
address gets --zone, or else the calendar's zone from --config; a known one
keeps its zone and series unless --zone or --series is given. --series takes
series ids of --config; without it, every meeting.

export writes CSV (to stdout without FILE, or "-"): address,zone,series,status,
with series ids separated by spaces (empty: every meeting) and status
confirmed or pending. import reads the same columns (FILE "-" is stdin),
checks every row first and changes nothing if one is wrong; pending and
suspended rows are skipped, since only the person can confirm or fix them.

The state file must exist unless --create is given: run the command with
the --state that serve uses. A running convene picks changes up at its next
reload (SIGHUP).`

// csvHeader is the columns of export and import.
var csvHeader = []string{"address", "zone", "series", "status"}

// Statuses of a subscriber in list and CSV.
const (
	statusConfirmed = "confirmed"
	statusPending   = "pending"
	statusSuspended = "suspended" // its server refused store.SuspendAfter reminders in a row
)

// subscribers is the maintainers' command for the people who signed up.
func subscribers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, subscribersUsage)
		return usageError{errors.New("subscribers: no action")}
	}
	action, args := args[0], args[1:]
	switch action {
	case "list", "add", "remove", "export", "import":
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, subscribersUsage)
		return nil
	default:
		fmt.Fprintln(stderr, subscribersUsage)
		return usageError{fmt.Errorf("subscribers: unknown action %q", action)}
	}
	fs := newFlags("subscribers "+action, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, subscribersUsage) }
	state := fs.String("state", "convene.db", "the state serve uses: a SQLite file, or a postgres:// URL")
	var config, zone, series *string
	var create *bool
	if action == "add" || action == "import" {
		config = fs.String("config", "events.toml", "the schedule: its zone is the default, its series ids are checked")
		create = fs.Bool("create", false, "create the state file if it does not exist")
	}
	if action == "add" {
		zone = fs.String("zone", "", "the time zone of the reminders (default: the calendar's; a known address keeps its own)")
		series = fs.String("series", "", "comma-separated series ids (default: every meeting; a known address keeps its own)")
	}
	rest, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case (action == "list") && len(rest) > 0,
		(action == "export" || action == "import") && len(rest) > 1:
		return usageError{fmt.Errorf("subscribers %s: unexpected argument %q", action, rest[len(rest)-1])}
	case action == "import" && len(rest) == 0:
		return usageError{errors.New("subscribers import: no file given")}
	case (action == "add" || action == "remove") && len(rest) == 0:
		return usageError{fmt.Errorf("subscribers %s: no address given", action)}
	}
	var s *schedule.Schedule
	if config != nil {
		if s, err = schedule.Load(*config); err != nil {
			return fmt.Errorf("subscribers %s reads --config for the calendar's zone and its series: %w", action, err)
		}
	}
	st, err := openState(*state, create != nil && *create)
	if err != nil {
		return err
	}
	defer st.Close()
	switch action {
	case "list":
		return listSubscribers(ctx, st, stdout)
	case "remove":
		return removeSubscribers(ctx, st, rest, stdout)
	case "export":
		return exportSubscribers(ctx, st, rest, stdout)
	case "import":
		return importSubscribers(ctx, st, s, rest[0], stdout)
	}
	var entries []subscriberEntry
	var problems []string
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, a := range rest {
		e := subscriberEntry{Address: a, Zone: *zone, ZoneSet: set["zone"], Series: splitIDs(*series, ","), SeriesSet: set["series"]}
		if err := e.check(s); err != nil {
			problems = append(problems, err.Error())
		}
		entries = append(entries, e)
	}
	if len(problems) > 0 {
		return usageError{errors.New(strings.Join(problems, "\n"))}
	}
	return addSubscribers(ctx, st, s, entries, stdout)
}

// openState opens the state file at path, which must exist unless create
// is set: a command run from the wrong directory must not start a new,
// empty state and report success.
func openState(path string, create bool) (*store.Store, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && !create && !store.IsPostgres(path) {
		return nil, fmt.Errorf("state %s does not exist: give --state the file serve uses (the systemd unit's is /var/lib/convene/convene.db), or --create to start a new one", path)
	}
	return store.Open(path)
}

// subscriberEntry is one address to add, from the command line or a CSV
// row; a zone or series not set keeps a known address's own.
type subscriberEntry struct {
	Line      int // CSV line, or 0
	Address   string
	Zone      string
	ZoneSet   bool
	Series    []string
	SeriesSet bool
}

// check normalizes the address and zone of e and checks its series
// against s.
func (e *subscriberEntry) check(s *schedule.Schedule) error {
	where := ""
	if e.Line > 0 {
		where = fmt.Sprintf("line %d: ", e.Line)
	}
	addr, err := web.ParseAddress(e.Address)
	if err != nil {
		return fmt.Errorf("%s%w", where, err)
	}
	e.Address = addr
	if e.ZoneSet {
		z, err := schedule.LoadZone(e.Zone)
		if err != nil {
			return fmt.Errorf("%szone: %w", where, err)
		}
		e.Zone = z.String()
	}
	known := make([]string, 0, len(s.Series))
	for _, sr := range s.Series {
		known = append(known, sr.ID)
	}
	for _, id := range e.Series {
		if !slices.Contains(known, id) {
			list := "it has none"
			if len(known) > 0 {
				list = "its series: " + strings.Join(known, ", ")
			}
			return fmt.Errorf("%sseries %q: %s has no such series (%s)", where, id, s.File, list)
		}
	}
	return nil
}

// addSubscribers adds or updates each entry and says which it did.
func addSubscribers(ctx context.Context, st *store.Store, s *schedule.Schedule, entries []subscriberEntry, stdout io.Writer) error {
	all, err := st.AllSubscribers(ctx)
	if err != nil {
		return err
	}
	known := map[string]store.Subscriber{}
	for _, sub := range all {
		known[strings.ToLower(sub.Email)] = sub
	}
	now := time.Now()
	for _, e := range entries {
		old, found := known[strings.ToLower(e.Address)]
		zone, series := s.Calendar.Zone.String(), e.Series
		switch {
		case e.ZoneSet:
			zone = e.Zone
		case found:
			zone = old.Zone
		}
		if !e.SeriesSet && found {
			series = old.Series
		}
		var verb string
		switch {
		case !found:
			verb = "added"
		case !old.Confirmed:
			verb = "confirmed"
		case !old.Suspended.IsZero():
			verb = "resumed"
		case zone == old.Zone && slices.Equal(series, old.Series):
			fmt.Fprintf(stdout, "unchanged %s (%s)\n", e.Address, describe(zone, series))
			continue
		default:
			verb = "updated"
		}
		sub, err := st.AddSubscriber(ctx, now, e.Address, zone, series)
		if err != nil {
			return err
		}
		known[strings.ToLower(sub.Email)] = sub
		if verb == "updated" {
			fmt.Fprintf(stdout, "updated %s (was %s, now %s)\n", sub.Email, describe(old.Zone, old.Series), describe(sub.Zone, sub.Series))
			continue
		}
		fmt.Fprintf(stdout, "%s %s (id %d, %s)\n", verb, sub.Email, sub.ID, describe(sub.Zone, sub.Series))
	}
	return nil
}

// describe says which zone and series a subscriber has.
func describe(zone string, series []string) string {
	if len(series) == 0 {
		return zone + ", every meeting"
	}
	return zone + ", series " + strings.Join(series, ",")
}

func listSubscribers(ctx context.Context, st *store.Store, stdout io.Writer) error {
	subs, err := st.AllSubscribers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\taddress\tzone\tseries\tstatus\tsince\tlast refusal")
	for _, s := range subs {
		ids := strings.Join(s.Series, ",")
		if ids == "" {
			ids = "all"
		}
		since := s.Created
		if !s.Suspended.IsZero() {
			since = s.Suspended
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Email, s.Zone, ids, status(s), since.Format("2006-01-02"), s.LastReply)
	}
	return tw.Flush()
}

func status(s store.Subscriber) string {
	if !s.Suspended.IsZero() {
		return statusSuspended
	}
	if s.Confirmed {
		return statusConfirmed
	}
	return statusPending
}

func removeSubscribers(ctx context.Context, st *store.Store, addrs []string, stdout io.Writer) error {
	for _, a := range addrs {
		if err := st.RemoveSubscriber(ctx, strings.TrimSpace(a)); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s is not a subscriber", a)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", a)
	}
	return nil
}

// exportSubscribers writes every subscriber as CSV to the file named in
// args, or to stdout.
func exportSubscribers(ctx context.Context, st *store.Store, args []string, stdout io.Writer) error {
	subs, err := st.AllSubscribers(ctx)
	if err != nil {
		return err
	}
	out := stdout
	var f *os.File
	if len(args) == 1 && args[0] != "-" {
		if f, err = os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		out = f
	}
	w := csv.NewWriter(out)
	w.Write(csvHeader)
	for _, s := range subs {
		w.Write([]string{s.Email, s.Zone, strings.Join(s.Series, " "), status(s)})
	}
	w.Flush()
	err = w.Error()
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// importSubscribers reads the CSV file name ("-": stdin), checks every
// row, and only then adds or updates the confirmed ones.
func importSubscribers(ctx context.Context, st *store.Store, s *schedule.Schedule, name string, stdout io.Writer) error {
	in := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	r := csv.NewReader(in)
	r.FieldsPerRecord = len(csvHeader)
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	if !slices.Equal(head, csvHeader) {
		return fmt.Errorf("import %s: line 1: want the header %s, as export writes it", name, strings.Join(csvHeader, ","))
	}
	var entries []subscriberEntry
	var problems []string
	pending := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		e := subscriberEntry{Line: line, Address: rec[0], Zone: rec[1], ZoneSet: rec[1] != "", Series: splitIDs(rec[2], " "), SeriesSet: true}
		switch rec[3] {
		case statusConfirmed:
		case statusPending, statusSuspended:
			pending++
			continue
		default:
			problems = append(problems, fmt.Sprintf("line %d: status %q: want %s, %s or %s", line, rec[3], statusConfirmed, statusPending, statusSuspended))
			continue
		}
		if err := e.check(s); err != nil {
			problems = append(problems, err.Error())
		}
		entries = append(entries, e)
	}
	if len(problems) > 0 {
		return fmt.Errorf("import %s: nothing imported:\n%s", name, strings.Join(problems, "\n"))
	}
	if err := addSubscribers(ctx, st, s, entries, stdout); err != nil {
		return err
	}
	if pending > 0 {
		fmt.Fprintf(stdout, "skipped %d pending or suspended rows: those people must sign up again\n", pending)
	}
	return nil
}

// splitIDs splits a list of series ids.
func splitIDs(s, sep string) []string {
	var ids []string
	for _, id := range strings.Split(s, sep) {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
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
