package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// mailbox is a Mailer that keeps what it is asked to send.
type mailbox struct {
	mu   sync.Mutex
	sent []mailed
	got  chan mailed
}

type mailed struct{ to, link string }

func newMailbox() *mailbox { return &mailbox{got: make(chan mailed, 100)} }

func (m *mailbox) SendConfirmation(ctx context.Context, to, link string) error {
	m.mu.Lock()
	m.sent = append(m.sent, mailed{to, link})
	m.mu.Unlock()
	m.got <- mailed{to, link}
	return nil
}

func (m *mailbox) next(t *testing.T) mailed {
	t.Helper()
	select {
	case got := <-m.got:
		return got
	case <-time.After(5 * time.Second):
		t.Fatal("no confirmation mail was sent")
	}
	return mailed{}
}

func (m *mailbox) none(t *testing.T) {
	t.Helper()
	select {
	case got := <-m.got:
		t.Fatalf("unexpected confirmation mail to %s", got.to)
	case <-time.After(50 * time.Millisecond):
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// testNow is before every upcoming meeting of testdata/events.toml and
// after its introduction.
var testNow = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv     *Server
	store   *store.Store
	mail    *mailbox
	clock   *clock
	handler http.Handler
	logs    *bytes.Buffer
	changed int
	mu      sync.Mutex
}

func newFixture(t *testing.T, base string) *fixture {
	t.Helper()
	sched, err := schedule.Load("testdata/events.toml")
	if err != nil {
		t.Fatal(err)
	}
	st, set := feeds(t, sched, testNow)
	f := &fixture{store: st, mail: newMailbox(), clock: &clock{now: testNow}, logs: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: f.logs}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f.srv, err = New(Config{
		Store: st, Mailer: f.mail, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Log: logger, Now: f.clock.Now, BaseURL: base,
		Changed: func(context.Context) { f.mu.Lock(); f.changed++; f.mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.srv.Close)
	if err := f.srv.Load(sched, set); err != nil {
		t.Fatal(err)
	}
	var feeds feed.Handler
	feeds.Swap(set)
	mux := http.NewServeMux()
	mux.Handle("GET /calendar.ics", &feeds)
	mux.Handle("GET /series/", &feeds)
	mux.Handle("GET /sessions/", &feeds)
	f.srv.Register(mux)
	f.handler = mux
	return f
}

// feeds opens a state in a temporary directory and renders the feeds of
// sched at now.
func feeds(t *testing.T, sched *schedule.Schedule, now time.Time) (*store.Store, *feed.Set) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	set, err := feed.Render(context.Background(), sched, st, now)
	if err != nil {
		t.Fatal(err)
	}
	return st, set
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *fixture) changes() int { f.mu.Lock(); defer f.mu.Unlock(); return f.changed }

// do sends one request through the routes and returns the answer.
func (f *fixture) do(t *testing.T, method, target string, body string, hdr ...string) *http.Response {
	t.Helper()
	var r *http.Request
	if body != "" || method == http.MethodPost {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w.Result()
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// form loads the landing page and returns its CSRF cookie and value.
func (f *fixture) form(t *testing.T) (cookie, csrf string) {
	t.Helper()
	resp := f.do(t, "GET", "/", "")
	body := readBody(t, resp)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the page has no CSRF field")
	}
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookie {
			return c.Name + "=" + c.Value, m[1]
		}
	}
	t.Fatal("the page set no CSRF cookie")
	return "", ""
}

func (f *fixture) signUp(t *testing.T, email, zone string, series ...string) *http.Response {
	t.Helper()
	cookie, csrf := f.form(t)
	v := url.Values{"email": {email}, "zone": {zone}, "csrf": {csrf}, "series": series}
	return f.do(t, "POST", "/subscribe", v.Encode(), "Cookie", cookie)
}

func TestLandingPage(t *testing.T) {
	f := newFixture(t, "https://group.example.test")
	resp := f.do(t, "GET", "/", "")
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want := []string{
		`Test &lt;Reading&gt; Group`,
		`We read &#34;books&#34; &amp; &lt;b&gt;talk&lt;/b&gt;.`,
		// Subscribe buttons, each in its app's form.
		`href="webcal://group.example.test/calendar.ics"`,
		`href="https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Fgroup.example.test%2Fcalendar.ics"`,
		`href="https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fgroup.example.test%2Fcalendar.ics&amp;name=`,
		`value="https://group.example.test/calendar.ics"`,
		`href="webcal://group.example.test/series/weekly.ics"`,
		`Google Calendar refreshes subscribed calendars only every few hours`,
		// Times in the calendar zone, on both sides of the change to EDT.
		`Sunday 7 March 2027, 20:00–21:30 EST`,
		`<time datetime="2027-03-08T01:00:00Z" data-end="2027-03-08T02:30:00Z">`,
		`Sunday 14 March 2027, 20:00–21:30 EDT`,
		// Cancelled and moved meetings.
		`<span class="badge cancelled">Cancelled</span>`,
		`<span class="badge moved">Moved</span>`,
		`Moved from Sunday 28 March, 20:00 EDT.`,
		`Sunday 28 March 2027, 19:00–20:30 EDT`,
		// Join link, facilitator, one meeting's .ics.
		`<a href="https://meet.jit.si/TestGroup" rel="noopener">https://meet.jit.si/TestGroup</a>`,
		`<dd>Sachio</dd>`,
		`href="/series/weekly/20270307T200000.ics"`,
		`href="/sessions/xss.ics"`,
		// The past meeting with its recording.
		`<a href="https://example.org/audio/intro.mp3" rel="noopener">Audio recording</a>`,
		// The sign-up form, with the calendar zone until the script runs.
		`action="/subscribe"`,
		`<input type="checkbox" name="series" value="weekly">`,
		`value="America/New_York" data-default="America/New_York"`,
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("GET / lacks %s", w)
		}
	}
	up, past := strings.Index(body, `id="upcoming"`), strings.Index(body, `id="recordings"`)
	if intro := strings.Index(body, "Introduction"); intro < past || up > past {
		t.Errorf("the past introduction is not under Recordings")
	}
	if strings.Contains(body, f.srv.sentinel) {
		t.Error("the page shows the CSRF placeholder")
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}
}

func TestSessionTextIsText(t *testing.T) {
	f := newFixture(t, "http://example.test")
	body := readBody(t, f.do(t, "GET", "/", ""))
	for _, bad := range []string{"<script>window", "<img src=x", `onerror="`, "</p><script>", `href="javascript:`, "<b>talk"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains raw %s", bad)
		}
	}
	for _, good := range []string{
		`&lt;script&gt;window.pwned=1&lt;/script&gt; &#34;Quoted&#34; &amp; &#39;single&#39;`,
		`&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;`,
		`Ann &#34;&lt;b&gt;&#34;`,
		`&lt;/p&gt;&lt;script&gt;window.pwned=3&lt;/script&gt;`,
		`<dt>Where</dt><dd>javascript:window.pwned=4</dd>`,
	} {
		if !strings.Contains(body, good) {
			t.Errorf("page lacks escaped %s", good)
		}
	}
}

