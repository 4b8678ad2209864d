package mailer

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/convene/convene/metrics"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// fakeClock is the worker's clock in tests that drive time themselves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// sim is a worker on a real store and a real SMTP server, driven by a
// fake clock instead of Run's timers: it sends what is due whenever the
// test moves the clock, and can be restarted (store and worker closed
// and opened again).
type sim struct {
	t     testing.TB
	ctx   context.Context
	clock *fakeClock
	srv   *smtpServer
	path  string
	opts  Options
	st    *store.Store
	w     *Worker
	tr    Transport
	text  string // the loaded events.toml
	timer *time.Timer
	log   *syncBuffer // every worker's log
	// got is every message received, in order, with the fake time.
	got []simMessage
	// onMessage, if set, is called with each message as it is received.
	onMessage func(simMessage)
}

type simMessage struct {
	to   string
	at   time.Time
	raw  []byte
	row  store.OutboxRow // the row whose Message-ID it carries
	desc state           // what it tells of the meeting
}

func newSim(t testing.TB, now time.Time, o Options) *sim {
	x := &sim{t: t, ctx: context.Background(), clock: &fakeClock{t: now}, srv: newSMTPServer(t),
		path: t.TempDir() + "/state.db", opts: o, timer: time.NewTimer(time.Hour), log: &syncBuffer{}}
	x.open()
	t.Cleanup(x.close)
	return x
}

func (x *sim) open() {
	st, err := store.Open(x.path)
	if err != nil {
		x.t.Fatal(err)
	}
	x.st, x.tr = st, smtpTransport(x.t, x.srv.URL(), "")
	o := x.opts
	o.Store, o.Transport, o.Now, o.Log = st, x.tr, x.clock.Now, newTestLogger(x.log)
	if o.RetryBase == 0 {
		o.RetryBase, o.RetryMax = 10*time.Second, time.Minute
	}
	if x.w, err = New(o); err != nil {
		x.t.Fatal(err)
	}
	if _, err := st.RecoverOutbox(x.ctx, time.Now()); err != nil {
		x.t.Fatal(err)
	}
	if x.text != "" {
		x.load(x.text)
	}
}

func (x *sim) close() {
	if x.st != nil {
		x.tr.Close()
		x.st.Close()
		x.st = nil
	}
}

// restart closes the worker and the store and opens them again.
func (x *sim) restart() { x.close(); x.open() }

// load loads text, as serve's reload does, and sends what is due.
func (x *sim) load(text string) {
	x.t.Helper()
	x.text = text
	loadInto(x.t, x.w, x.st, text)
	x.step()
}

// step sends every row due now, as Run does when its timer fires.
func (x *sim) step() {
	x.t.Helper()
	n := len(x.srv.Received())
	if err := x.w.step(x.ctx, x.timer); err != nil {
		x.t.Fatalf("step at %s: %v", x.clock.Now().Format(time.RFC3339), err)
	}
	if len(x.srv.Received()) != n || x.received() != len(x.got) {
		x.collect()
	}
}

func (x *sim) received() int {
	n := 0
	for _, c := range x.srv.Received() {
		n += c
	}
	return n
}

// collect records the messages received since the last call, at the
// current fake time, each with the outbox row it came from.
func (x *sim) collect() {
	x.t.Helper()
	rows, err := x.st.Outbox(x.ctx)
	if err != nil {
		x.t.Fatal(err)
	}
	byID := map[string]store.OutboxRow{}
	for _, r := range rows {
		byID["<"+messageID(r.Ident, "example.org")+">"] = r
	}
	seen := map[string]int{}
	for _, m := range x.got {
		seen[m.to]++
	}
	for to := range x.srv.Received() {
		for _, raw := range x.srv.Messages(to)[seen[to]:] {
			p := parseMessage(x.t, raw)
			row, ok := byID[p.Header.Get("Message-Id")]
			if !ok {
				x.t.Fatalf("a message with an unknown Message-ID %q", p.Header.Get("Message-Id"))
			}
			m := simMessage{to: to, at: x.clock.Now(), raw: raw, row: row, desc: described(x.t, row, p)}
			x.got = append(x.got, m)
			if x.onMessage != nil {
				x.onMessage(m)
			}
		}
	}
}

