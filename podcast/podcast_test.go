package podcast

import (
	"encoding/json"
	"fmt"
	"html"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

// parsed is what feedparser (testdata/parse.py) read from a feed.
type parsed struct {
	Bozo          bool
	BozoException string `json:"bozo_exception"`
	Version       string
	Title, Link   string
	Namespaces    map[string]string
	Items         []struct {
		Title, Link, Description, Published, ID, Duration string
		PublishedUTC                                      []int `json:"published_utc"`
		Enclosures                                        []struct{ URL, Length, Type string }
	}
}

// feedparser runs Debian's python3-feedparser on body.
func feedparser(t *testing.T, body []byte) parsed {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import feedparser").Run(); err != nil {
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s with feedparser is required (apt-get install python3-feedparser): %v", python, err)
		}
		t.Skipf("skipping: %s with feedparser is missing (apt-get install python3-feedparser)", python)
	}
	file := filepath.Join(t.TempDir(), "recordings.xml")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "testdata/parse.py", file).Output()
	if err != nil {
		t.Fatalf("parse.py: %v", err)
	}
	var p parsed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("parse.py printed %s: %v", out, err)
	}
	return p
}

// TestFeedparser checks every item of the sample's podcast feed as a real
// feed parser reads it against the schedule it came from.
func TestFeedparser(t *testing.T) {
	for _, file := range []string{"../events.toml", "../web/testdata/events.toml", generated(t, 1), generated(t, 2)} {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			s, err := schedule.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			const base = "https://group.example.org"
			p := feedparser(t, Render(s, base))
			if p.Bozo || p.Version != "rss20" {
				t.Fatalf("feedparser: bozo=%v (%s), version %q, want a well-formed rss20", p.Bozo, p.BozoException, p.Version)
			}
			if p.Title != s.Calendar.Name || p.Link != base+"/" {
				t.Errorf("channel = %q %q", p.Title, p.Link)
			}
			for _, ns := range []string{"http://www.itunes.com/dtds/podcast-1.0.dtd", "https://podcastindex.org/namespace/1.0"} {
				found := false
				for _, v := range p.Namespaces {
					found = found || v == ns
				}
				if !found {
					t.Errorf("namespace %s not declared: %v", ns, p.Namespaces)
				}
			}
			want := Recorded(s)
			if len(want) == 0 || len(p.Items) != len(want) {
				t.Fatalf("feedparser read %d items, want %d (one per recorded meeting)", len(p.Items), len(want))
			}
			for i, o := range want {
				it := p.Items[i]
				r := o.Recordings[Main(o.Recordings)]
				if it.Title != o.Title && html.UnescapeString(it.Title) != o.Title || it.ID != o.Key() || it.Link != base+schedule.MeetingPath(o.Key()) {
					t.Errorf("item %d = %q %q %q, want %q %q", i, it.Title, it.ID, it.Link, o.Title, o.Key())
				}
				start := o.Start.UTC()
				if got := fmt.Sprint(it.PublishedUTC); got != fmt.Sprint([]int{start.Year(), int(start.Month()), start.Day(), start.Hour(), start.Minute(), start.Second()}) {
					t.Errorf("item %s pubDate %s read as %s, want %s", o.Key(), it.Published, got, start)
				}
				if len(it.Enclosures) != 1 || it.Enclosures[0].URL != r.URL || it.Enclosures[0].Type != r.Type ||
					it.Enclosures[0].Length != strconv.FormatInt(r.Length, 10) {
					t.Errorf("item %s enclosures = %+v, want %+v", o.Key(), it.Enclosures, r)
				}
				if r.Duration > 0 && it.Duration != strconv.Itoa(int(r.Duration/time.Second)) {
					t.Errorf("item %s duration = %q, want %v", o.Key(), it.Duration, r.Duration)
				}
				if got, want := text(it.Description), strings.Join(trimAll(Paragraphs(o)), "\n\n"); got != want {
					t.Errorf("item %s description %q read as\n%q, want\n%q", o.Key(), it.Description, got, want)
				}
			}
		})
	}
}

// text turns the HTML of a description back into its paragraphs.
func text(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "<p>"), "</p>")
	h = strings.ReplaceAll(strings.ReplaceAll(h, "</p><p>", "\n\n"), "<br />", "\n")
	return html.UnescapeString(strings.ReplaceAll(h, "<br>", "\n"))
}

func trimAll(ps []string) []string {
	for i := range ps {
		ps[i] = strings.TrimSpace(ps[i])
	}
	return ps
}

// generated writes an events.toml of random recorded meetings, with text
// that XML must escape and text from many scripts, and returns its path.
func generated(t *testing.T, seed int64) string {
	rnd := rand.New(rand.NewSource(seed))
	words := []string{"Mutual", "Aid", "<b>bold</b>", "&amp;", "\"quoted\"", "'single'", "]]>", "Kropotkin", "Кропоткин",
		"互助论", "مساعدة", "🌱", "a&b", "<!--", "x\\y", "\u00e9t\u00e9"}
	text := func(n int) string {
		var w []string
		for range 1 + rnd.Intn(n) {
			w = append(w, words[rnd.Intn(len(words))])
		}
		return strings.Join(w, " ")
	}
	// An RSS title is plain text, but feed parsers and apps take one
	// that looks like markup (a tag, an entity) for HTML: titles get
	// the other words.
	title := func(n int) string {
		var w []string
		for range 1 + rnd.Intn(n) {
			x := words[rnd.Intn(len(words))]
			if !strings.ContainsAny(x, "<;") {
				w = append(w, x)
			}
		}
		return strings.Join(w, " ") + "."
	}
	types := []string{"audio/mpeg", "audio/ogg", "audio/mp4", "video/mp4", "video/webm"}
	var b strings.Builder
	q := strconv.Quote // a TOML basic string, for this text
	b.WriteString("[calendar]\nname = " + q(text(4)) + "\ntimezone = \"Europe/Berlin\"\n")
	start := time.Date(2020, 1, 1, 18, 0, 0, 0, time.UTC)
	for i := range 40 {
		start = start.Add(time.Duration(1+rnd.Intn(400)) * time.Hour)
		fmt.Fprintf(&b, "[[sessions]]\nid = \"m%d\"\ntitle = %s\nstart = %s\nreading = %s\nfacilitator = %s\n",
			i, q(title(5)), start.Format("2006-01-02T15:04:05"), q(text(3)), q(text(2)))
		if rnd.Intn(2) == 0 {
			fmt.Fprintf(&b, "description = %s\n", q(text(20)+"\n\n"+text(20)))
		}
		if rnd.Intn(5) == 0 {
			continue // not recorded
		}
		b.WriteString("recording = [\n")
		for j := range 1 + rnd.Intn(3) {
			fmt.Fprintf(&b, "  { url = \"https://media.example.org/%d/%d?a=1&b=%%3C\", type = \"%s\", length = %d, duration = \"%ds\" },\n",
				i, j, types[rnd.Intn(len(types))], 1+rnd.Int63n(1<<34), 1+rnd.Intn(20000))
		}
		b.WriteString("]\n")
	}
	file := filepath.Join(t.TempDir(), fmt.Sprintf("generated-%d.toml", seed))
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestFeedGUID(t *testing.T) {
	// The example of the Podcasting 2.0 namespace's documentation.
	if got, want := feedGUID("https://mp3s.nashownotes.com/pc20rss.xml"), "917393e3-1b1e-5cef-ace4-edaa54e1f810"; got != want {
		t.Errorf("feedGUID = %s, want %s", got, want)
	}
}
