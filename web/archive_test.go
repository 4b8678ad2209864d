package web

import (
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

// TestArchive follows the archive from the landing page: the latest past
// meetings, a page per year, and a permanent page per meeting with its
// recording.
func TestArchive(t *testing.T) {
	f := newFixture(t, "https://group.example.test")
	// After the whole weekly series: the introduction, three weekly
	// meetings (one cancelled: not in the archive) and the moved one.
	f.clock.Set(time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC))
	body := readBody(t, f.do(t, "GET", "/", ""))
	for _, w := range []string{
		`<section id="recordings">`,
		`<audio controls preload="none" src="https://example.org/audio/intro.mp3" aria-label="Recording of Introduction"></audio>`,
		`<a href="https://example.org/audio/intro.mp3" download>Download the recording</a> <span class="size">(MP3, 1 MB, 1 h 2 min)</span>`,
		`<a class="button" href="https://group.example.test/recordings.xml">Subscribe in a podcast app</a>`,
		`<link rel="alternate" type="application/rss+xml" title="Recordings (podcast)" href="https://group.example.test/recordings.xml">`,
		`<a href="/past/2027">2027</a> (6)`,
		`<a class="title" href="/meetings/intro">Introduction</a>`,
		`<a class="title" href="/meetings/weekly/20270328T200000">Moved chapter</a>`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("GET / lacks %s", w)
		}
	}
	if n := strings.Count(section(body, "past"), `<li class="meeting`); n != maxArchive {
		t.Errorf("the landing page shows %d past meetings, want the latest %d", n, maxArchive)
	}

	resp := f.do(t, "GET", "/past/2027", "")
	year := readBody(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /past/2027 = %d", resp.StatusCode)
	}
	// Every meeting of the year that took place, newest first, under
	// its month; the cancelled one is not there.
	var order []int
	for _, w := range []string{`id="m-xss"`, `id="m-weekly-20270328T200000"`, `id="m-weekly-20270314T200000"`, `id="m-weekly-20270307T200000"`, `id="m-intro"`} {
		i := strings.Index(year, w)
		if i < 0 {
			t.Errorf("/past/2027 lacks %s", w)
		}
		order = append(order, i)
	}
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Errorf("/past/2027 is not newest first: %v", order)
		}
	}
	for _, w := range []string{`<h2>April</h2>`, `<h2>March</h2>`, `<h2>February</h2>`, `aria-current="page">2027</a>`,
		`<dt>Reading</dt><dd>Chapter 0</dd>`, `Sunday 14 February 2027, 20:00–21:30 EST`, `preload="none"`} {
		if !strings.Contains(year, w) {
			t.Errorf("/past/2027 lacks %s", w)
		}
	}
	if strings.Contains(year, "20270321T200000") {
		t.Error("/past/2027 shows the cancelled meeting")
	}
	for _, path := range []string{"/past/2026", "/past/2028", "/past/x", "/meetings/nope", "/meetings/weekly/20270329T200000"} {
		if resp := f.do(t, "GET", path, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}

	resp = f.do(t, "GET", "/meetings/intro", "")
	page := readBody(t, resp)
	for _, w := range []string{`<h1><span class="title">Introduction</span></h1>`, `<audio controls preload="none"`,
		`href="/sessions/intro.ics"`, `<a href="/past/2027">Every meeting of 2027</a>`} {
		if resp.StatusCode != 200 || !strings.Contains(page, w) {
			t.Errorf("GET /meetings/intro = %d, lacks %s", resp.StatusCode, w)
		}
	}
	page = readBody(t, f.do(t, "GET", "/meetings/weekly/20270328T200000", ""))
	for _, w := range []string{`Moved chapter`, `Moved from Sunday 28 March, 20:00 EDT.`, `href="/series/weekly/20270328T200000.ics"`,
		`<a href="/meetings/weekly">Weekly reading</a>`} {
		if !strings.Contains(page, w) {
			t.Errorf("the occurrence's page lacks %s", w)
		}
	}
	page = readBody(t, f.do(t, "GET", "/meetings/weekly", ""))
	if !strings.Contains(page, `<h1>Weekly reading</h1>`) || strings.Count(page, `<li class="meeting`) != 4 {
		t.Errorf("the series page lacks its title or its 4 past meetings:\n%s", page)
	}
}

