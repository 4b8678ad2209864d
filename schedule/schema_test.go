package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const schemaFile = "../schema/events.schema.json"

// TestSchemaCommitted fails when schema/events.schema.json and Keys drift.
func TestSchemaCommitted(t *testing.T) {
	committed, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, JSONSchema()) {
		t.Errorf("%s differs from the definitions in schedule.Keys: run go generate ./schema and commit it", schemaFile)
	}
}

// TestEveryKey checks that testdata/every-key.toml is valid and uses every
// key that Keys defines, so the tests below reach every key.
func TestEveryKey(t *testing.T) {
	data := readFile(t, "testdata/every-key.toml")
	if _, err := Parse("every-key.toml", data); err != nil {
		t.Fatalf("Parse(every-key.toml): %v", err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				used[join(prefix, k)] = true
				walk(join(prefix, k), x)
			}
		case []map[string]any:
			for _, x := range v {
				walk(prefix, x)
			}
		}
	}
	walk("", raw)
	Walk(Keys, func(path string, k Key) {
		if !used[path] {
			t.Errorf("testdata/every-key.toml does not use %s", path)
		}
	})
}

// TestKeysAgree deletes each key's first line from every-key.toml in turn.
// The decoder must then report the key as required exactly when Keys says
// it is, and the JSON Schema must refuse exactly the same files.
func TestKeysAgree(t *testing.T) {
	data := readFile(t, "testdata/every-key.toml")
	lines := strings.Split(string(data), "\n")
	at := keyLines(string(data))
	dir := t.TempDir()
	var files []string
	want := map[string]bool{} // file -> the decoder and schema must refuse it
	Walk(Keys, func(path string, k Key) {
		if k.Kind == KindTable {
			return
		}
		n := firstLine(at, path)
		if n == 0 {
			t.Errorf("every-key.toml: no line for %s", path)
			return
		}
		text := strings.Join(append(append([]string{}, lines[:n-1]...), lines[n:]...), "\n")
		_, err := Parse("x.toml", []byte(text))
		var ps Problems
		refused := errors.As(err, &ps) && len(ps) == 1 && strings.HasPrefix(ps[0].Rule, "is required") &&
			stripIndexes(ps[0].Key) == path
		if refused != k.Required || (err != nil && !refused) {
			t.Errorf("without %s (line %d): Parse = %v; Keys says required=%v", path, n, err, k.Required)
		}
		file := filepath.Join(dir, strings.ReplaceAll(path, ".", "_")+".toml")
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
		want[file] = k.Required
	})
	for file, errs := range validate(t, files) {
		if refused := len(errs) > 0; refused != want[file] {
			t.Errorf("schema on %s: errors %q, want refused=%v", filepath.Base(file), errs, want[file])
		}
	}
}

// firstLine returns the line of the first element's key at a header path
// such as series.changes.start.
func firstLine(at map[string]int, path string) int {
	best := 0
	for p, n := range at {
		if stripIndexes(p) == path && (best == 0 || n < best) {
			best = n
		}
	}
	return best
}

