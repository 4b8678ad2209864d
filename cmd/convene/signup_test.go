package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var csrfValue = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signUp loads the page at base and posts its sign-up form for email
// with client (nil: a plain one), sending headers (name, value, ...) with
// both requests, as one browser would. It returns the answer's status.
func signUp(t *testing.T, client *http.Client, base, email string, headers ...string) int {
	t.Helper()
	if client == nil {
		client = &http.Client{}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &c
	req, _ := http.NewRequest("GET", base+"/", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1<<20)
	n, _ := resp.Body.Read(body)
	for n < len(body) {
		m, err := resp.Body.Read(body[n:])
		n += m
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	m := csrfValue.FindSubmatch(body[:n])
	if m == nil {
		t.Fatalf("GET %s/: %d, no sign-up form", base, resp.StatusCode)
	}
	form := url.Values{"email": {email}, "zone": {"Europe/Berlin"}, "csrf": {string(m[1])}}
	post, _ := http.NewRequest("POST", base+"/subscribe", strings.NewReader(form.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.Cookies() {
		post.AddCookie(c)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		post.Header.Set(headers[i], headers[i+1])
	}
	answer, err := client.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	answer.Body.Close()
	return answer.StatusCode
}

// A sign-up turned away by the per-client limit is logged, without the
// address, with the client it saw, and counted in /metrics.
func TestSignUpRefusalsLoggedAndCounted(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
	base, logs := startServe(t, dir)
	for i := range 10 {
		if code := signUp(t, nil, base, "p"+string(rune('a'+i))+"@example.org"); code != http.StatusSeeOther {
			t.Fatalf("sign-up %d = %d, want 303", i+1, code)
		}
	}
	if code := signUp(t, nil, base, "refused@example.org"); code != http.StatusTooManyRequests {
		t.Fatalf("11th sign-up from one client = %d, want 429", code)
	}
	if got := sample(t, base, `convene_signups_refused_total{limit="client"}`); got != 1 {
		t.Errorf(`convene_signups_refused_total{limit="client"} = %v, want 1`, got)
	}
	log := logs.String()
	if !strings.Contains(log, `"msg":"sign-up refused","component":"web","limit":"client","client":"127.0.0.1"`) {
		t.Errorf("no refusal logged with its client:\n%s", log)
	}
	if strings.Contains(log, "refused@example.org") || strings.Contains(log, "pa@example.org") {
		t.Errorf("an address is in the log:\n%s", log)
	}
	if strings.Contains(log, "mailed") || !strings.Contains(log, `"msg":"sign-up","component":"web","confirmation":"queued"`) {
		t.Errorf("accepted sign-ups are not logged as queued:\n%s", log)
	}
}
