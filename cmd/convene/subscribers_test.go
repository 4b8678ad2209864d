package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// subscribersDir is a temp dir holding events.toml (zone America/New_York,
// one series "weekly"), made the working directory.
func subscribersDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dir
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(t, args...)
	if err != nil {
		t.Fatalf("convene %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func TestSubscribersRefusesToCreateState(t *testing.T) {
	dir := subscribersDir(t)
	for _, args := range [][]string{
		{"subscribers", "add", "a@example.org"},
		{"subscribers", "list"},
		{"subscribers", "remove", "a@example.org"},
		{"subscribers", "export"},
	} {
		_, _, err := runCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), "state convene.db does not exist") || !strings.Contains(err.Error(), "--create") {
			t.Errorf("%v without a state = %v, want a refusal naming --create", args, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "convene.db")); err == nil {
		t.Fatal("a refused command created convene.db")
	}
	if out := mustRun(t, "subscribers", "add", "--create", "a@example.org"); !strings.HasPrefix(out, "added a@example.org") {
		t.Errorf("add --create = %q", out)
	}
}

func TestSubscribersAddSaysWhatItDid(t *testing.T) {
	subscribersDir(t)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"--create", "a@example.org"}, "added a@example.org (id 1, America/New_York, every meeting)"},
		{[]string{"a@example.org"}, "unchanged a@example.org (America/New_York, every meeting)"},
		{[]string{"--zone", "Europe/Berlin", "a@example.org"}, "updated a@example.org (was America/New_York, every meeting, now Europe/Berlin, every meeting)"},
		{[]string{"A@example.org", "--series", "weekly"}, "updated a@example.org (was Europe/Berlin, every meeting, now Europe/Berlin, series weekly)"},
		{[]string{"a@example.org"}, "unchanged a@example.org (Europe/Berlin, series weekly)"},
		{[]string{"--zone", "Asia/Kolkata", "b@example.org"}, "added b@example.org (id 2, Asia/Kolkata, every meeting)"},
	}
	for _, s := range steps {
		out := mustRun(t, append([]string{"subscribers", "add"}, s.args...)...)
		if strings.TrimSpace(out) != s.want {
			t.Errorf("add %v = %q, want %q", s.args, out, s.want)
		}
	}
	// A pending sign-up from the page is confirmed, and says so.
	st, err := store.Open("convene.db")
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.SignUp(context.Background(), time.Now(), store.SignUp{Email: "c@example.org", Zone: "Europe/Paris", Nonce: "n", Expires: time.Now().Add(time.Hour)}, store.MailLimit{Max: 3, Window: time.Hour})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "subscribers", "add", "c@example.org"); !strings.HasPrefix(out, "confirmed c@example.org (id 3, Europe/Paris") {
		t.Errorf("add of a pending address = %q", out)
	}
}