// advance moves the clock to `to`, sending what falls due on the way at
// the time it falls due.
func (x *sim) advance(to time.Time) {
	x.t.Helper()
	for {
		x.step()
		now := x.clock.Now()
		next, ok, err := x.st.NextOutbox(x.ctx)
		if err != nil {
			x.t.Fatal(err)
		}
		if x.w.pausedUntil.After(now) && (!ok || x.w.pausedUntil.After(next)) {
			next, ok = x.w.pausedUntil, true
		}
		if !ok || next.After(to) {
			break
		}
		x.clock.Set(later(next, now.Add(time.Millisecond)))
	}
	x.clock.Set(to)
	x.step()
}

// state is a meeting's state as a message tells it, or as the schedule
// has it: off (cancelled or gone), or on at a start.
type state struct {
	on    bool
	start time.Time
}

func (s state) eq(o state) bool { return s.on == o.on && s.start.Equal(o.start) }

func (s state) String() string {
	if !s.on {
		return "off"
	}
	return "on " + s.start.UTC().Format("Jan 2 15:04")
}

// described reads what a message tells of its meeting: a cancelled
// notice says off, the others say on at the DTSTART of the .ics they
// attach (read from the message, not from the row).
func described(t testing.TB, row store.OutboxRow, p parsed) state {
	t.Helper()
	if row.Kind == KindCancelled {
		return state{}
	}
	if p.ICS == nil {
		t.Fatalf("%s message %s has no .ics", row.Kind, row.Ident)
	}
	sc := bufio.NewScanner(bytes.NewReader(p.ICS))
	inEvent := false
	for sc.Scan() {
		line := sc.Text()
		inEvent = inEvent || line == "BEGIN:VEVENT"
		if !inEvent || !strings.HasPrefix(line, "DTSTART") {
			continue
		}
		params, value, _ := strings.Cut(line, ":")
		zone := time.UTC
		if _, tzid, ok := strings.Cut(params, "TZID="); ok {
			var err error
			if zone, err = schedule.LoadZone(tzid); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		}
		start, err := time.ParseInLocation("20060102T150405", strings.TrimSuffix(value, "Z"), zone)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return state{on: true, start: start}
	}
	t.Fatalf("no DTSTART in the .ics of %s:\n%s", row.Ident, p.ICS)
	return state{}
}

// last returns, per meeting key and recipient, the last message received.
func (x *sim) last(meetingOf func(string) string) map[[2]string]simMessage {
	out := map[[2]string]simMessage{}
	for _, m := range x.got {
		out[[2]string{meetingOf(m.row.Occurrence), m.to}] = m
	}
	return out
}

const noticeHeader = `
[calendar]
name = "Reading Group"
timezone = "UTC"
url = "https://group.example.org"
location = "https://meet.example.org/room"

[reminders]
before = ["44h", "43h"]
from = "Reading Group <reminders@example.org>"
recipients = ["x@example.org", "y@example.org"]
`

// sessionBlock is one [[sessions]] block.
func sessionBlock(id, title string, start time.Time, extra string) string {
	return fmt.Sprintf("\n[[sessions]]\nid = %q\ntitle = %q\nstart = %s\n%s", id, title, at(start), extra)
}

var day = time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC) // meetings are on this day; tests start the day before

// subjects lists the subjects x@example.org received.
func (x *sim) subjects() []string {
	var out []string
	for _, m := range x.got {
		if m.to == "x@example.org" {
			out = append(out, strings.SplitN(parseMessage(x.t, m.raw).Header.Get("Subject"), ",", 2)[0]+" "+m.desc.String())
		}
	}
	return out
}