func TestOccurrenceICS(t *testing.T) {
	f := newFixture(t, "http://example.test")
	resp := f.do(t, "GET", "/series/weekly/20270328T200000.ics", "")
	body := readBody(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("GET occurrence = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, w := range []string{"METHOD:PUBLISH", "RECURRENCE-ID;TZID=America/New_York:20270328T200000",
		"DTSTART;TZID=America/New_York:20270328T190000", "SUMMARY:Moved chapter", "UID:weekly@convene"} {
		if !strings.Contains(body, w) {
			t.Errorf("occurrence .ics lacks %s:\n%s", w, body)
		}
	}
	if etag := resp.Header.Get("Etag"); etag == "" {
		t.Error("no ETag")
	} else if again := f.do(t, "GET", "/series/weekly/20270328T200000.ics", "", "If-None-Match", etag); again.StatusCode != 304 {
		t.Errorf("conditional GET = %d, want 304", again.StatusCode)
	}
	for _, path := range []string{
		"/series/weekly/20270329T200000.ics", // no occurrence then
		"/series/weekly/20270307T200000",     // no .ics
		"/series/weekly/2027-03-07.ics",
		"/series/nope/20270307T200000.ics",
	} {
		if resp := f.do(t, "GET", path, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
	// The feed's own routes still answer.
	if resp := f.do(t, "GET", "/series/weekly.ics", ""); resp.StatusCode != 200 {
		t.Errorf("GET /series/weekly.ics = %d", resp.StatusCode)
	}
	if resp := f.do(t, "GET", "/sessions/xss.ics", ""); resp.StatusCode != 200 {
		t.Errorf("GET /sessions/xss.ics = %d", resp.StatusCode)
	}
}

func TestOccurrenceLookup(t *testing.T) {
	sched, err := schedule.Load("testdata/events.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		when  string
		ok    bool
		start time.Time
	}{
		{"20270307T200000", true, time.Date(2027, 3, 8, 1, 0, 0, 0, time.UTC)},
		{"20270314T200000", true, time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"20270328T200000", true, time.Date(2027, 3, 28, 23, 0, 0, 0, time.UTC)},
		{"20270411T200000", false, time.Time{}}, // after COUNT=5
		{"20270307T210000", false, time.Time{}},
		{"bogus", false, time.Time{}},
	} {
		o, ok := occurrence(sched, "weekly", tc.when)
		if ok != tc.ok || (ok && !o.Start.Equal(tc.start)) {
			t.Errorf("occurrence(weekly, %s) = %v, %v; want %v, %v", tc.when, o.Start, ok, tc.start, tc.ok)
		}
	}
}

func TestStatic(t *testing.T) {
	f := newFixture(t, "http://example.test")
	resp := f.do(t, "GET", "/static/page.js", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /static/page.js = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if body := readBody(t, resp); strings.Contains(body, "innerHTML") {
		t.Error("page.js sets innerHTML")
	}
	if resp := f.do(t, "GET", "/static/page.css", ""); resp.StatusCode != 200 {
		t.Errorf("GET /static/page.css = %d", resp.StatusCode)
	}
	if resp := f.do(t, "GET", "/static/nope.js", ""); resp.StatusCode != 404 {
		t.Errorf("GET /static/nope.js = %d", resp.StatusCode)
	}
}

// TestSignUpConfirmUnsubscribe walks one person through every step.
func TestSignUpConfirmUnsubscribe(t *testing.T) {
	f := newFixture(t, "http://example.test")
	ctx := context.Background()
	const email = "ada.lovelace@Example.ORG"
	resp := f.signUp(t, email, "Asia/Tokyo", "weekly")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/subscribe/sent" {
		t.Fatalf("POST /subscribe = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := f.do(t, "GET", "/subscribe/sent", ""); resp.StatusCode != 200 || !strings.Contains(readBody(t, resp), "Check your inbox") {
		t.Fatalf("GET /subscribe/sent = %d", resp.StatusCode)
	}
	m := f.mail.next(t)
	if m.to != "ada.lovelace@example.org" {
		t.Errorf("confirmation to %q, want the address with its domain in lower case", m.to)
	}
	if !strings.HasPrefix(m.link, "http://example.test/confirm/") {
		t.Fatalf("confirmation link %q", m.link)
	}
	if strings.Contains(strings.ToLower(m.link), "lovelace") {
		t.Errorf("the link %s reveals the address", m.link)
	}
	path := strings.TrimPrefix(m.link, "http://example.test")
	// Following the link shows a button and changes nothing.
	resp = f.do(t, "GET", path, "")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `<form method="post" action="`+path+`">`) {
		t.Fatalf("GET %s = %d:\n%s", path, resp.StatusCode, body)
	}
	if subs, _ := f.store.Subscribers(ctx); len(subs) != 0 || f.changes() != 0 {
		t.Fatalf("subscribed before confirming: %v", subs)
	}
	resp = f.do(t, "POST", path, "")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "You are signed up") || !strings.Contains(body, "Asia/Tokyo") {
		t.Fatalf("POST %s = %d:\n%s", path, resp.StatusCode, body)
	}
	subs, err := f.store.Subscribers(ctx)
	if err != nil || len(subs) != 1 || subs[0].Zone != "Asia/Tokyo" || len(subs[0].Series) != 1 || subs[0].Series[0] != "weekly" {
		t.Fatalf("Subscribers = %+v, %v", subs, err)
	}
	if f.changes() != 1 {
		t.Errorf("Changed called %d times, want 1", f.changes())
	}
	// The link works once.
	if resp := f.do(t, "POST", path, ""); resp.StatusCode != http.StatusGone {
		t.Errorf("reused confirmation = %d, want 410", resp.StatusCode)
	}

	unsub := f.srv.UnsubscribeURL(f.srv.cur.Load().sched, subs[0])
	if !strings.HasPrefix(unsub, "http://example.test/unsubscribe/") {
		t.Fatalf("UnsubscribeURL = %s", unsub)
	}
	upath := strings.TrimPrefix(unsub, "http://example.test")
	resp = f.do(t, "GET", upath, "")
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, "Unsubscribe</button>") || !strings.Contains(body, `value="Asia/Tokyo"`) {
		t.Fatalf("GET %s = %d:\n%s", upath, resp.StatusCode, body)
	}
	if strings.Contains(strings.ToLower(body), "lovelace") {
		t.Error("the unsubscribe page shows the address")
	}
	token := strings.TrimPrefix(upath, "/unsubscribe/")
	if resp := f.do(t, "POST", "/zone/"+token, "zone=Mars%2FOlympus"); resp.StatusCode != 400 {
		t.Errorf("POST /zone with an unknown zone = %d, want 400", resp.StatusCode)
	}
	if resp := f.do(t, "POST", "/zone/"+token, "zone=Europe%2FLondon"); resp.StatusCode != 200 {
		t.Fatalf("POST /zone = %d", resp.StatusCode)
	}
	if sub, _ := f.store.SubscriberByKey(ctx, subs[0].Key); sub.Zone != "Europe/London" {
		t.Errorf("zone after change = %q", sub.Zone)
	}
	// RFC 8058 one-click, as a mail provider sends it.
	resp = f.do(t, "POST", upath, "List-Unsubscribe=One-Click")
	if resp.StatusCode != 200 {
		t.Fatalf("one-click POST = %d", resp.StatusCode)
	}
	if all, _ := f.store.AllSubscribers(ctx); len(all) != 0 {
		t.Errorf("rows after unsubscribing: %d", len(all))
	}
	if f.changes() != 3 {
		t.Errorf("Changed called %d times, want 3", f.changes())
	}
	if resp := f.do(t, "POST", upath, "List-Unsubscribe=One-Click"); resp.StatusCode != http.StatusGone {
		t.Errorf("second unsubscribe = %d, want 410", resp.StatusCode)
	}
	if resp := f.do(t, "GET", upath, ""); resp.StatusCode != http.StatusGone {
		t.Errorf("GET after unsubscribing = %d, want 410", resp.StatusCode)
	}
	if strings.Contains(strings.ToLower(f.logs.String()), "lovelace") {
		t.Errorf("the address is in the log:\n%s", f.logs)
	}
}

// TestSameAnswer: the form tells no one whether an address is known.
func TestSameAnswer(t *testing.T) {
	f := newFixture(t, "http://example.test")
	if _, err := f.store.AddSubscriber(context.Background(), testNow, "known@example.org", "UTC", nil); err != nil {
		t.Fatal(err)
	}
	answer := func(email string) string {
		resp := f.signUp(t, email, "Europe/London")
		var b strings.Builder
		b.WriteString(resp.Status)
		for _, k := range []string{"Location", "Content-Type", "Content-Length"} {
			b.WriteString("|" + resp.Header.Get(k))
		}
		b.WriteString("|" + readBody(t, resp))
		return b.String()
	}
	known, unknown := answer("known@example.org"), answer("new@example.org")
	if known != unknown {
		t.Errorf("answers differ:\nknown:   %s\nunknown: %s", known, unknown)
	}
	// Both get a mail: the known address a link that changes its zone.
	a, b := f.mail.next(t), f.mail.next(t)
	if a.to == b.to {
		t.Errorf("mails went to %s and %s", a.to, b.to)
	}
}

func TestSignUpBadInput(t *testing.T) {
	f := newFixture(t, "http://example.test")
	f.srv.ips = newLimiter(100, time.Minute) // this test is about input, not rates
	cookie, csrf := f.form(t)
	good := url.Values{"email": {"a@example.org"}, "zone": {"Europe/London"}, "csrf": {csrf}}
	with := func(k, v string) string {
		u := url.Values{}
		for kk, vv := range good {
			u[kk] = vv
		}
		if v == "" {
			u.Del(k)
		} else {
			u.Set(k, v)
		}
		return u.Encode()
	}
	for _, tc := range []struct {
		name   string
		body   string
		hdr    []string
		status int
		says   string
	}{
		{"no at", with("email", "not-an-address"), nil, 400, "is not an email address"},
		{"display name", with("email", "Ada <a@example.org>"), nil, 400, "is not an email address"},
		{"two addresses", with("email", "a@example.org,b@example.org"), nil, 400, "is not an email address"},
		{"header injection", with("email", "a@example.org\r\nBcc: b@example.org"), nil, 400, "is not an email address"},
		{"no domain", with("email", "a@"), nil, 400, "is not an email address"},
		{"too long", with("email", strings.Repeat("a", 250)+"@example.org"), nil, 400, "is not an email address"},
		{"empty", with("email", ""), nil, 400, "please give an email address"},
		{"unknown zone", with("zone", "Mars/Olympus"), nil, 400, "is not a time zone we know"},
		{"Local zone", with("zone", "Local"), nil, 400, "is not a time zone we know"},
		{"path zone", with("zone", "../../etc/passwd"), nil, 400, "is not a time zone we know"},
		{"unknown series", with("series", "nope"), nil, 400, "there is no series"},
		{"no csrf", with("csrf", ""), nil, 403, "Please try again"},
		{"wrong csrf", with("csrf", "AAAAAAAAAAAAAAAAAAAAAAAA"), nil, 403, "Please try again"},
		{"cross-site", good.Encode(), []string{"Sec-Fetch-Site", "cross-site"}, 403, "another site"},
		{"oversized", with("email", strings.Repeat("a", maxForm)+"@example.org"), nil, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.do(t, "POST", "/subscribe", tc.body, append([]string{"Cookie", cookie}, tc.hdr...)...)
			body := readBody(t, resp)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
				t.Errorf("POST /subscribe = %d, want %d saying %q:\n%s", resp.StatusCode, tc.status, tc.says, body)
			}
			if tc.status == 400 && !csrfField.MatchString(body) {
				t.Error("the form is not shown again")
			}
		})
	}
	// A form without its cookie (another browser, or a forged post).
	if resp := f.do(t, "POST", "/subscribe", good.Encode()); resp.StatusCode != 403 {
		t.Errorf("POST without the cookie = %d, want 403", resp.StatusCode)
	}
	f.mail.none(t)
	if all, _ := f.store.AllSubscribers(context.Background()); len(all) != 0 {
		t.Errorf("bad sign-ups stored %d rows", len(all))
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t, "http://example.test")
	f.signUp(t, "b@example.org", "UTC")
	link := strings.TrimPrefix(f.mail.next(t).link, "http://example.test")
	token := strings.TrimPrefix(link, "/confirm/")
	flipped := []byte(token)
	flipped[20] ^= 1
	if flipped[20] == '-' || flipped[20] == '_' {
		flipped[20] = 'A'
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
	}{
		{"garbage", "GET", "/confirm/hello", 400},
		{"flipped", "POST", "/confirm/" + string(flipped), 400},
		{"truncated", "POST", "/confirm/" + token[:len(token)-2], 400},
		{"too long", "GET", "/confirm/" + strings.Repeat("A", 5000), 400},
		{"confirm token as unsubscribe", "GET", "/unsubscribe/" + token, 400},
		{"confirm token as zone change", "POST", "/zone/" + token, 400},
		{"unknown subscriber", "GET", "/unsubscribe/" + f.srv.tokens.make(unsubscribeToken, make([]byte, nonceLen), testNow.Add(time.Hour)), 410},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := f.do(t, tc.method, tc.path, ""); resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
		})
	}
	// Another secret's tokens are forgeries.
	other := tokens{key: derive([]byte("another secret, 32 bytes long!!!"), "token")}
	if resp := f.do(t, "POST", "/confirm/"+other.make(confirmToken, make([]byte, nonceLen), testNow.Add(time.Hour)), ""); resp.StatusCode != 400 {
		t.Errorf("token of another secret = %d, want 400", resp.StatusCode)
	}
	// Expired.
	f.clock.Add(49 * time.Hour)
	if resp := f.do(t, "POST", link, ""); resp.StatusCode != http.StatusGone || !strings.Contains(readBody(t, resp), "expired") {
		t.Errorf("expired token = %d, want 410", resp.StatusCode)
	}
	if subs, _ := f.store.Subscribers(context.Background()); len(subs) != 0 {
		t.Errorf("subscribers: %v", subs)
	}
}

