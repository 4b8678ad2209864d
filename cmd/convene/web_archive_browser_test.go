package main

// The archive and the page's polish in headless Chromium, against the
// sample events.toml (whose past meetings have recordings) and a schedule
// whose only meeting is years ahead. axe-core (npm, installed by .ci/run
// into web/testdata/axe) checks each kind of page for accessibility.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"context"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeSource returns axe-core's script, or skips (fails in CI) without it.
func axeSource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "web", "testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		msg := fmt.Sprintf("axe-core is missing (npm ci --prefix web/testdata/axe, as .ci/run does): %v", err)
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return string(src)
}

type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// checkAxe runs axe-core's rules (WCAG 2.x A and AA, and best practices)
// on the page in tab and reports every violation.
func checkAxe(t *testing.T, tab context.Context, axe, what string) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](axe+";true")); err != nil {
		t.Fatalf("%s: injecting axe-core: %v", what, err)
	}
	res, err := chromedp.Run(tab, chromedp.Evaluate[struct {
		Passes     int
		Violations []axeViolation
	}](`axe.run(document, {resultTypes: ["violations"]}).then(r => ({passes: r.passes.length,
		violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)}))}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe.run: %v", what, err)
	}
	if res.Passes < 10 {
		t.Errorf("%s: axe checked only %d rules", what, res.Passes)
	}
	t.Logf("%s: %d axe rules pass, %d fail", what, res.Passes, len(res.Violations))
	for _, v := range res.Violations {
		t.Errorf("%s: axe %s (%s): %s: %q", what, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// rgb reads a computed CSS colour, "rgb(1, 2, 3)".
func rgb(t *testing.T, css string) (r, g, b int) {
	t.Helper()
	m := regexp.MustCompile(`^rgba?\((\d+), (\d+), (\d+)`).FindStringSubmatch(css)
	if m == nil {
		t.Fatalf("colour %q", css)
	}
	r, _ = strconv.Atoi(m[1])
	g, _ = strconv.Atoi(m[2])
	b, _ = strconv.Atoi(m[3])
	return r, g, b
}

// serveFile runs serve on a copy of an events.toml in its own directory.
func serveFile(t *testing.T, events []byte) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "events.toml")
	if err := os.WriteFile(config, events, 0o644); err != nil {
		t.Fatal(err)
	}
	base, _ := startServe(t, dir, "--config", config, "--state", filepath.Join(dir, "state.db"))
	return base
}

func newTab(t *testing.T, ctx context.Context, zone, locale string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locale}); err != nil {
		t.Fatal(err)
	}
	return tab
}

// docsDir is where the screenshots for the README go: docs/ when
// CONVENE_UPDATE_DOCS=1 (`make screenshots`), else $CONVENE_ARTIFACTS or
// a temporary directory, so that a test run leaves the tree unchanged.
func docsDir(t *testing.T) string {
	return screenshotDir(t, filepath.Join("..", "..", "docs"))
}

func shot(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", filepath.Join(dir, name))
}

func TestArchiveInBrowser(t *testing.T) {
	chromium := need(t, "chromium", "/usr/bin/chromium")
	axe := axeSource(t)
	docs := docsDir(t)
	sample, err := os.ReadFile(filepath.Join("..", "..", "events.toml"))
	if err != nil {
		t.Fatal(err)
	}
	base := serveFile(t, sample)
	ctx := startBrowser(t, chromium)

	tab := newTab(t, ctx, "Europe/London", "en-GB")
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 1500), chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#upcoming .local"))); err != nil {
		t.Fatal(err)
	}
	shot(t, tab, docs, "screenshot.png")
	players, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#recordings audio[controls][preload="none"]').length`))
	if players < 2 {
		t.Errorf("the landing page has %d audio players under Recordings, want the sample's recordings", players)
	}
	// The icon loads, and so does /favicon.ico (no 404).
	const load = `src => new Promise(done => { const i = new Image();
		i.onload = () => done(i.naturalWidth); i.onerror = () => done(0); i.src = src; })`
	icon, _ := chromedp.Run(tab, chromedp.Evaluate[int]("("+load+`)(document.querySelector("link[rel=icon]").href)`, chromedp.EvalAwaitPromise))
	ico, _ := chromedp.Run(tab, chromedp.Evaluate[int]("("+load+`)("/favicon.ico")`, chromedp.EvalAwaitPromise))
	if icon == 0 || ico == 0 {
		t.Errorf("the icon loads with width %d, /favicon.ico with width %d", icon, ico)
	}
	checkAxe(t, tab, axe, "the landing page")

	// Every year of the archive, and every recorded meeting's page.
	years, _ := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".years a")).map(a => a.href)`))
	if len(years) < 4 {
		t.Fatalf("the landing page links %d years of the archive: %v", len(years), years)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(years[len(years)-1]), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	recorded, _ := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".meeting")).filter(m => m.querySelector(".recording")).map(m => m.querySelector("a.title").href)`))
	if len(recorded) != 3 {
		t.Errorf("the first year of the archive has %d recorded meetings, want the sample's 3", len(recorded))
	}
	checkAxe(t, tab, axe, "a year of the archive")
	if err := chromedp.Do(tab, chromedp.ScrollIntoView(chromedp.CSS("section:last-of-type")), chromedp.Sleep(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(900, 1100), chromedp.Evaluate[chromedp.Void](
		`document.querySelector("h2:last-of-type") && window.scrollTo(0, Array.from(document.querySelectorAll("h2")).find(h => h.textContent === "August").getBoundingClientRect().top + window.scrollY - 20)`)); err != nil {
		t.Fatal(err)
	}
	shot(t, tab, docs, "archive.png")
	for _, page := range recorded {
		if err := chromedp.Do(tab, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(".recording"))); err != nil {
			t.Fatalf("%s: %v", page, err)
		}
	}
	checkAxe(t, tab, axe, "a meeting's page")

	// Dark scheme: the page and its form.
	dark := newTab(t, ctx, "Europe/London", "en-GB")
	if _, err := chromedp.Call(dark, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(dark, chromedp.EmulateViewport(1000, 1100), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#upcoming .local"))); err != nil {
		t.Fatal(err)
	}
	for _, el := range []string{"document.body", `document.getElementById("email")`} {
		bg, _ := chromedp.Run(dark, chromedp.Evaluate[string]("getComputedStyle("+el+").backgroundColor"))
		fg, _ := chromedp.Run(dark, chromedp.Evaluate[string]("getComputedStyle("+el+").color"))
		if r, g, b := rgb(t, bg); r+g+b > 3*60 {
			t.Errorf("dark scheme: %s has background %s", el, bg)
		}
		if r, g, b := rgb(t, fg); r+g+b < 3*180 {
			t.Errorf("dark scheme: %s has text colour %s", el, fg)
		}
	}
	checkAxe(t, dark, axe, "the landing page, dark")
	if err := chromedp.Do(dark, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.getElementById("recordings").offsetTop - 10)`)); err != nil {
		t.Fatal(err)
	}
	shot(t, dark, docs, "page-dark.png")

	// Without JavaScript, what only the script can use stays hidden.
	noJS := newTab(t, ctx, "Europe/London", "en-GB")
	if _, err := chromedp.Call(noJS, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(noJS, chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(noJS, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("[hidden]")).filter(e => getComputedStyle(e).display !== "none").map(e => e.outerHTML)`))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := chromedp.Run(noJS, chromedp.Evaluate[int](`document.querySelectorAll(".copy-button[hidden]").length`))
	if len(shown) > 0 || n == 0 {
		t.Errorf("without JavaScript, %d hidden elements are shown: %q (%d copy buttons)", len(shown), shown, n)
	}

	// Zone names in the visitor's own locale, as the browser gives them.
	for _, tc := range []struct{ zone, locale string }{{"Asia/Tokyo", "ja-JP"}, {"Asia/Tokyo", "en-US"}, {"Europe/London", "en-GB"}} {
		tab := newTab(t, ctx, tc.zone, tc.locale)
		if err := chromedp.Do(tab, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#upcoming .local"))); err != nil {
			t.Fatal(err)
		}
		meetings, err := chromedp.Run(tab, chromedp.Evaluate[[]upcoming](readUpcoming))
		if err != nil || len(meetings) == 0 {
			t.Fatalf("%s %s: %d meetings (%v)", tc.zone, tc.locale, len(meetings), err)
		}
		loc, _ := time.LoadLocation(tc.zone)
		for _, m := range meetings {
			start, _ := time.Parse(time.RFC3339, m.Start)
			want, _ := start.In(loc).Zone() // JST, GMT, BST: what ja-JP and en-GB call them
			if tc.locale == "en-US" {
				want = "GMT+9" // en-US has no name for Japan's time
			}
			if !strings.HasSuffix(m.Local, " "+want) {
				t.Errorf("%s in %s: meeting at %s shows %q, want the zone as %s", tc.zone, tc.locale, m.Start, m.Local, want)
			}
		}
	}

	// A schedule whose only meeting is more than a year ahead shows it.
	far := time.Now().AddDate(2, 2, 0).Format("2006-01-02T15:04:05")
	farBase := serveFile(t, []byte("[calendar]\nname = \"Far\"\ntimezone = \"UTC\"\n[[sessions]]\nid = \"far\"\ntitle = \"Far away\"\nstart = "+far+"\n"))
	if err := chromedp.Do(tab, chromedp.Navigate(farBase+"/"), chromedp.WaitVisible(chromedp.CSS("#upcoming"))); err != nil {
		t.Fatal(err)
	}
	titles, _ := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#upcoming .meeting .title")).map(e => e.textContent)`))
	if len(titles) != 1 || titles[0] != "Far away" {
		t.Errorf("a meeting 26 months ahead: the page shows %q", titles)
	}
}

// screenshotDir is docs (CONVENE_UPDATE_DOCS=1), $CONVENE_ARTIFACTS, or
// a temporary directory kept after the test, whose path is logged.
func screenshotDir(t *testing.T, docs string) string {
	dir := os.Getenv("CONVENE_ARTIFACTS")
	switch {
	case os.Getenv("CONVENE_UPDATE_DOCS") == "1":
		dir = docs
	case dir == "":
		dir = filepath.Join(os.TempDir(), "convene-screenshots")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
