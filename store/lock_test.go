//go:build unix

package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary act as a second process that holds the
// lock of the state named by CONVENE_TEST_HOLD_STATE until its stdin
// closes.
func TestMain(m *testing.M) {
	if path := os.Getenv("CONVENE_TEST_HOLD_STATE"); path != "" {
		s, err := OpenExclusive(path)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n')
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOpenExclusiveTwoProcesses checks that a second process cannot open
// a state that a first holds, with an error naming the holder's PID, and
// can once the holder is killed.
func TestOpenExclusiveTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), "CONVENE_TEST_HOLD_STATE="+path)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("holder says %q", line)
	}

	_, err = OpenExclusive(path)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != holder.Process.Pid {
		t.Fatalf("OpenExclusive of a held state = %v, want a LockedError naming PID %d", err, holder.Process.Pid)
	}
	want := fmt.Sprintf("open state %s: the state is in use by process %d (lock %s.lock): stop it first, or give this one its own --state", path, holder.Process.Pid, path)
	if err.Error() != want {
		t.Errorf("error = %s\nwant %s", err, want)
	}
	// Commands that run beside serve still open it.
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open beside the holder: %v", err)
	}
	s.Close()

	holder.Process.Kill() // kill -9: the kernel releases the lock
	holder.Wait()
	s, err = OpenExclusive(path)
	if err != nil {
		t.Fatalf("OpenExclusive after the holder died: %v", err)
	}
	s.Close()
}

// TestOpenExclusiveInProcess checks that the lock holds between two opens
// in one process too, and is released by Close.
func TestOpenExclusiveInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	first, err := OpenExclusive(path)
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := OpenExclusive(path); !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second OpenExclusive = %v, want a LockedError naming PID %d", err, os.Getpid())
	}
	first.Close()
	second, err := OpenExclusive(path)
	if err != nil {
		t.Fatalf("OpenExclusive after Close: %v", err)
	}
	second.Close()
}

// TestOpenEmptyState checks that a 0-byte state is refused, not taken for
// a new one with a new secret, and that the message says what to do.
func TestOpenEmptyState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*Store, error){"Open": Open, "OpenExclusive": OpenExclusive} {
		_, err := open(path)
		if err == nil || !strings.Contains(err.Error(), "the file is empty (0 bytes), not a convene state: restore it from a backup") {
			t.Errorf("%s(0-byte file) = %v, want a refusal that says what to do", name, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("the 0-byte state was written to: %v", err)
	}
}