func TestSubscribersAddChecks(t *testing.T) {
	subscribersDir(t)
	mustRun(t, "subscribers", "add", "--create", "a@example.org")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--series", "nonexistent", "b@example.org"}, `series "nonexistent": events.toml has no such series (its series: weekly)`},
		{[]string{"--zone", "Mars/Olympus", "b@example.org"}, "zone"},
		{[]string{"b@example.org", "not-an-address"}, `"not-an-address" is not an email address`},
		{[]string{"--config", "missing.toml", "b@example.org"}, "missing.toml"},
	} {
		_, _, err := runCmd(t, append([]string{"subscribers", "add"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("add %v = %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
	if out := mustRun(t, "subscribers", "list"); strings.Contains(out, "b@example.org") {
		t.Errorf("a refused add added b@example.org:\n%s", out)
	}
}

func TestSubscribersCSV(t *testing.T) {
	dir := subscribersDir(t)
	mustRun(t, "subscribers", "add", "--create", "a@example.org")
	mustRun(t, "subscribers", "add", "--zone", "Europe/Berlin", "--series", "weekly", "b@example.org")
	export := mustRun(t, "subscribers", "export")
	want := "address,zone,series,status\na@example.org,America/New_York,,confirmed\nb@example.org,Europe/Berlin,weekly,confirmed\n"
	if export != want {
		t.Fatalf("export = %q, want %q", export, want)
	}
	mustRun(t, "subscribers", "export", "out.csv")
	if b, _ := os.ReadFile(filepath.Join(dir, "out.csv")); string(b) != want {
		t.Errorf("export out.csv wrote %q", b)
	}

	// Into a new state: the same subscribers; pending rows skipped.
	csv := want + "c@example.org,UTC,,pending\n"
	os.WriteFile(filepath.Join(dir, "in.csv"), []byte(csv), 0o644)
	if _, _, err := runCmd(t, "subscribers", "import", "--state", "new.db", "in.csv"); err == nil || !strings.Contains(err.Error(), "--create") {
		t.Errorf("import into a missing state = %v, want a refusal", err)
	}
	out := mustRun(t, "subscribers", "import", "--state", "new.db", "--create", "in.csv")
	if !strings.Contains(out, "added a@example.org") || !strings.Contains(out, "added b@example.org") || !strings.Contains(out, "skipped 1 pending") {
		t.Errorf("import = %q", out)
	}
	if got := mustRun(t, "subscribers", "export", "--state", "new.db"); got != want {
		t.Errorf("after import, export = %q, want %q", got, want)
	}
	// Again: nothing changes, and it says so.
	if out := mustRun(t, "subscribers", "import", "--state", "new.db", "in.csv"); strings.Count(out, "unchanged") != 2 {
		t.Errorf("second import = %q, want two unchanged", out)
	}

	// One bad row: nothing imported, every problem named by line.
	bad := "address,zone,series,status\nd@example.org,UTC,,confirmed\nbad,UTC,,confirmed\ne@example.org,UTC,nope,confirmed\nf@example.org,UTC,,maybe\n"
	os.WriteFile(filepath.Join(dir, "bad.csv"), []byte(bad), 0o644)
	_, _, err := runCmd(t, "subscribers", "import", "--state", "new.db", "bad.csv")
	for _, w := range []string{"nothing imported", "line 3:", "line 4: series \"nope\"", "line 5: status \"maybe\""} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("import of bad rows = %v, want it to say %q", err, w)
		}
	}
	if got := mustRun(t, "subscribers", "export", "--state", "new.db"); got != want {
		t.Errorf("a refused import changed the state: %q", got)
	}
	os.WriteFile(filepath.Join(dir, "nohead.csv"), []byte("d@example.org,UTC,,confirmed\n"), 0o644)
	if _, _, err := runCmd(t, "subscribers", "import", "--state", "new.db", "nohead.csv"); err == nil || !strings.Contains(err.Error(), "want the header address,zone,series,status") {
		t.Errorf("import without a header = %v", err)
	}
}

// export then import into a new state gives the same subscribers, for
// many generated lists (addresses with odd but valid characters, zones,
// series subsets); a fixed seed, so a failure repeats.
func TestSubscribersCSVRoundTrip(t *testing.T) {
	subscribersDir(t)
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham", "UTC", "America/St_Johns"}
	locals := []string{"a", "b.c", "d+tag", "o'brien", "x_y", "Z9", "long.name-with-dash"}
	rng := rand.New(rand.NewPCG(10, 10))
	for round := range 10 {
		from, to := fmt.Sprintf("from%d.db", round), fmt.Sprintf("to%d.db", round)
		st, err := store.Open(from)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i := range 1 + rng.IntN(15) {
			addr := fmt.Sprintf("%s%d@%s.example.org", locals[rng.IntN(len(locals))], i, []string{"mail", "x-y", "sub.dom"}[rng.IntN(3)])
			if seen[addr] {
				continue
			}
			seen[addr] = true
			var series []string
			if rng.IntN(2) == 0 {
				series = []string{"weekly"}
			}
			if _, err := st.AddSubscriber(context.Background(), time.Now(), addr, zones[rng.IntN(len(zones))], series); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
		out := mustRun(t, "subscribers", "export", "--state", from)
		os.WriteFile("round.csv", []byte(out), 0o644)
		mustRun(t, "subscribers", "import", "--state", to, "--create", "round.csv")
		if again := mustRun(t, "subscribers", "export", "--state", to); again != out {
			t.Fatalf("round %d: export after import =\n%s\nwant\n%s", round, again, out)
		}
	}
}