func TestUnsubscribeBodyLimit(t *testing.T) {
	f := newFixture(t, "http://example.test")
	sub, err := f.store.AddSubscriber(context.Background(), testNow, "c@example.org", "UTC", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(f.srv.UnsubscribeURL(f.srv.cur.Load().sched, sub), "http://example.test")
	if resp := f.do(t, "POST", path, "List-Unsubscribe=One-Click&x="+strings.Repeat("x", 2000)); resp.StatusCode != 413 {
		t.Errorf("oversized unsubscribe = %d, want 413", resp.StatusCode)
	}
	if subs, _ := f.store.Subscribers(context.Background()); len(subs) != 1 {
		t.Error("an oversized request unsubscribed")
	}
}

func TestRateLimits(t *testing.T) {
	f := newFixture(t, "http://example.test")
	// Per address: three mails a day, then the same answer and no mail.
	for i := 0; i < 4; i++ {
		if resp := f.signUp(t, "d@example.org", "UTC"); resp.StatusCode != 303 {
			t.Fatalf("sign-up %d = %d", i, resp.StatusCode)
		}
	}
	for i := 0; i < 3; i++ {
		f.mail.next(t)
	}
	f.mail.none(t)
	// Per client: ten at once, then 429, and one more a minute later.
	for i := 4; i < 10; i++ {
		if resp := f.signUp(t, "e"+string(rune('a'+i))+"@example.org", "UTC"); resp.StatusCode != 303 {
			t.Fatalf("sign-up %d = %d", i, resp.StatusCode)
		}
	}
	resp := f.signUp(t, "f@example.org", "UTC")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("11th sign-up = %d, want 429 with Retry-After", resp.StatusCode)
	}
	f.clock.Add(time.Minute)
	if resp := f.signUp(t, "f@example.org", "UTC"); resp.StatusCode != 303 {
		t.Errorf("sign-up a minute later = %d, want 303", resp.StatusCode)
	}
	// The limit is per client: another address is not held up.
	cookie, csrf := f.form(t)
	r := httptest.NewRequest("POST", "/subscribe", strings.NewReader(url.Values{"email": {"g@example.org"}, "zone": {"UTC"}, "csrf": {csrf}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Cookie", cookie)
	r.RemoteAddr = "192.0.2.77:5555"
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	if w.Code != 303 {
		t.Errorf("sign-up from another client = %d, want 303", w.Code)
	}
}

func TestLimiterClients(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"not an ip", "not an ip"},
	} {
		if got := clientOf(tc.in); got != tc.want {
			t.Errorf("clientOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("X-Forwarded-For", "198.51.100.9, 203.0.113.5")
	if got := HeaderClient("X-Forwarded-For")(r); got != "203.0.113.5" {
		t.Errorf("HeaderClient = %q, want the last hop", got)
	}
}

func TestPageMovesOn(t *testing.T) {
	f := newFixture(t, "http://example.test")
	// After the first two weekly meetings, they are past.
	f.clock.Set(time.Date(2027, 3, 16, 0, 0, 0, 0, time.UTC))
	body := readBody(t, f.do(t, "GET", "/", ""))
	past := strings.Index(body, `id="past"`)
	if i := strings.Index(body, "Sunday 14 March 2027"); i < past {
		t.Errorf("the meeting of 14 March is not under Past meetings after it ended")
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a@example.org", "a@example.org"},
		{"  A.B+tag@EXAMPLE.Org ", "A.B+tag@example.org"},
		{"a@localhost", "a@localhost"},
	} {
		if got, err := ParseAddress(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "a", "@example.org", "a@", "a@@b", `"a b"@example.org`, "a@example.org (c)", "<a@example.org>", "a@[127.0.0.1]"} {
		if got, err := ParseAddress(in); err == nil {
			t.Errorf("ParseAddress(%q) = %q, want an error", in, got)
		}
	}
}
