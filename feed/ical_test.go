package feed

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// fixedNow is the render time of every test, so that output is stable.
var fixedNow = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)

// tempStore opens a state file in a fresh directory.
func tempStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// renderTOML parses text and renders it with st at now.
func renderTOML(t testing.TB, st State, text string, now time.Time) (*schedule.Schedule, *Set) {
	t.Helper()
	s, err := schedule.Parse("events.toml", []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	set, err := Render(context.Background(), s, st, now)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return s, set
}

// checkLines checks the physical form of an iCalendar body: CRLF after
// every line and nowhere else, no line longer than 75 octets, no line
// that splits a UTF-8 character, and no control character other than
// HTAB. It returns the unfolded content lines.
func checkLines(t testing.TB, body []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Errorf("body does not end with CRLF")
	}
	phys := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
	var lines []string
	for i, l := range phys {
		if len(l) > 75 {
			t.Errorf("line %d is %d octets, more than 75: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d splits a UTF-8 character: %q", i+1, l)
		}
		for _, r := range l {
			if r < 0x20 && r != '\t' || r == 0x7f {
				t.Errorf("line %d holds control character %U: %q", i+1, r, l)
			}
		}
		if l == "" {
			t.Errorf("line %d is empty", i+1)
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(lines) == 0 {
				t.Fatalf("line %d continues nothing", i+1)
			}
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// values returns the values of every content line named name, with the
// parameters, if any, before the value: "TZID=Europe/London:20240101T...".
func values(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, name); ok && len(rest) > 0 && (rest[0] == ':' || rest[0] == ';') {
			out = append(out, rest[1:])
		}
	}
	return out
}

// unescape reverses TEXT escaping (RFC 5545 section 3.3.11).
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\r\nb", "a\nb"},
		{"a\rb", "ab"},
		{"tab\tkept", "tab\tkept"},
		{"bell\a, nul\x00, del\x7f, esc\x1b", "bell, nul, del, esc"},
		{"emoji 🎉 and 漢字", "emoji 🎉 and 漢字"},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParamValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"WSA Labor Committee", "WSA Labor Committee"},
		{"Labor Committee, WSA", `"Labor Committee, WSA"`},
		{"Join: https://meet.example.org/x", `"Join: https://meet.example.org/x"`},
		{"a;b", `"a;b"`},
		{`The "Group"`, "The ^'Group^'"},
		{`Say "hi", all`, `"Say ^'hi^', all"`},
		{"caret^", "caret^^"},
		{"two\nlines", "two^nlines"},
		{"cr\rgone", "crgone"},
		{"America/New_York", "America/New_York"},
	}
	for _, tt := range tests {
		if got := paramValue(tt.in); got != tt.want {
			t.Errorf("paramValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://meet.jit.si/Room", "https://meet.jit.si/Room"},
		{"https://x.example/a;b,c\\d", "https://x.example/a%3Bb%2Cc%5Cd"},
	}
	for _, tt := range tests {
		if got := uri(tt.in); got != tt.want {
			t.Errorf("uri(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOffset(t *testing.T) {
	tests := []struct {
		sec  int
		want string
	}{{0, "+0000"}, {-18000, "-0500"}, {37800, "+1030"}, {19800, "+0530"}, {-2670, "-004430"}, {50400, "+1400"}}
	for _, tt := range tests {
		if got := offset(tt.sec); got != tt.want {
			t.Errorf("offset(%d) = %q, want %q", tt.sec, got, tt.want)
		}
	}
}

// hardText is a schedule whose text needs every kind of escaping.
const hardText = `
[calendar]
name = "Group; \"quoted\", with\\backslash"
description = "Line one\r\nline two; three, four \\ five"
timezone = "Europe/London"
url = "https://group.example.org"
organizer = { name = "Labor Committee, WSA", email = "labor@example.org" }

[[sessions]]
id = "hard"
title = "Semi; comma, back\\slash \"quote\" 🎉 漢字"
start = 2024-02-01T19:00:00
location = "https://meet.example.org/room?a=1;b=2,c"
facilitator = "Zoë"
description = """
First line, with a comma; and a semicolon.
Second line: \\n is not a newline. Tab	here.
Third line is long and full of multi-byte text: 漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字 🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉 éééééééééééééééééééééééééééééé end"""
`

func TestRenderText(t *testing.T) {
	_, set := renderTOML(t, tempStore(t), hardText, fixedNow)
	for name, d := range set.Docs() {
		t.Run(name, func(t *testing.T) {
			lines := checkLines(t, d.Bytes())
			if got := values(lines, "SUMMARY"); len(got) != 1 || got[0] != `Semi\; comma\, back\\slash "quote" 🎉 漢字` {
				t.Errorf("SUMMARY = %q", got)
			}
			if got := values(lines, "SUMMARY"); len(got) == 1 && unescape(got[0]) != `Semi; comma, back\slash "quote" 🎉 漢字` {
				t.Errorf("SUMMARY unescaped = %q", unescape(got[0]))
			}
			want := "Facilitator: Zoë\nJoin: https://meet.example.org/room?a=1;b=2,c\n\n" +
				"First line, with a comma; and a semicolon.\n" +
				"Second line: \\n is not a newline. Tab\there.\n" +
				"Third line is long and full of multi-byte text: 漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字 🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉 éééééééééééééééééééééééééééééé end"
			if got := values(lines, "DESCRIPTION"); len(got) != 2 || unescape(got[1]) != want {
				t.Errorf("DESCRIPTION = %q,\nwant %q", got, want)
			} else if strings.Contains(got[1], "\n") || !strings.Contains(got[1], `Second line: \\n is not`) {
				t.Errorf("DESCRIPTION is not escaped: %q", got[1])
			}
			if got := values(lines, "DESCRIPTION"); len(got) > 0 && got[0] != `Line one\nline two\; three\, four \\ five` {
				t.Errorf("calendar DESCRIPTION = %q (a raw CR must not pass)", got[0])
			}
			if got := values(lines, "ORGANIZER"); len(got) != 1 || got[0] != `CN="Labor Committee, WSA":mailto:labor@example.org` {
				t.Errorf("ORGANIZER = %q", got)
			}
			if got := values(lines, "CONFERENCE"); len(got) != 1 || got[0] != `VALUE=URI;FEATURE=VIDEO;LABEL="Join: https://meet.example.org/room?a=1;b=2,c":https://meet.example.org/room?a=1%3Bb=2%2Cc` {
				t.Errorf("CONFERENCE = %q", got)
			}
			if got := values(lines, "LOCATION"); len(got) != 1 || got[0] != `https://meet.example.org/room?a=1\;b=2\,c` {
				t.Errorf("LOCATION = %q", got)
			}
			if got := values(lines, "X-WR-CALNAME"); len(got) != 1 || !strings.HasPrefix(unescape(got[0]), `Group; "quoted", with\backslash`) {
				t.Errorf("X-WR-CALNAME = %q", got)
			}
		})
	}
}

// TestFolding renders text of every length around the folding limit, in
// one-, two-, three- and four-octet characters, and checks that no line
// passes 75 octets or splits a character, and that unfolding gives the
// text back.
func TestFolding(t *testing.T) {
	st := tempStore(t)
	for _, unit := range []string{"a", "é", "漢", "🎉", "a漢", "\\", ",", "a  ", "a b"} {
		for n := 60; n < 160; n += 7 {
			title := strings.TrimSpace(strings.Repeat(unit, n/len(unit)+1))
			text := "[calendar]\nname = \"G\"\ntimezone = \"UTC\"\n[[sessions]]\nid = \"s\"\nstart = 2024-01-01T10:00:00\ntitle = '''" + title + "'''\n"
			_, set := renderTOML(t, st, text, fixedNow)
			lines := checkLines(t, set.All.Bytes())
			if got := values(lines, "SUMMARY"); len(got) != 1 || unescape(got[0]) != title {
				t.Errorf("unit %q × %d: SUMMARY unfolds to %q, want %q", unit, n, got, title)
			}
		}
	}
}
