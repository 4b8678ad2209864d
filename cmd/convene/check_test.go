package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// checkFiles writes one file with two problems and one valid file with a
// warning (two meetings of one series on a day).
func checkFiles(t *testing.T) (bad, warned string) {
	dir := t.TempDir()
	bad = filepath.Join(dir, "bad.toml")
	warned = filepath.Join(dir, "warned.toml")
	write := func(name, text string) {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(bad, strings.Replace(e2eSchedule, `timezone = "America/New_York"`, `timezone = "Berlin"`, 1)+"facilitater = \"Ann\"\n")
	write(warned, e2eSchedule+"\n[[series.changes]]\noccurrence = 2024-07-28\nstart = 2024-08-04T09:00:00\n")
	return bad, warned
}

func runCheck(t *testing.T, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"check"}, args...), &out, &errOut)
	code = exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

func TestCheckFormatJSON(t *testing.T) {
	bad, warned := checkFiles(t)
	stdout, stderr, code := runCheck(t, "--config", bad, "--format", "json")
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	type line struct {
		Level, File, Key, Message string
		Line                      int
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		got = append(got, v)
	}
	want := []line{
		{"error", bad, "calendar.timezone", `"Berlin" is not an IANA time zone name; did you mean Europe/Berlin?`, 3},
		{"error", bad, "series[0].facilitater", "unknown key; did you mean facilitator?", 17},
	}
	if len(got) != len(want) {
		t.Fatalf("check --format json printed\n%s\nwant %d lines", stdout, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if stderr != "convene: "+bad+": 2 problems\n" {
		t.Errorf("stderr = %q, want a one-line summary", stderr)
	}

	stdout, _, code = runCheck(t, "--config", warned, "--format", "json")
	if code != 0 || !strings.HasPrefix(stdout, `{"level":"warning","file":"`+warned+`","line":20,"key":"series[0].changes[0].start","message":"moves a meeting onto 2024-08-04`) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("check --format json of a file with a warning: exit %d, stdout\n%s", code, stdout)
	}
}

// annotation reads a workflow command back as the GitHub Actions runner
// does: "::level key=value,...::message" with %-escapes.
var annotation = regexp.MustCompile(`^::(error|warning) ([^:]*)::(.*)$`)

func unescapeAnnotation(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}

func TestCheckFormatGitHub(t *testing.T) {
	bad, warned := checkFiles(t)
	stdout, _, code := runCheck(t, "--config", bad, "--format", "github")
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	wantLines := []int{3, 17}
	if len(lines) != len(wantLines) {
		t.Fatalf("check --format github printed\n%s\nwant %d annotations", stdout, len(wantLines))
	}
	for i, l := range lines {
		m := annotation.FindStringSubmatch(l)
		if m == nil || m[1] != "error" {
			t.Fatalf("%q is not an ::error annotation", l)
		}
		props := map[string]string{}
		for _, kv := range strings.Split(m[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			props[k] = unescapeAnnotation(v)
		}
		if props["file"] != bad || props["line"] != strconv.Itoa(wantLines[i]) || !strings.HasPrefix(props["title"], "convene check: ") {
			t.Errorf("annotation %q: properties %v", l, props)
		}
	}
	if !strings.Contains(stdout, "did you mean Europe/Berlin?") {
		t.Errorf("annotations lack the fix:\n%s", stdout)
	}

	stdout, _, code = runCheck(t, "--config", warned, "--format", "github")
	if code != 0 || !strings.HasPrefix(stdout, "::warning file=") || !strings.Contains(stdout, ": ok, 1 sessions and 1 series") {
		t.Errorf("check --format github of a file with a warning: exit %d, stdout\n%s", code, stdout)
	}
}

func TestAnnotationEscaping(t *testing.T) {
	for _, s := range []string{"plain", "a: b, c", "100% sure", "two\nlines\r\n", "%0A literal"} {
		if got := unescapeAnnotation(annotationProperty(s)); got != s {
			t.Errorf("property %q round-trips to %q", s, got)
		}
		if d := annotationData(s); strings.ContainsAny(d, "\r\n") || strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(d) != s {
			t.Errorf("data %q escapes to %q", s, d)
		}
	}
}

func TestCheckFormatText(t *testing.T) {
	_, warned := checkFiles(t)
	stdout, stderr, code := runCheck(t, "--config", warned)
	if code != 0 || !strings.HasPrefix(stderr, "convene: warning: "+warned+":20: series[0].changes[0].start: moves") || !strings.Contains(stdout, "Next sessions:") {
		t.Errorf("check: exit %d, stdout\n%s\nstderr\n%s", code, stdout, stderr)
	}
	if _, _, code := runCheck(t, "--format", "yaml"); code != 2 {
		t.Errorf("check --format yaml: exit %d, want 2", code)
	}
}