// TestNoticeRepeat: a repeated move is never dropped, and a cancellation
// reverted after its notice went out sends "back on" (issue 8 item 1).
func TestNoticeRepeat(t *testing.T) {
	const delay = 5 * time.Minute
	x := newSim(t, day.Add(-23*time.Hour-30*time.Minute), Options{NoticeDelay: delay})
	at20, at21 := day.Add(20*time.Hour), day.Add(21*time.Hour)
	const one = `reminders = ["44h"]`
	const off = one + "\nstatus = \"cancelled\""
	steps := []string{
		sessionBlock("a", "Chapter One", at20, one), // the reminder is 30 minutes late: sent at once
		sessionBlock("a", "Chapter One", at21, one),
		sessionBlock("a", "Chapter One", at20, one),
		sessionBlock("a", "Chapter One", at21, one),
		sessionBlock("a", "Chapter One", at21, off),
		sessionBlock("a", "Chapter One", at21, one),
		sessionBlock("a", "Chapter One", at21, off),
		"",
		sessionBlock("a", "Chapter One", at20, one),
	}
	for _, s := range steps {
		x.load(noticeHeader + s)
		x.advance(x.clock.Now().Add(delay + time.Second))
	}
	want := []string{
		"Reminder: Chapter One on Jan 2 20:00",
		"Moved: Chapter One on Jan 2 21:00",
		"Moved: Chapter One on Jan 2 20:00",
		"Moved: Chapter One on Jan 2 21:00",
		"Cancelled: Chapter One off",
		"Back on: Chapter One on Jan 2 21:00",
		"Cancelled: Chapter One off",
		"Back on: Chapter One on Jan 2 20:00",
	}
	if got := x.subjects(); !slices.Equal(got, want) {
		t.Errorf("x@ received:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestNoticeRevertedWhileDown: a cancellation made while the SMTP server
// is unreachable and reverted 4 s later is never sent, with or without a
// settling delay (issue 8 item 2): re-planning drops the queued notice.
func TestNoticeRevertedWhileDown(t *testing.T) {
	for _, delay := range []time.Duration{0, 5 * time.Minute} {
		t.Run(delay.String(), func(t *testing.T) {
			x := newSim(t, day.Add(-23*time.Hour-30*time.Minute), Options{NoticeDelay: delay})
			on := noticeHeader + sessionBlock("a", "Chapter One", day.Add(20*time.Hour), `reminders = ["44h"]`)
			x.load(on)
			x.srv.Stop()
			x.load(strings.Replace(on, `reminders = ["44h"]`, "reminders = [\"44h\"]\nstatus = \"cancelled\"", 1))
			x.advance(x.clock.Now().Add(4 * time.Second))
			x.load(on)
			x.advance(x.clock.Now().Add(time.Minute))
			x.srv.Start()
			x.advance(x.clock.Now().Add(time.Hour))
			want := []string{"Reminder: Chapter One on Jan 2 20:00"}
			if got := x.subjects(); !slices.Equal(got, want) {
				t.Errorf("x@ received %q, want only %q", got, want)
			}
		})
	}
}

// TestNoticeHalfWrittenFile: a file loaded while half written (one
// meeting missing for 0.3 s) mails nothing (issue 8 item 3).
func TestNoticeHalfWrittenFile(t *testing.T) {
	x := newSim(t, day.Add(-23*time.Hour-30*time.Minute), Options{NoticeDelay: 5 * time.Minute})
	a := sessionBlock("a", "Chapter One", day.Add(20*time.Hour), `reminders = ["44h"]`)
	b := sessionBlock("b", "Chapter Two", day.Add(20*time.Hour+30*time.Minute), `reminders = ["44h"]`)
	x.load(noticeHeader + a + b)
	x.load(noticeHeader + a) // the watcher read the file before its last block was written
	x.advance(x.clock.Now().Add(300 * time.Millisecond))
	x.load(noticeHeader + a + b)
	x.advance(x.clock.Now().Add(time.Hour))
	want := []string{"Reminder: Chapter One on Jan 2 20:00", "Reminder: Chapter Two on Jan 2 20:30"}
	if got := x.subjects(); !slices.Equal(got, want) {
		t.Errorf("x@ received %q, want %q", got, want)
	}
}

// TestMissedRemindersExpire: after downtime past the grace window, the
// reminders that could not go out are recorded as expired, and counted
// by convene_reminders{state="expired"} (issue 8 item 4).
func TestMissedRemindersExpire(t *testing.T) {
	t0 := day.Add(-24 * time.Hour)
	x := newSim(t, t0, Options{Grace: time.Hour})
	x.load(noticeHeader + sessionBlock("a", "Chapter One", day.Add(20*time.Hour), `reminders = ["43h", "20h"]`))
	x.close() // down from t0, before the 43h reminder is due at t0+1h
	x.clock.Set(t0.Add(3 * time.Hour))
	x.open()
	x.advance(x.clock.Now().Add(time.Minute))
	rows, err := x.st.Outbox(x.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := states(rows)
	want := map[string]int{
		"reminder x@example.org expired": 1, "reminder y@example.org expired": 1, // the 43h ones
		"reminder x@example.org pending": 1, "reminder y@example.org pending": 1, // the 20h ones
	}
	if !maps.Equal(got, want) {
		t.Errorf("outbox after downtime: %v, want %v\n%s", got, want, dump(rows))
	}
	if log := x.log.String(); strings.Count(log, "expired: missed") != 2 ||
		strings.Count(log, "kind=reminder occurrence=a before=43h0m0s") != 2 {
		t.Errorf("want one INFO line per expired reminder, naming its kind, meeting and offset (README), log:\n%s", log)
	}
	m := metrics.New("test")
	m.WatchOutbox(x.st, time.Second)
	rec := httptest.NewRecorder()
	m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if line := `convene_reminders{state="expired"} 2`; !strings.Contains(rec.Body.String(), line+"\n") {
		t.Errorf("/metrics has no line %q:\n%s", line, rec.Body)
	}
}

var propertyCases = flag.Int("cases", 20, "cases TestPropertyNotices generates")

// propertySeed returns the seed of a property test run and logs how to
// replay it: -seed when given, else $CONVENE_PROPERTY_SEED, else a fixed
// seed when CI=true, else a random one.
func propertySeed(t *testing.T) uint64 {
	var s uint64
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			s = *seed
		}
	})
	if v := os.Getenv("CONVENE_PROPERTY_SEED"); s == 0 && v != "" {
		var err error
		if s, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CONVENE_PROPERTY_SEED=%q: %v", v, err)
		}
	}
	if s == 0 && os.Getenv("CI") == "true" {
		s = 1
	}
	if s == 0 {
		s = rand.Uint64()
	}
	t.Logf("seed %d (replay: go test ./mailer -run %s -seed %d)", s, t.Name(), s)
	return s
}

