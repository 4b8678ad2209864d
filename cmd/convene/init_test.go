package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/schedule"
)

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "group")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"init", "--timezone", "Europe/Berlin", dir}, &stdout, &stderr); err != nil {
		t.Fatalf("init: %v", err)
	}
	path := filepath.Join(dir, "events.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "#:schema "+schedule.SchemaURL+"\n") || !strings.Contains(string(data), `timezone = "Europe/Berlin"`) {
		t.Errorf("events.toml lacks the #:schema line or the zone:\n%s", data)
	}
	for _, cmd := range []string{"convene check --config " + path, "convene serve --config " + path, "git init " + dir} {
		if !strings.Contains(stdout.String(), cmd) {
			t.Errorf("init does not say to run %q:\n%s", cmd, stdout.String())
		}
	}
	out, _, code := runCheck(t, "--config", path)
	if code != 0 || !strings.Contains(out, "ok, 1 sessions and 1 series") || !strings.Contains(out, "kickoff") {
		t.Errorf("check of init's file: exit %d\n%s", code, out)
	}
	validateSchema(t, path)

	// It never overwrites.
	stdout.Reset()
	if code := exitCode(run(context.Background(), []string{"init", dir}, &stdout, &stderr), &stderr); code != 2 || !strings.Contains(stderr.String(), "exists") {
		t.Errorf("init over a schedule: exit %d, want 2:\n%s", code, stderr.String())
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("init changed an existing events.toml")
	}
	stderr.Reset()
	if code := exitCode(run(context.Background(), []string{"init", "--timezone", "Tokio", t.TempDir()}, &stdout, &stderr), &stderr); code != 2 || !strings.Contains(stderr.String(), "did you mean Asia/Tokyo?") {
		t.Errorf("init --timezone Tokio: exit %d, want 2 and the fix:\n%s", code, stderr.String())
	}
}

func TestInitLocalZone(t *testing.T) {
	t.Setenv("TZ", "Asia/Kolkata")
	dir := t.TempDir()
	if err := run(context.Background(), []string{"init", dir}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "events.toml"))
	if !strings.Contains(string(data), `timezone = "Asia/Kolkata"`) {
		t.Errorf("init with TZ=Asia/Kolkata wrote\n%s", data)
	}
}

// TestStarterEveryZone checks that init's file is valid in every zone of
// the bundled database, written on random days.
func TestStarterEveryZone(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	for _, name := range schedule.ZoneNames() {
		zone, err := schedule.LoadZone(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(20 * 365 * 24 * time.Hour))))
			if _, err := schedule.Parse("events.toml", []byte(starter(zone, now))); err != nil {
				t.Fatalf("starter(%s, %s) is invalid: %v", name, now, err)
			}
		}
	}
}

// validateSchema checks file against schema/events.schema.json with the
// validator that schedule's tests use (python3-jsonschema).
func validateSchema(t *testing.T, file string) {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import jsonschema, tomllib").Run(); err != nil {
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s with jsonschema is required (apt-get install python3-jsonschema): %v", python, err)
		}
		t.Skipf("skipping the JSON Schema check: %s with jsonschema is missing", python)
	}
	out, err := exec.Command(python, "../../schedule/testdata/validate.py", "../../schema/events.schema.json", file).Output()
	if err != nil {
		t.Fatalf("validate.py: %v", err)
	}
	var r struct{ Errors []string }
	if err := json.Unmarshal(out, &r); err != nil || len(r.Errors) > 0 {
		t.Errorf("the schema refuses %s: %s %v", file, out, err)
	}
}
