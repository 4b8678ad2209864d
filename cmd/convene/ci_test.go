package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the convene binary, so that
// the shell steps of docs/ci run the code under test.
func TestMain(m *testing.M) {
	if os.Getenv("CONVENE_TEST_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// yamlFile reads a YAML file with python3-yaml, a parser nobody here wrote.
func yamlFile(t *testing.T, path string, v any) {
	t.Helper()
	const python = "/usr/bin/python3"
	out, err := exec.Command(python, "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", path).Output()
	if err != nil {
		if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
			t.Fatalf("reading %s with python3-yaml: %v", path, err)
		}
		t.Skipf("skipping: %s cannot read YAML (apt-get install python3-yaml): %v", python, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatal(err)
	}
}

// convenePath returns a PATH whose convene is this test binary.
func convenePath(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	shim := "#!/bin/sh\nCONVENE_TEST_AS_MAIN=1 exec " + exe + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "convene"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// TestWorkflow runs the steps of docs/ci/schedule.yml as GitHub Actions
// would on a pull request, in a git repository with a target branch.
func TestWorkflow(t *testing.T) {
	type trigger struct {
		PullRequest struct{ Paths []string } `json:"pull_request"`
	}
	var wf struct {
		On   trigger
		True trigger `json:"true"` // YAML 1.1 (PyYAML) reads the key on as true; GitHub reads "on"
		Env  map[string]string
		Jobs map[string]struct {
			Steps []struct{ Name, Run string }
		}
	}
	yamlFile(t, "../../docs/ci/schedule.yml", &wf)
	if paths := append(wf.On.PullRequest.Paths, wf.True.PullRequest.Paths...); len(paths) != 1 || paths[0] != "events.toml" {
		t.Errorf("the workflow runs on pull requests touching %v, want events.toml", paths)
	}
	repo, git := gitRepo(t)
	git("update-ref", "refs/remotes/origin/main", "HEAD") // the target branch, as checkout fetches it
	writeFiles(t, repo, map[string]string{"events.toml": diffNew()})
	git("commit", "-q", "-am", "move the introduction")

	path := convenePath(t)
	steps := func(t *testing.T) (summary string, outputs []string, failed string) {
		summaryFile := filepath.Join(t.TempDir(), "summary.md")
		for _, st := range wf.Jobs["check"].Steps {
			if st.Run == "" || strings.HasPrefix(st.Run, "go install") {
				continue
			}
			// GitHub runs each step with bash -e -o pipefail.
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st.Run)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "PATH="+path, "CONFIG="+wf.Env["CONFIG"],
				"GITHUB_BASE_REF=main", "GITHUB_STEP_SUMMARY="+summaryFile)
			out, err := cmd.CombinedOutput()
			outputs = append(outputs, string(out))
			if err != nil {
				failed = st.Name
				break
			}
		}
		b, _ := os.ReadFile(summaryFile)
		return string(b), outputs, failed
	}

	summary, outputs, failed := steps(t)
	if failed != "" {
		t.Fatalf("step %q failed on a valid edit:\n%s", failed, strings.Join(outputs, "\n"))
	}
	for _, want := range []string{"## What this pull request changes for subscribers", "  moved      intro \"Introduction\"", "  changed  /calendar.ics"} {
		if !strings.Contains(summary, want) {
			t.Errorf("job summary lacks %q:\n%s", want, summary)
		}
	}

	writeFiles(t, repo, map[string]string{"events.toml": strings.Replace(diffNew(), `title = "Party"`, `titel = "Party"`, 1)})
	_, outputs, failed = steps(t)
	if failed != "convene check" {
		t.Fatalf("a typo did not fail the check step (failed: %q):\n%s", failed, strings.Join(outputs, "\n"))
	}
	if !regexp.MustCompile(`(?m)^::error file=events.toml,line=\d+,title=convene check%3A sessions\[2\]\.titel::unknown key; did you mean title\?$`).MatchString(outputs[len(outputs)-1]) {
		t.Errorf("check step printed no annotation for the typo:\n%s", outputs[len(outputs)-1])
	}
}

// TestPreCommitHook runs the hook of .pre-commit-hooks.yaml as pre-commit
// does: its entry, on the files it matches.
func TestPreCommitHook(t *testing.T) {
	var hooks []struct {
		ID, Entry, Language, Files string
		PassFilenames              bool `json:"pass_filenames"`
	}
	yamlFile(t, "../../.pre-commit-hooks.yaml", &hooks)
	if len(hooks) != 1 || hooks[0].ID != "convene-check" || hooks[0].Language != "golang" || hooks[0].PassFilenames {
		t.Fatalf("hooks = %+v", hooks)
	}
	files := regexp.MustCompile(hooks[0].Files)
	for name, want := range map[string]bool{"events.toml": true, "group/events.toml": true, "my-events.toml": false, "events.toml.bak": false} {
		if files.MatchString(name) != want {
			t.Errorf("files %q matches %s: %v, want %v", hooks[0].Files, name, !want, want)
		}
	}
	dir := t.TempDir()
	hook := func() (string, error) {
		cmd := exec.Command("sh", "-c", hooks[0].Entry)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+convenePath(t))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	writeFiles(t, dir, map[string]string{"events.toml": diffOld()})
	if out, err := hook(); err != nil {
		t.Errorf("hook on a valid schedule: %v\n%s", err, out)
	}
	writeFiles(t, dir, map[string]string{"events.toml": strings.Replace(diffOld(), "America/New_York", "New York", 1)})
	if out, err := hook(); err == nil || !strings.Contains(out, "did you mean America/New_York?") {
		t.Errorf("hook on a bad zone: %v\n%s", err, out)
	}
}