// model is the schedule a property case edits: sessions a and b, and
// the first occurrence (w1) of series w, each of which can be moved,
// moved back, cancelled, un-cancelled, removed, restored and renamed;
// the series' time can change too, which changes its occurrences' keys.
type model struct {
	m       map[string]*meetingModel
	shifted bool // series w at 19:45 instead of 19:30
}

type meetingModel struct {
	moved, cancelled, removed bool
	title                     int
}

var (
	aStart, aMoved = day.Add(20 * time.Hour), day.Add(21 * time.Hour)
	bStart, bMoved = day.Add(19 * time.Hour), day.Add(32 * time.Hour)
	wMoved         = day.Add(22 * time.Hour)
)

func (md *model) wStart() time.Time {
	if md.shifted {
		return day.Add(19*time.Hour + 45*time.Minute)
	}
	return day.Add(19*time.Hour + 30*time.Minute)
}

// state is each meeting's state as the schedule has it.
func (md *model) state(id string) state {
	mm := md.m[id]
	if mm.cancelled || mm.removed {
		return state{}
	}
	start := map[string][2]time.Time{"a": {aStart, aMoved}, "b": {bStart, bMoved}, "w1": {md.wStart(), wMoved}}[id]
	if mm.moved {
		return state{true, start[1]}
	}
	return state{true, start[0]}
}

