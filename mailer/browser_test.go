package mailer

// The HTML part in a real browser: headless Chromium (Debian's chromium,
// driven by chromedp) at a phone's and a desktop's width, light and dark.
// The screenshots go to docs/ (make screenshots), beside the page's. The
// test skips without Chromium, unless CONVENE_REQUIRE_INTEROP=1.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/convene/convene/store"
)

// layout is what the test reads back from the rendered email.
type layout struct {
	ScrollWidth int    `json:"scrollWidth"`
	Button      string `json:"button"`
	ButtonHref  string `json:"buttonHref"`
	ButtonWidth int    `json:"buttonWidth"`
	Time        string `json:"time"`
	TimeSize    string `json:"timeSize"`
	Text        string `json:"text"`
}

const readLayout = `(() => {
	const a = Array.from(document.querySelectorAll("a")).find(a => a.textContent.trim() === "Join the meeting");
	const big = Array.from(document.querySelectorAll("p")).find(p => p.style.fontSize === "34px");
	return {
		scrollWidth: document.documentElement.scrollWidth,
		button: a ? a.textContent.trim() : "", buttonHref: a ? a.href : "",
		buttonWidth: a ? Math.round(a.closest("td").getBoundingClientRect().width) : 0,
		time: big ? big.textContent : "", timeSize: big ? getComputedStyle(big).fontSize : "",
		text: getComputedStyle(document.body).color,
	};
})()`

func TestEmailInBrowser(t *testing.T) {
	chromium := need(t, "chromium", "/usr/bin/chromium")
	s, set := goldenFeeds(t)
	o := s.Single(s.Sessions[0])
	row := store.OutboxRow{Ident: "screenshot", Kind: KindReminder, Occurrence: o.Key(), Offset: time.Hour, Recipient: "ann@example.org",
		Zone: "Europe/London", Unsubscribe: "https://group.example.org/unsubscribe/k3y", Starts: o.Start}
	m, err := (&Composer{Schedule: s, Feeds: set}).Row(row, &o, o.Start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "reminder.html")
	if err := os.WriteFile(page, []byte(parseMessage(t, m.Data).HTML), 0o644); err != nil {
		t.Fatal(err)
	}
	// docs/ only when asked (`make screenshots`): a test run leaves the
	// tree unchanged.
	docs := os.Getenv("CONVENE_ARTIFACTS")
	switch {
	case os.Getenv("CONVENE_UPDATE_DOCS") == "1":
		docs = filepath.Join("..", "docs")
	case docs == "":
		docs = filepath.Join(os.TempDir(), "convene-screenshots")
	}
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		for _, width := range []int64{390, 800} {
			name := fmt.Sprintf("email-%dpx-%s.png", width, scheme)
			tab, cancelTab := chromedp.NewContext(ctx)
			var opts []chromedp.EmulateViewportOption
			if width < 600 {
				opts = append(opts, chromedp.EmulateMobile)
			}
			_, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			if err == nil {
				err = chromedp.Do(tab, chromedp.EmulateViewport(width, 900, opts...), chromedp.Navigate("file://"+page),
					chromedp.WaitVisible(chromedp.CSS("a")))
			}
			var got layout
			var png []byte
			if err == nil {
				got, err = chromedp.Run(tab, chromedp.Evaluate[layout](readLayout))
			}
			if err == nil {
				png, err = chromedp.Run(tab, chromedp.FullScreenshot(100))
			}
			cancelTab()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.ScrollWidth > int(width) {
				t.Errorf("%s: the email is %dpx wide, wider than the screen", name, got.ScrollWidth)
			}
			if got.Button != "Join the meeting" || got.ButtonHref != "https://meet.example.org/room" || got.ButtonWidth < 150 {
				t.Errorf("%s: join button %q to %q, %dpx wide; want a wide button to the room", name, got.Button, got.ButtonHref, got.ButtonWidth)
			}
			if got.Time != "01:00 BST" || got.TimeSize != "34px" {
				t.Errorf("%s: big time %q at %s, want 01:00 BST at 34px", name, got.Time, got.TimeSize)
			}
			// The email sets no background and no colour on its main
			// text, so the reader's scheme decides them.
			if dark := got.Text == "rgb(255, 255, 255)"; dark != (scheme == "dark") {
				t.Errorf("%s: text colour %s, want the %s scheme's", name, got.Text, scheme)
			}
			if err := os.WriteFile(filepath.Join(docs, name), png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %+v", name, got)
		}
	}
}