// TestSchemaOnFixtures runs a JSON Schema validator nobody here wrote on
// every events.toml in the repository: each one convene accepts must pass,
// and each invalid fixture must fail where a schema can tell.
func TestSchemaOnFixtures(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../*.toml", "../*/testdata/*.toml", "../*/testdata/*/*.toml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	results := validate(t, files)
	valid := 0
	for _, f := range files {
		_, err := Parse(f, readFile(t, f))
		if err == nil {
			valid++
			if errs := results[f]; len(errs) > 0 {
				t.Errorf("%s is valid but the schema refuses it: %q", f, errs)
			}
			continue
		}
		if schemaCatches(f) && len(results[f]) == 0 {
			t.Errorf("%s is invalid (%v) but the schema accepts it", f, err)
		}
	}
	if valid < 10 {
		t.Errorf("found %d valid schedules, want the sample and the test corpora", valid)
	}
}

// schemaCatches tells whether an invalid fixture holds a mistake that a
// schema can see (a wrong key, type or pattern), as opposed to one that
// needs the decoder (an end before its start, a duplicate id, a gap).
func schemaCatches(file string) bool {
	if filepath.Base(file) == "bad.toml" {
		return true
	}
	for _, m := range mistakes {
		if strings.HasSuffix(file, "mistakes/"+m.file) {
			return m.schema
		}
	}
	return false
}

// validate runs schedule/testdata/validate.py (python3-jsonschema, with
// tomllib turning TOML into JSON) and returns each file's errors.
func validate(t *testing.T, files []string) map[string][]string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import jsonschema, tomllib").Run(); err != nil {
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s with jsonschema and tomllib is required (apt-get install python3-jsonschema): %v", python, err)
		}
		t.Skipf("skipping the JSON Schema validator: %s with jsonschema is missing (apt-get install python3-jsonschema)", python)
	}
	out, err := exec.Command(python, append([]string{"testdata/validate.py", schemaFile}, files...)...).Output()
	if err != nil {
		t.Fatalf("validate.py: %v", err)
	}
	results := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			File   string
			Errors []string
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("validate.py printed %q: %v", line, err)
		}
		results[r.File] = r.Errors
	}
	if len(results) != len(files) {
		t.Fatalf("validate.py checked %d files, want %d", len(results), len(files))
	}
	return results
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestKeysDocumented fails when a key of Keys is missing from the tables
// of the README's events.toml section.
func TestKeysDocumented(t *testing.T) {
	readme := string(readFile(t, "../README.md"))
	start, end := strings.Index(readme, "## events.toml"), strings.Index(readme, "## Maintaining the schedule")
	if start < 0 || end < start {
		t.Fatal("README.md lacks its events.toml or Maintaining the schedule section")
	}
	section := readme[start:end]
	Walk(Keys, func(path string, k Key) {
		if !strings.Contains(section, "`"+k.Name+"`") && !strings.Contains(section, k.header(path)) {
			t.Errorf("README.md's events.toml section does not document %s", path)
		}
	})
}

// taplo returns the path of Taplo's CLI (npm @taplo/cli, the engine of
// the Even Better TOML editor extension), installed by .ci/run.
func taplo(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs("testdata/taplo/node_modules/.bin/taplo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatalf("taplo is required: npm ci --prefix schedule/testdata/taplo (%v)", err)
		}
		t.Skip("skipping Taplo: run npm ci --prefix schedule/testdata/taplo")
	}
	return bin
}

// TestTaplo checks the schema as editors use it: Taplo accepts every
// valid schedule, refuses each mistake a schema can see, and follows the
// sample's "#:schema" line to the schema. (Two runs of taplo: each one
// starts a WebAssembly module, which takes seconds.)
func TestTaplo(t *testing.T) {
	bin := taplo(t)
	check := func(dir string, args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"check"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	abs := func(f string) string {
		a, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	want := map[string]bool{} // file -> Taplo must refuse it
	for _, pattern := range []string{"../*.toml", "../*/testdata/*.toml", "../*/testdata/*/*.toml"} {
		m, _ := filepath.Glob(pattern)
		for _, f := range m {
			if _, err := Parse(f, readFile(t, f)); err == nil {
				want[abs(f)] = false
			}
		}
	}
	for _, m := range mistakes {
		want[abs("testdata/mistakes/"+m.file)] = m.schema
	}
	args := []string{"--schema", "file://" + abs(schemaFile)}
	for f := range want {
		args = append(args, f)
	}
	out, _ := check(".", args...)
	refused := map[string]bool{}
	for _, m := range regexp.MustCompile(`┌─ (\S+):\d+:\d+`).FindAllStringSubmatch(out, -1) {
		refused[m[1]] = true
	}
	for f, w := range want {
		if refused[f] != w {
			t.Errorf("taplo refused %s: %v, want %v", f, refused[f], w)
		}
	}
	if t.Failed() {
		t.Logf("taplo check:\n%s", out)
	}

	// The sample's first line leads Taplo to the schema beside it.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "schema"), 0o755); err != nil {
		t.Fatal(err)
	}
	sample := string(readFile(t, "../events.toml"))
	typo := strings.Replace(sample, "\nfacilitator = ", "\nfacilitater = ", 1)
	if !strings.HasPrefix(sample, "#:schema ./schema/events.schema.json\n") || typo == sample {
		t.Fatal("the sample lacks its #:schema line or a facilitator")
	}
	if err := os.WriteFile(filepath.Join(dir, "schema", "events.schema.json"), readFile(t, schemaFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.toml"), []byte(typo), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(dir, "events.toml"); err == nil || !strings.Contains(out, "'facilitater' was unexpected") {
		t.Errorf("taplo check of the sample with a typo, by its #:schema line: %v\n%s", err, out)
	}
}