// section returns the part of a page in <section id="id">.
func section(body, id string) string {
	i := strings.Index(body, `<section id="`+id+`">`)
	if i < 0 {
		return ""
	}
	end := strings.Index(body[i:], "</section>")
	return body[i : i+end]
}

func TestPodcastRoute(t *testing.T) {
	f := newFixture(t, "https://group.example.test")
	resp := f.do(t, "GET", "/recordings.xml", "")
	body := readBody(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/rss+xml; charset=utf-8" {
		t.Fatalf("GET /recordings.xml = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `<enclosure url="https://example.org/audio/intro.mp3" length="1234567" type="audio/mpeg">`) {
		t.Errorf("the podcast feed lacks the introduction's enclosure:\n%s", body)
	}
	etag := resp.Header.Get("Etag")
	if again := f.do(t, "GET", "/recordings.xml", "", "If-None-Match", etag); etag == "" || again.StatusCode != 304 {
		t.Errorf("conditional GET with ETag %q = %d, want 304", etag, again.StatusCode)
	}
	for _, path := range []string{"/recordings.xml", "/past/2027"} {
		f.clock.Set(time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC))
		zipped := f.do(t, "GET", path, "", "Accept-Encoding", "gzip")
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil || zipped.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s with Accept-Encoding gzip: %s, %v", path, zipped.Header.Get("Content-Encoding"), err)
		}
		body, err := io.ReadAll(zr)
		plain := readBody(t, f.do(t, "GET", path, ""))
		if err != nil || string(body) != plain {
			t.Errorf("GET %s: the gzip body differs from the plain one (%v)", path, err)
		}
		if again := f.do(t, "GET", path, "", "Accept-Encoding", "gzip", "If-None-Match", zipped.Header.Get("Etag")); again.StatusCode != 304 {
			t.Errorf("GET %s: conditional GET of the gzip form = %d, want 304", path, again.StatusCode)
		}
	}
}

