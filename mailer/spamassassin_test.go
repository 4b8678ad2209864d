package mailer

// Each kind of message through SpamAssassin (Debian's spamassassin, local
// rules only: -L, no network), which must find no rule scoring above 0.
// The test skips without it, unless CONVENE_REQUIRE_INTEROP=1.

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// saRule is one line of SpamAssassin's report: " 0.1 HTML_MESSAGE  BODY: ...".
var saRule = regexp.MustCompile(`(?m)^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$`)

func TestSpamAssassin(t *testing.T) {
	sa := need(t, "spamassassin", "/usr/bin/spamassassin")
	s, set := goldenFeeds(t)
	msgs := everyKind(t, &Composer{Schedule: s, Feeds: set})
	// One run over an mbox of every message: SpamAssassin takes seconds
	// to load its rules.
	var mbox bytes.Buffer
	ids := map[string]string{}
	for name, raw := range msgs {
		p := parseMessage(t, raw)
		ids[p.Header.Get("Message-Id")] = name
		// The phrase of SpamAssassin's END_FUTURE_EMAILS, whichever
		// plugins a receiver runs.
		if strings.Contains(strings.ToLower(p.Text+p.HTML), "stop these emails") {
			t.Errorf("%s says \"stop these emails\"", name)
		}
		mbox.WriteString(mboxSep + "\n")
		mbox.Write(regexp.MustCompile(`(?m)^From `).ReplaceAll(raw, []byte(">From ")))
		mbox.WriteString("\n")
	}
	cmd := exec.Command(sa, "-t", "-L", "--mbox", "-p", filepath.Join(t.TempDir(), "user_prefs"))
	cmd.Stdin = &mbox
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("spamassassin: %v\n%s", err, out)
	}
	seen := 0
	for _, chunk := range strings.Split(string(out), mboxSep)[1:] {
		id := regexp.MustCompile(`(?mi)^Message-Id:\s*(<[^>]+>)`).FindStringSubmatch(chunk)
		i := strings.Index(chunk, " pts rule name")
		if id == nil || ids[id[1]] == "" || i < 0 {
			t.Fatalf("spamassassin's output has a part without a known Message-ID or a report:\n%s", chunk)
		}
		name := ids[id[1]]
		seen++
		report := chunk[i:]
		if j := strings.Index(report, "\n\n"); j > 0 {
			report = report[:j]
		}
		var fired []string
		for _, m := range saRule.FindAllStringSubmatch(report, -1) {
			score, _ := strconv.ParseFloat(m[1], 64)
			fired = append(fired, m[2]+"="+m[1])
			if score > 0 {
				t.Errorf("%s: rule %s scores %s: %s", name, m[2], m[1], strings.TrimSpace(m[3]))
			}
		}
		if len(fired) == 0 {
			t.Errorf("%s: no rule in the report:\n%s", name, report)
		}
		t.Logf("%s: %s", name, strings.Join(fired, " "))
	}
	if seen != len(msgs) {
		t.Errorf("spamassassin reported on %d messages, want %d", seen, len(msgs))
	}
}

const mboxSep = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970"