func (md *model) toml() string {
	var b strings.Builder
	b.WriteString(noticeHeader)
	extra := func(mm *meetingModel) string {
		if mm.cancelled {
			return `status = "cancelled"`
		}
		return ""
	}
	for _, id := range []string{"a", "b"} {
		mm := md.m[id]
		if mm.removed {
			continue
		}
		start := aStart
		if id == "b" {
			start = bStart
		}
		if mm.moved {
			start = md.state(id).start
		}
		b.WriteString(sessionBlock(id, fmt.Sprintf("Meeting %s, take %d", id, mm.title), start, extra(mm)))
	}
	w := md.m["w1"]
	fmt.Fprintf(&b, "\n[[series]]\nid = \"w\"\ntitle = \"Weekly\"\nstart = %s\nrrule = \"FREQ=WEEKLY;COUNT=2\"\n", at(md.wStart()))
	if w.removed {
		b.WriteString("skip = [2030-01-02]\n")
		return b.String()
	}
	fmt.Fprintf(&b, "\n[[series.changes]]\noccurrence = 2030-01-02\ntitle = \"Weekly, take %d\"\n", w.title)
	if w.moved {
		fmt.Fprintf(&b, "start = %s\n", at(wMoved))
	}
	b.WriteString(extra(w) + "\n")
	return b.String()
}

// meetingOf maps an occurrence key to the model's meeting.
func meetingOf(key string) string {
	switch {
	case strings.HasPrefix(key, "w/20300102"):
		return "w1"
	case strings.HasPrefix(key, "w/"):
		return "w2"
	}
	return key
}

// TestPropertyNotices generates random sequences of edits (move, move
// back, cancel, un-cancel, remove, restore, change title, change a
// series' time) with SMTP outages, restarts and pauses between them,
// drives a real worker, store and SMTP server with a fake clock, and
// checks that
//
//   - every message tells of its meeting as the schedule had it when it
//     was sent, and that this state had stood for the notice delay
//     (a state that lasted less is never mailed);
//   - after each settling delay, and at the end, the last message each
//     recipient got about each meeting agrees with the schedule.
//
// The seed is fixed when CI=true; otherwise random (logged), so that
// `go test ./mailer -run Property -count 20` tries new cases; -seed or
// CONVENE_PROPERTY_SEED replays one.
func TestPropertyNotices(t *testing.T) {
	seed := propertySeed(t)
	cases, messages, ops := 0, 0, 0
	for i := range *propertyCases {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) {
			n, k := propertyCase(t, rng)
			messages += n
			ops += k
		})
		cases++
		if !ok {
			t.Fatalf("case %d failed; replay: go test ./mailer -run 'TestPropertyNotices/^%d$' -seed %d", i, i, seed)
		}
	}
	t.Logf("%d cases, %d edits and faults, %d messages checked", cases, ops, messages)
}

