package mailer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

func mustParse(t testing.TB, text string) *schedule.Schedule {
	t.Helper()
	s, err := schedule.Parse("events.toml", []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return s
}

const header = `
[calendar]
name = "Reading Group"
timezone = "America/New_York"
url = "https://group.example.org"
location = "https://meet.example.org/room"

[reminders]
before = ["24h", "1h"]
from = "Reading Group <reminders@example.org>"
recipients = ["list@example.org"]
`

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

// planned lists reminders as "due-UTC key offset recipient".
func planned(rs []Reminder) []string {
	var out []string
	for _, r := range rs {
		out = append(out, strings.Join([]string{r.Due.UTC().Format("2006-01-02T15:04Z"), r.Occurrence.Key(),
			r.Offset.String(), r.Recipient.Address}, " "))
	}
	return out
}

func TestPlan(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	list := Recipient{Address: "list@example.org"}
	ann := Recipient{Address: "ann@example.org", Zone: berlin, Series: []string{"weekly"}}
	tests := []struct {
		name  string
		toml  string
		rcpts []Recipient
		now   string
		grace time.Duration
		want  []string
	}{
		{
			name: "offsets from [reminders].before",
			toml: `[[sessions]]
id = "intro"
title = "Intro"
start = 2023-07-16T20:00:00`,
			rcpts: []Recipient{list},
			now:   "2023-07-01T00:00Z",
			want: []string{
				"2023-07-16T00:00Z intro 24h0m0s list@example.org",
				"2023-07-16T23:00Z intro 1h0m0s list@example.org",
			},
		},
		{
			name: "a session overrides the offsets; [] means none",
			toml: `[[sessions]]
id = "intro"
title = "Intro"
start = 2023-07-16T20:00:00
reminders = ["48h"]

[[sessions]]
id = "quiet"
title = "Quiet"
start = 2023-07-17T20:00:00
reminders = []`,
			rcpts: []Recipient{list},
			now:   "2023-07-01T00:00Z",
			want:  []string{"2023-07-15T00:00Z intro 48h0m0s list@example.org"},
		},
		{
			name: "a series override, and a change overriding the series",
			toml: `[[series]]
id = "weekly"
title = "Weekly"
start = 2023-07-02T20:00:00
rrule = "FREQ=WEEKLY;COUNT=2"
reminders = ["2h"]

[[series.changes]]
occurrence = 2023-07-09
reminders = ["30m"]`,
			rcpts: []Recipient{list},
			now:   "2023-07-01T00:00Z",
			want: []string{
				"2023-07-02T22:00Z weekly/20230702T200000 2h0m0s list@example.org",
				"2023-07-09T23:30Z weekly/20230709T200000 30m0s list@example.org",
			},
		},
		{
			name: "cancelled occurrences and skipped ones get none",
			toml: `[[series]]
id = "weekly"
title = "Weekly"
start = 2023-07-02T20:00:00
rrule = "FREQ=WEEKLY;COUNT=3"
reminders = ["1h"]
skip = [2023-07-09]

[[series.changes]]
occurrence = 2023-07-16
status = "cancelled"`,
			rcpts: []Recipient{list},
			now:   "2023-07-01T00:00Z",
			want:  []string{"2023-07-02T23:00Z weekly/20230702T200000 1h0m0s list@example.org"},
		},
		{
			name: "a moved occurrence is due relative to its new start",
			toml: `[[series]]
id = "weekly"
title = "Weekly"
start = 2023-07-02T20:00:00
rrule = "FREQ=WEEKLY;COUNT=1"
reminders = ["1h"]

[[series.changes]]
occurrence = 2023-07-02
start = 2023-07-03T18:00:00`,
			rcpts: []Recipient{list},
			now:   "2023-07-01T00:00Z",
			want:  []string{"2023-07-03T21:00Z weekly/20230702T200000 1h0m0s list@example.org"},
		},
		{
			name: "a recipient's series filter",
			toml: `[[sessions]]
id = "intro"
title = "Intro"
start = 2023-07-16T20:00:00
reminders = ["1h"]

[[series]]
id = "weekly"
title = "Weekly"
start = 2023-07-23T20:00:00
rrule = "FREQ=WEEKLY;COUNT=1"
reminders = ["1h"]`,
			rcpts: []Recipient{list, ann},
			now:   "2023-07-01T00:00Z",
			want: []string{
				"2023-07-16T23:00Z intro 1h0m0s list@example.org",
				"2023-07-23T23:00Z weekly/20230723T200000 1h0m0s list@example.org",
				"2023-07-23T23:00Z weekly/20230723T200000 1h0m0s ann@example.org",
			},
		},
		{
			name: "after downtime: overdue within grace is planned, beyond grace or started is not",
			toml: `[[sessions]]
id = "intro"
title = "Intro"
start = 2023-07-16T20:00:00
reminders = ["24h", "3h", "1h"]

[[sessions]]
id = "started"
title = "Started"
start = 2023-07-16T17:00:00
reminders = ["1h"]`,
			rcpts: []Recipient{list},
			now:   "2023-07-16T21:30Z", // 5:30 PM EDT: the 3h one (5 PM) is 30 minutes late
			grace: time.Hour,
			want: []string{
				"2023-07-16T21:00Z intro 3h0m0s list@example.org",
				"2023-07-16T23:00Z intro 1h0m0s list@example.org",
			},
		},
		{
			name: "DST week: 8pm New York stays 8pm, offsets are exact durations",
			toml: `[[series]]
id = "weekly"
title = "Weekly"
start = 2024-03-03T20:00:00
rrule = "FREQ=WEEKLY;COUNT=3"
reminders = ["24h"]`,
			rcpts: []Recipient{list},
			now:   "2024-03-01T00:00Z",
			want: []string{
				"2024-03-03T01:00Z weekly/20240303T200000 24h0m0s list@example.org", // EST: 01:00Z start on the 4th
				"2024-03-10T00:00Z weekly/20240310T200000 24h0m0s list@example.org", // 8pm EDT = 00:00Z on the 11th; 24h before is 7pm EST
				"2024-03-17T00:00Z weekly/20240317T200000 24h0m0s list@example.org",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, header+tt.toml)
			now := utc(tt.now)
			occs := s.Expand(now.Add(-48*time.Hour), now.AddDate(1, 0, 0))
			got := planned(Plan(occs, tt.rcpts, s.Offsets, Window{Now: now, Grace: tt.grace, Horizon: 365 * 24 * time.Hour}))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Plan =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestPlanDSTInstants(t *testing.T) {
	// The DST test above states the instants; check them against the
	// schedule's own Expand, the one source of instants.
	s := mustParse(t, header+`[[series]]
id = "weekly"
title = "Weekly"
start = 2024-03-03T20:00:00
rrule = "FREQ=WEEKLY;COUNT=3"
reminders = ["24h"]`)
	now := utc("2024-03-01T00:00Z")
	occs := s.Expand(now, now.AddDate(0, 1, 0))
	rs := Plan(occs, []Recipient{{Address: "a@example.org"}}, s.Offsets, Window{Now: now})
	for i, r := range rs {
		if got := r.Occurrence.Start.In(s.Calendar.Zone).Format("15:04"); got != "20:00" {
			t.Errorf("occurrence %d starts %s local, want 20:00", i, got)
		}
		if !r.Due.Equal(r.Occurrence.Start.Add(-24 * time.Hour)) {
			t.Errorf("reminder %d due %v, want start-24h", i, r.Due)
		}
	}
}

func TestPlanHorizon(t *testing.T) {
	s := mustParse(t, header+`[[series]]
id = "weekly"
title = "Weekly"
start = 2023-07-02T20:00:00
rrule = "FREQ=WEEKLY"
reminders = ["1h"]`)
	now := utc("2023-07-01T00:00Z")
	rs := Plan(s.Expand(now, now.AddDate(1, 0, 0)), []Recipient{{Address: "a@example.org"}}, s.Offsets,
		Window{Now: now, Horizon: 15 * 24 * time.Hour})
	if len(rs) != 2 {
		t.Errorf("Plan with a 15-day horizon over a weekly series = %d reminders, want 2:\n%s", len(rs), strings.Join(planned(rs), "\n"))
	}
}

// rowsFor turns planned reminders into outbox rows in the given state, as
// the store would hold them.
func rowsFor(rs []Reminder, state store.State) []store.OutboxRow {
	var out []store.OutboxRow
	for i, r := range rs {
		out = append(out, store.OutboxRow{ID: int64(i + 1), Ident: r.Ident(), Kind: KindReminder, Occurrence: r.Occurrence.Key(),
			Offset: r.Offset, Recipient: r.Recipient.Address, Zone: r.Recipient.Zone.String(), Title: r.Occurrence.Title,
			Starts: r.Occurrence.Start, Due: r.Due, State: state})
	}
	return out
}

func TestReconcile(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	list := Recipient{Address: "list@example.org", Zone: ny}
	before := header + `[[sessions]]
id = "intro"
title = "Intro"
start = 2023-07-16T20:00:00
reminders = ["48h", "1h"]
`
	tests := []struct {
		name        string
		after       string      // events.toml after the edit
		state       store.State // state of the old rows
		rcpts       []Recipient
		wantDeleted int
		wantNotices []string // kind|occurrence|starts
		wantDue     []string // due of the upserted rows
	}{
		{
			name:    "unchanged: the same rows, nothing else",
			after:   before,
			state:   store.Pending,
			rcpts:   []Recipient{list},
			wantDue: []string{"2023-07-15T00:00Z", "2023-07-16T23:00Z"},
		},
		{
			name:    "moved: pending reminders move",
			after:   strings.Replace(before, "2023-07-16T20:00:00", "2023-07-17T19:00:00", 1),
			state:   store.Pending,
			rcpts:   []Recipient{list},
			wantDue: []string{"2023-07-15T23:00Z", "2023-07-17T22:00Z"},
		},
		{
			name:        "moved after a reminder was sent: a moved notice",
			after:       strings.Replace(before, "2023-07-16T20:00:00", "2023-07-17T19:00:00", 1),
			state:       store.Sent,
			rcpts:       []Recipient{list},
			wantNotices: []string{"moved|intro|2023-07-17T23:00Z"},
			wantDue:     []string{"2023-07-15T23:00Z", "2023-07-17T22:00Z"},
		},
		{
			name:        "cancelled: pending dropped",
			after:       before + `status = "cancelled"`,
			state:       store.Pending,
			rcpts:       []Recipient{list},
			wantDeleted: 2,
		},
		{
			name:        "cancelled after a reminder was sent: one cancelled notice",
			after:       before + `status = "cancelled"`,
			state:       store.Sent,
			rcpts:       []Recipient{list},
			wantNotices: []string{"cancelled|intro|2023-07-17T00:00Z"},
		},
		{
			name:        "removed after a reminder was sent: one cancelled notice",
			after:       header,
			state:       store.Sent,
			rcpts:       []Recipient{list},
			wantNotices: []string{"cancelled|intro|2023-07-17T00:00Z"},
		},
		{
			name:        "unsubscribed: pending dropped, no notice",
			after:       header,
			state:       store.Sent,
			rcpts:       nil,
			wantNotices: nil,
		},
		{
			name:        "removed: pending dropped",
			after:       header,
			state:       store.Pending,
			rcpts:       []Recipient{list},
			wantDeleted: 2,
		},
	}
	now := utc("2023-07-10T00:00Z")
	win := Window{Now: now, Grace: time.Hour, Horizon: 60 * 24 * time.Hour}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s0 := mustParse(t, before)
			rows := rowsFor(Plan(s0.Expand(now, now.AddDate(1, 0, 0)), []Recipient{list}, s0.Offsets, win), tt.state)
			s1 := mustParse(t, tt.after)
			occs := s1.Expand(now, now.AddDate(1, 0, 0))
			live := map[string]schedule.Occurrence{}
			for _, o := range occs {
				live[o.Key()] = o
			}
			ch := reconcile(rows, Plan(occs, tt.rcpts, s1.Offsets, win), live, tt.rcpts, settle{now: now, grace: time.Hour})
			if len(ch.Delete) != tt.wantDeleted {
				t.Errorf("deleted %d rows, want %d", len(ch.Delete), tt.wantDeleted)
			}
			var notices []string
			for _, n := range ch.Insert {
				notices = append(notices, string(n.Kind)+"|"+n.Occurrence+"|"+n.Starts.UTC().Format("2006-01-02T15:04Z"))
				if !n.Due.Equal(now) {
					t.Errorf("notice %s due %v, want now", n.Ident, n.Due)
				}
			}
			if !slices.Equal(notices, tt.wantNotices) {
				t.Errorf("notices = %q, want %q", notices, tt.wantNotices)
			}
			var due []string
			for _, u := range ch.Upsert {
				due = append(due, u.Due.UTC().Format("2006-01-02T15:04Z"))
			}
			if !slices.Equal(due, tt.wantDue) {
				t.Errorf("upserted due = %q, want %q", due, tt.wantDue)
			}
			if tt.state == store.Sent && len(ch.Delete) > 0 {
				t.Errorf("deleted sent rows %v", ch.Delete)
			}
		})
	}
}

func TestReconcileSeriesTimeChange(t *testing.T) {
	// Changing a series' time changes its occurrence keys; a recipient
	// who got a reminder hears "moved", not "cancelled".
	ny, _ := time.LoadLocation("America/New_York")
	list := Recipient{Address: "list@example.org", Zone: ny}
	series := header + `[[series]]
id = "weekly"
title = "Weekly"
start = 2023-07-16T20:00:00
rrule = "FREQ=WEEKLY;COUNT=2"
reminders = ["48h"]
`
	now := utc("2023-07-15T12:00Z")
	win := Window{Now: now, Grace: time.Hour, Horizon: 60 * 24 * time.Hour}
	s0 := mustParse(t, series)
	rows := rowsFor(Plan(s0.Expand(now, now.AddDate(1, 0, 0)), []Recipient{list}, s0.Offsets, Window{Now: now.Add(-48 * time.Hour), Horizon: win.Horizon}), store.Sent)
	s1 := mustParse(t, strings.Replace(series, "T20:00:00", "T19:00:00", 1))
	occs := s1.Expand(now, now.AddDate(1, 0, 0))
	live := map[string]schedule.Occurrence{}
	for _, o := range occs {
		live[o.Key()] = o
	}
	ch := reconcile(rows, Plan(occs, []Recipient{list}, s1.Offsets, win), live, []Recipient{list}, settle{now: now, grace: time.Hour})
	if len(ch.Insert) == 0 {
		t.Fatal("no notice")
	}
	if n := ch.Insert[0]; n.Kind != KindMoved || n.Occurrence != "weekly/20230716T190000" {
		t.Errorf("notice = %s %s, want moved weekly/20230716T190000", n.Kind, n.Occurrence)
	}
}

func TestNotices(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := utc("2030-01-01T00:00Z")
	at20, at21 := utc("2030-01-02T20:00Z"), utc("2030-01-02T21:00Z")
	x := Recipient{Address: "x@example.org", Zone: ny}
	onlyW := Recipient{Address: "x@example.org", Zone: ny, Series: []string{"w"}}
	occ := func(key string, start time.Time, status schedule.Status) schedule.Occurrence {
		id, orig, series := strings.Cut(key, "/")
		o := schedule.Occurrence{ID: id, Series: series, Start: start}
		if series {
			o.Original, _ = time.Parse("20060102T150405", orig)
		}
		o.Title, o.Status = "Now "+key, status
		return o
	}
	told := func(id int64, key string, kind store.Kind, start time.Time) Told {
		return Told{ID: id, Occurrence: key, Recipient: "X@example.org", Kind: kind, Title: "Was " + key, Starts: start}
	}
	tests := []struct {
		name  string
		told  []Told
		live  []schedule.Occurrence
		rcpts []Recipient
		now   time.Time
		want  []string // kind occurrence title starts prev after
	}{
		{name: "unchanged", told: []Told{told(1, "a", KindReminder, at20)}, live: []schedule.Occurrence{occ("a", at20, "")}},
		{name: "a new title alone", told: []Told{told(1, "a", KindReminder, at20)}, live: []schedule.Occurrence{occ("a", at20, schedule.Tentative)}},
		{name: "moved", told: []Told{told(1, "a", KindReminder, at20)}, live: []schedule.Occurrence{occ("a", at21, "")},
			want: []string{"moved a Now a 21:00 20:00 1"}},
		{name: "cancelled", told: []Told{told(1, "a", KindReminder, at20)}, live: []schedule.Occurrence{occ("a", at21, schedule.Cancelled)},
			want: []string{"cancelled a Was a 20:00 - 1"}},
		{name: "removed", told: []Told{told(1, "a", KindReminder, at20)},
			want: []string{"cancelled a Was a 20:00 - 1"}},
		{name: "back on, at another time", told: []Told{told(1, "a", KindReminder, at20), told(2, "a", KindCancelled, at20)},
			live: []schedule.Occurrence{occ("a", at21, "")}, want: []string{"back-on a Now a 21:00 - 2"}},
		{name: "still off", told: []Told{told(2, "a", KindCancelled, at20)}, live: []schedule.Occurrence{occ("a", at21, schedule.Cancelled)}},
		{name: "the last message counts: moved and moved back",
			told: []Told{told(1, "a", KindReminder, at20), told(2, "a", KindMoved, at21)},
			live: []schedule.Occurrence{occ("a", at20, "")}, want: []string{"moved a Now a 20:00 21:00 2"}},
		{name: "the last message counts: already told",
			told: []Told{told(1, "a", KindReminder, at20), told(2, "a", KindMoved, at21)},
			live: []schedule.Occurrence{occ("a", at21, "")}},
		{name: "a series' time changed: moved, under the new key",
			told: []Told{told(1, "w/20300102T200000", KindReminder, at20)},
			live: []schedule.Occurrence{occ("w/20300102T210000", at21, "")}, want: []string{"moved w/20300102T210000 Now w/20300102T210000 21:00 20:00 1"}},
		{name: "two that day: not a rename",
			told: []Told{told(1, "w/20300102T200000", KindReminder, at20)},
			live: []schedule.Occurrence{occ("w/20300102T210000", at21, ""), occ("w/20300102T220000", at21.Add(time.Hour), "")},
			want: []string{"cancelled w/20300102T200000 Was w/20300102T200000 20:00 - 1"}},
		{name: "unsubscribed", told: []Told{told(1, "a", KindReminder, at20)}, rcpts: []Recipient{}},
		{name: "no longer following the series", told: []Told{told(1, "a", KindReminder, at20)}, rcpts: []Recipient{onlyW}},
		{name: "moved to a time that has passed", told: []Told{told(1, "a", KindReminder, at21)},
			live: []schedule.Occurrence{occ("a", at20, "")}, now: at20.Add(time.Minute)},
		{name: "removed after it was to start", told: []Told{told(1, "a", KindReminder, at20)}, now: at20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := map[string]schedule.Occurrence{}
			for _, o := range tt.live {
				live[o.Key()] = o
			}
			rcpts := tt.rcpts
			if rcpts == nil {
				rcpts = []Recipient{x}
			}
			if tt.now.IsZero() {
				tt.now = now
			}
			var got []string
			for _, n := range Notices(tt.told, live, rcpts, tt.now) {
				prev := "-"
				if !n.PrevStarts.IsZero() {
					prev = n.PrevStarts.Format("15:04")
				}
				got = append(got, fmt.Sprintf("%s %s %s %s %s %d", n.Kind, n.Occurrence, n.Title, n.Starts.Format("15:04"), prev, n.After))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Notices = %q, want %q", got, tt.want)
			}
		})
	}
}
