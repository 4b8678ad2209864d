package main

// The page in a real browser: headless Chromium (Debian's chromium,
// driven by chromedp) against a running `convene serve` that sends its
// mail to mailpit. Both are outside programs: the test skips without
// them, and fails without them when CONVENE_REQUIRE_INTEROP=1.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

func need(t testing.TB, what, path string) string {
	t.Helper()
	if p, err := exec.LookPath(path); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found (%s); install it as .ci/run does", what, path)
	if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func mailpitPath(t testing.TB) string {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	return need(t, "mailpit", filepath.Join(strings.TrimSpace(string(gopath)), "bin", "mailpit"))
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startMailpit runs mailpit on free ports and returns its SMTP address
// and API base URL.
func startMailpit(t testing.TB, bin string) (smtp, api string) {
	t.Helper()
	smtp, ui := freePort(t), freePort(t)
	cmd := exec.Command(bin, "--smtp", smtp, "--listen", ui, "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--quiet")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	api = "http://" + ui
	waitFor(t, "mailpit", func() bool {
		resp, err := http.Get(api + "/api/v1/messages")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return smtp, api
}

// mailTo returns the text of the first message mailpit has for to.
func mailTo(t *testing.T, api, to string) string {
	t.Helper()
	var text string
	waitFor(t, "the confirmation mail in mailpit", func() bool {
		resp, err := http.Get(api + "/api/v1/messages")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var list struct {
			Messages []struct {
				ID string
				To []struct{ Address string }
			}
		}
		if json.NewDecoder(resp.Body).Decode(&list) != nil {
			return false
		}
		for _, m := range list.Messages {
			if len(m.To) == 1 && strings.EqualFold(m.To[0].Address, to) {
				resp, err := http.Get(api + "/api/v1/message/" + m.ID)
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				var msg struct{ Text string }
				if json.NewDecoder(resp.Body).Decode(&msg) != nil {
					return false
				}
				text = msg.Text
				return true
			}
		}
		return false
	})
	return text
}

func artifacts(t *testing.T) string {
	return screenshotDir(t, filepath.Join("..", "..", "web", "testdata", "screenshots"))
}

// upcoming is what the page shows of each upcoming meeting.
type upcoming struct {
	Start string `json:"start"`
	End   string `json:"end"`
	Local string `json:"local"`
}

const readUpcoming = `Array.from(document.querySelectorAll("#upcoming .meeting")).map(m => ({
	start: m.querySelector("time").getAttribute("datetime"),
	end: m.querySelector("time").getAttribute("data-end"),
	local: m.querySelector(".local").hidden ? "" : m.querySelector(".local").textContent}))`

// startBrowser starts headless Chromium for the rest of the test.
func startBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()))
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	t.Cleanup(func() { cancel(); cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	return ctx
}

func TestPageInBrowser(t *testing.T) {
	chromium := need(t, "chromium", "/usr/bin/chromium")
	smtp, api := startMailpit(t, mailpitPath(t))
	shots := artifacts(t)
	axe := axeSource(t)
	events, err := os.ReadFile(filepath.Join("..", "..", "web", "testdata", "events.toml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "events.toml"), events, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	base, logs := startServe(t, dir, "--addr", addr, "--smtp", "smtp://"+smtp+"?tls=none", "--log-level", "info")

	ctx := startBrowser(t, chromium)

	for _, zone := range []string{"Asia/Tokyo", "Europe/London"} {
		tab, cancelTab := chromedp.NewContext(ctx)
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(tab, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en-US"}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.CSS("#upcoming .local"))); err != nil {
			t.Fatalf("%s: %v", zone, err)
		}
		meetings, err := chromedp.Run(tab, chromedp.Evaluate[[]upcoming](readUpcoming))
		if err != nil {
			t.Fatal(err)
		}
		if len(meetings) != 7 {
			t.Fatalf("%s: %d upcoming meetings, want 7", zone, len(meetings))
		}
		for _, m := range meetings {
			start, err1 := time.Parse(time.RFC3339, m.Start)
			end, err2 := time.Parse(time.RFC3339, m.End)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad datetime %q %q", m.Start, m.End)
			}
			s, e := start.In(loc), end.In(loc)
			for _, want := range []string{"(" + zone + ")", s.Format("Jan 2, 2006"), s.Format("15:04") + "–", e.Format("15:04")} {
				if !strings.Contains(m.Local, want) {
					t.Errorf("%s: meeting at %s shows %q, want it to contain %q", zone, m.Start, m.Local, want)
				}
			}
		}
		zoneValue, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("zone")))
		if err != nil || zoneValue != zone {
			t.Errorf("%s: the form's zone is %q (%v), want the visitor's", zone, zoneValue, err)
		}
		pwned, err := chromedp.Run(tab, chromedp.Evaluate[bool](`typeof window.pwned !== "undefined"`))
		if err != nil || pwned {
			t.Errorf("%s: session text ran as script (%v)", zone, err)
		}
		if zone == "Asia/Tokyo" {
			for _, w := range []int64{390, 1280} {
				mobile := []chromedp.EmulateViewportOption{}
				if w < 600 {
					mobile = append(mobile, chromedp.EmulateMobile)
				}
				if err := chromedp.Do(tab, chromedp.EmulateViewport(w, 900, mobile...), chromedp.Sleep(200*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(shots, fmt.Sprintf("page-%dpx.png", w))
				if err := os.WriteFile(name, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("screenshot: %s", name)
			}
		}
		cancelTab()
	}

	// Sign up as a visitor from London, confirm from the mail, unsubscribe.
	const visitor = "visitor.browser@example.org"
	tab, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	if _, err := chromedp.Call(tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/London"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), visitor),
		chromedp.Click(chromedp.CSS(`input[name=series][value=weekly]`)),
		chromedp.Click(chromedp.CSS(`form.signup button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("section.message"))); err != nil {
		t.Fatal(err)
	}
	if h, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1"))); h != "Check your inbox" {
		t.Fatalf("after signing up the page says %q", h)
	}
	text := mailTo(t, api, visitor)
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/confirm/[A-Za-z0-9_-]+`).FindString(text)
	if link == "" {
		t.Fatalf("no confirmation link in the mail:\n%s", text)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("act")),
		chromedp.Click(chromedp.ID("act")), chromedp.WaitVisible(chromedp.ID("link"))); err != nil {
		t.Fatal(err)
	}
	body, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(body, "You are signed up") || !strings.Contains(body, "Europe/London") {
		t.Fatalf("after confirming the page says:\n%s", body)
	}
	// Confirming re-planned the reminders with the new subscriber in them.
	if !regexp.MustCompile(`"msg":"reminders planned","component":"mailer","reminders":\d+,"recipients":1,`).MatchString(logs.String()) {
		t.Errorf("no re-plan with the subscriber as a recipient in the log:\n%s", logs)
	}
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("link")), chromedp.WaitVisible(chromedp.ID("set-zone"))); err != nil {
		t.Fatal(err)
	}
	// The destructive button looks destructive: red, unlike the other.
	unsubscribe, _ := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("act")).backgroundColor`))
	other, _ := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("set-zone")).backgroundColor`))
	if r, g, b := rgb(t, unsubscribe); r < g+80 || r < b+80 || unsubscribe == other {
		t.Errorf("the Unsubscribe button is %s and Change time zone %s: want Unsubscribe red and unlike the other", unsubscribe, other)
	}
	checkAxe(t, tab, axe, "the unsubscribe page")
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("act")), chromedp.WaitNotPresent(chromedp.ID("set-zone"))); err != nil {
		t.Fatal(err)
	}
	if h, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1"))); h != "You are unsubscribed" {
		t.Fatalf("after unsubscribing the page says %q", h)
	}
	if strings.Contains(logs.String(), "visitor.browser") {
		t.Errorf("the address is in serve's info log:\n%s", logs)
	}
}