func propertyCase(t *testing.T, rng *rand.Rand) (messages, ops int) {
	const delay = 5 * time.Minute
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\n\nsteps:\n  %s", fmt.Sprintf(format, args...), strings.Join(trace, "\n  "))
	}
	md := &model{m: map[string]*meetingModel{"a": {}, "b": {}, "w1": {}}}
	// since is when each meeting's state began; the first schedule has
	// stood forever.
	since := map[string]time.Time{}
	current := map[string]state{}
	// z signs up for series w only, and may unsubscribe and come back.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	z := Recipient{Address: "z@example.org", Zone: berlin, Series: []string{"w"}, UnsubscribeURL: "https://group.example.org/u/z"}
	subscribed := true
	x := newSim(t, day.Add(-23*time.Hour-30*time.Minute), Options{NoticeDelay: delay,
		Jitter: func() float64 { return rng.Float64() },
		Recipients: func(_ context.Context, s *schedule.Schedule) ([]Recipient, error) {
			if subscribed {
				return append(StaticRecipients(s), z), nil
			}
			return StaticRecipients(s), nil
		}})
	// In half the cases the server also answers 451 now and then (at
	// most twice in a row to one recipient, so a retry gets through
	// within the settling time).
	if rng.IntN(2) == 0 {
		flaky, refused := rand.New(rand.NewPCG(rng.Uint64(), 0)), map[string]int{}
		x.srv.Answer = func(rcpt string, _ int) error { // called under the server's lock
			if refused[rcpt] < 2 && flaky.IntN(4) == 0 {
				refused[rcpt]++
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
			}
			refused[rcpt] = 0
			return nil
		}
	}
	x.onMessage = func(m simMessage) {
		messages++
		id := meetingOf(m.row.Occurrence)
		now := x.clock.Now()
		if m.to == z.Address && (!subscribed || id != "w1") {
			fail("%s at %s: %s about %s, to a member who is subscribed=%v to w only", m.to, now.Format("15:04:05"), m.row.Kind, id, subscribed)
		}
		if !m.desc.eq(current[id]) {
			fail("%s at %s: %s %s tells %s, but the schedule says %s", m.to, now.Format("15:04:05"), m.row.Kind, id, m.desc, current[id])
		}
		if now.Sub(since[id]) < delay {
			fail("%s at %s: %s %s tells %s, a state that began at %s, less than %s before", m.to, now.Format("15:04:05"),
				m.row.Kind, id, m.desc, since[id].Format("15:04:05"), delay)
		}
		trace = append(trace, fmt.Sprintf("%s  -> %s: %s %s %s", now.Format("15:04:05"), m.to, m.row.Kind, id, m.desc))
	}
	load := func() {
		for id := range md.m {
			old, seen := current[id]
			if st := md.state(id); !seen || !st.eq(old) {
				if seen {
					since[id] = x.clock.Now()
				}
				current[id] = st
			}
		}
		x.load(md.toml())
	}
	agree := func(when string) {
		for k, m := range x.last(meetingOf) {
			if k[1] == z.Address && !subscribed {
				continue // told nothing more
			}
			if !m.desc.eq(current[k[0]]) {
				fail("%s: the last message %s got about %s (%s, at %s) tells %s, but the schedule says %s",
					when, k[1], k[0], m.row.Kind, m.at.Format("15:04:05"), m.desc, current[k[0]])
			}
		}
	}
	up := true
	settle := func() {
		if !up {
			x.srv.Start()
			up = true
		}
		x.advance(x.clock.Now().Add(delay + 2*time.Minute + time.Second))
	}
	load()
	edits := []string{"move", "move back", "cancel", "un-cancel", "remove", "restore", "title", "series time"}
	for range 10 + rng.IntN(20) {
		ops++
		now := x.clock.Now().Format("15:04:05")
		switch p := rng.IntN(100); {
		case p < 50:
			id := []string{"a", "b", "w1"}[rng.IntN(3)]
			mm := md.m[id]
			e := edits[rng.IntN(len(edits))]
			switch e {
			case "move":
				mm.moved = !mm.moved
			case "move back":
				mm.moved = false
			case "cancel":
				mm.cancelled = true
			case "un-cancel":
				mm.cancelled = false
			case "remove":
				mm.removed = true
			case "restore":
				mm.removed = false
			case "title":
				mm.title++
			case "series time":
				md.shifted = !md.shifted
			}
			trace = append(trace, fmt.Sprintf("%s  %s %s", now, e, id))
			load()
		case p < 75:
			d := []time.Duration{time.Duration(rng.IntN(10)) * time.Second, time.Duration(rng.Int64N(int64(delay))), delay + time.Duration(rng.Int64N(int64(delay)))}[rng.IntN(3)]
			trace = append(trace, fmt.Sprintf("%s  wait %s", now, d))
			x.advance(x.clock.Now().Add(d))
		case p < 85:
			if up {
				x.srv.Stop()
			} else {
				x.srv.Start()
			}
			up = !up
			trace = append(trace, fmt.Sprintf("%s  SMTP up=%v", now, up))
		case p < 89:
			trace = append(trace, now+"  restart")
			x.restart()
		case p < 92:
			subscribed = !subscribed
			trace = append(trace, fmt.Sprintf("%s  z subscribed=%v", now, subscribed))
			if err := x.w.Replan(x.ctx); err != nil {
				t.Fatal(err)
			}
			x.step()
		default:
			trace = append(trace, now+"  settle")
			settle()
			agree("after settling at " + x.clock.Now().Format("15:04:05"))
		}
	}
	trace = append(trace, x.clock.Now().Format("15:04:05")+"  settle (end)")
	settle()
	agree("at the end")
	return messages, ops
}