func TestFavicon(t *testing.T) {
	f := newFixture(t, "https://group.example.test")
	for _, path := range []string{"/favicon.ico", "/static/favicon.svg"} {
		resp := f.do(t, "GET", path, "")
		if body := readBody(t, resp); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if body := readBody(t, f.do(t, "GET", "/", "")); !strings.Contains(body, `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`) {
		t.Error("the page names no icon")
	}
}

// TestNoSuchPage: /past alone leads to the archive's years, an
// occurrence's date to its page, and an
// address that is no page gets the page's own "Not found" in HTML, not
// ServeMux's bare text.
func TestNoSuchPage(t *testing.T) {
	f := newFixture(t, "https://group.example.test")
	for _, path := range []string{"/past", "/past/"} {
		resp := f.do(t, "GET", path, "")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/#past" {
			t.Errorf("GET %s = %d to %q, want 303 to /#past", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// An occurrence named by its date, as events.toml names it, leads to
	// its page; a date without one is not found.
	resp := f.do(t, "GET", "/meetings/weekly/2027-03-28", "")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/meetings/weekly/20270328T200000" {
		t.Errorf("GET /meetings/weekly/2027-03-28 = %d to %q, want 301 to /meetings/weekly/20270328T200000", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/meetings", "/meetings/", "/no-such-page", "/past/2027/extra", "/meetings/weekly/2027-03-29", "/meetings/intro/2027-03-28"} {
		resp := f.do(t, "GET", path, "")
		body := readBody(t, resp)
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<h1>Not found</h1>") {
			t.Errorf("GET %s = %d %s, want the HTML Not found page", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestFarAhead: a schedule whose only meetings are years away still
// shows them.
func TestFarAhead(t *testing.T) {
	for _, months := range []int{14, 50, 30 * 12} {
		start := testNow.AddDate(0, months, 0)
		toml := fmt.Sprintf("[calendar]\nname = \"G\"\ntimezone = \"UTC\"\n[[sessions]]\nid = \"far\"\ntitle = \"Far away\"\nstart = %s\n",
			start.Format("2006-01-02T15:04:05"))
		h := serveSchedule(t, toml, testNow)
		body := get(t, h, "/")
		if !strings.Contains(body, "Far away") || strings.Contains(body, "No meetings are planned yet") {
			t.Errorf("a meeting %d months ahead is not shown", months)
		}
	}
}

// TestSeriesTextOnce: the pages hold a series' description once, not
// once per occurrence, so their size does not grow with the text times
// the meetings (a 5 MB description once made a 220 MB page).
func TestSeriesTextOnce(t *testing.T) {
	desc := strings.TrimSpace(strings.Repeat("A long description of the series. ", 900)) // 31 kB, near the limit
	toml := "[calendar]\nname = \"G\"\ntimezone = \"Europe/Berlin\"\n" +
		"[[series]]\nid = \"weekly\"\ntitle = \"Weekly\"\nstart = 2026-01-06T19:00:00\nrrule = \"FREQ=WEEKLY\"\n" +
		"description = \"" + desc + "\"\n" +
		"[[series.changes]]\noccurrence = 2027-01-05\ndescription = \"Its own text.\"\n"
	h := serveSchedule(t, toml, testNow)
	for _, path := range []string{"/", "/past/2026", "/past/2027", "/meetings/weekly", "/meetings/weekly/20270105T190000"} {
		body := get(t, h, path)
		if n := strings.Count(body, desc); n > 1 || len(body) > len(desc)+100_000 {
			t.Errorf("GET %s: %d bytes, the description %d times; want it at most once", path, len(body), n)
		}
	}
	if body := get(t, h, "/meetings/weekly/20270112T190000"); strings.Count(body, desc) != 1 {
		t.Error("the page of one meeting lacks its series' description")
	}
	if body := get(t, h, "/past/2027"); !strings.Contains(body, "Its own text.") {
		t.Error("an occurrence's own description is not in the archive")
	}
}

// serveSchedule serves the pages of the schedule in toml at time now.
func serveSchedule(t *testing.T, toml string, now time.Time) http.Handler {
	t.Helper()
	sched, err := schedule.Parse("events.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	st, set := feeds(t, sched, now)
	srv, err := New(Config{Store: st, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }, BaseURL: "http://example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(sched, set); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	return mux
}

func get(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	if w.Code != 200 {
		t.Fatalf("GET %s = %d", path, w.Code)
	}
	return w.Body.String()
}

// TestFeedURLsResolve: the URL of every event in the feed is a page.
func TestFeedURLsResolve(t *testing.T) {
	data, err := os.ReadFile("testdata/events.toml")
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://group.example.test"
	toml := strings.Replace(string(data), "[calendar]\n", "[calendar]\nurl = \""+base+"\"\n", 1)
	sched, err := schedule.Parse("events.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	h := serveSchedule(t, toml, testNow)
	_, set := feeds(t, sched, testNow)
	n := 0
	for _, line := range strings.Split(string(set.All.Bytes()), "\r\n") {
		if u, ok := strings.CutPrefix(line, "URL:"); ok {
			n++
			get(t, h, strings.TrimPrefix(u, base))
		}
	}
	if n < 4 {
		t.Errorf("the feed has %d URLs, want one per event", n)
	}
}

// TestArchiveGenerated: on random schedules (sessions, series with
// skipped, moved and cancelled meetings, in several zones) at random
// times, the year pages hold every meeting that took place exactly once,
// newest first, each linking to a page that answers, and the landing
// page counts each year right and shows the latest meetings.
func TestArchiveGenerated(t *testing.T) {
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Tokyo", "Pacific/Auckland", "UTC"}
	for seed := int64(1); seed <= 25; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		day := func() time.Time {
			return time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rnd.Intn(4*365))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "[calendar]\nname = \"G\"\ntimezone = %q\n", zones[rnd.Intn(len(zones))])
		for i := range rnd.Intn(8) {
			fmt.Fprintf(&b, "[[sessions]]\nid = \"s%d\"\ntitle = \"Session %d\"\nstart = %sT%02d:30:00\n", i, i, day().Format("2006-01-02"), 8+rnd.Intn(12))
			if rnd.Intn(4) == 0 {
				b.WriteString("status = \"cancelled\"\n")
			}
		}
		for i := range 1 + rnd.Intn(2) {
			start, every, count := day(), 1+rnd.Intn(3), 5+rnd.Intn(60)
			fmt.Fprintf(&b, "[[series]]\nid = \"r%d\"\ntitle = \"Series %d\"\nstart = %sT19:00:00\nrrule = \"FREQ=WEEKLY;INTERVAL=%d;COUNT=%d\"\n",
				i, i, start.Format("2006-01-02"), every, count)
			nth := func(k int) string { return start.AddDate(0, 0, 7*every*k).Format("2006-01-02") }
			fmt.Fprintf(&b, "skip = [%s]\n", nth(1))
			fmt.Fprintf(&b, "[[series.changes]]\noccurrence = %s\nstatus = \"cancelled\"\n", nth(2))
			fmt.Fprintf(&b, "[[series.changes]]\noccurrence = %s\nstart = %sT21:00:00\ntitle = \"Moved\"\n", nth(3), nth(3))
		}
		now := day().Add(time.Duration(rnd.Intn(24)) * time.Hour)
		sched, err := schedule.Parse("events.toml", []byte(b.String()))
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, b.String())
		}
		want := map[int][]string{}
		var latest []string // the archive, newest first
		past := sched.Expand(time.Time{}, now)
		for i := len(past) - 1; i >= 0; i-- {
			if o := past[i]; !o.End.After(now) && o.Status != schedule.Cancelled {
				y := o.Start.In(sched.Calendar.Zone).Year()
				want[y] = append(want[y], "m-"+strings.ReplaceAll(o.Key(), "/", "-"))
				latest = append(latest, want[y][len(want[y])-1])
			}
		}
		h := serveSchedule(t, b.String(), now)
		landing := get(t, h, "/")
		var shown []string
		for _, m := range regexp.MustCompile(`<li class="meeting[^"]*" id="([^"]+)"`).FindAllStringSubmatch(section(landing, "past"), -1) {
			shown = append(shown, m[1])
		}
		if want := latest[:min(len(latest), maxArchive)]; strings.Join(shown, " ") != strings.Join(want, " ") {
			t.Errorf("seed %d: the landing page shows the latest\n%v\nwant\n%v", seed, shown, want)
		}
		for y, ids := range want {
			if !strings.Contains(landing, fmt.Sprintf(`<a href="/past/%d">%d</a> (%d)`, y, y, len(ids))) {
				t.Errorf("seed %d: the landing page does not link %d with %d meetings", seed, y, len(ids))
			}
			page := get(t, h, fmt.Sprintf("/past/%d", y))
			var got []string
			for _, m := range regexp.MustCompile(`<li class="meeting[^"]*" id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, " ") != strings.Join(ids, " ") {
				t.Errorf("seed %d: /past/%d lists\n%v\nwant\n%v", seed, y, got, ids)
			}
			for _, m := range regexp.MustCompile(`<a class="title" href="([^"]+)"`).FindAllStringSubmatch(page, -1) {
				get(t, h, m[1])
			}
		}
		if strings.Count(landing, `href="/past/`) != len(want) {
			t.Errorf("seed %d: the landing page links %d years, want %d", seed, strings.Count(landing, `href="/past/`), len(want))
		}
	}
}
