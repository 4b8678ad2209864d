package main

// A replica is a `convene serve` in its own process (this test binary,
// standing in for convene: see TestMain), so that a test can run several
// on one state and SIGKILL one of them.

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

type replica struct {
	name string
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

// startReplica runs `convene serve ARGS` (absolute paths: the process
// runs in dir) on a free port, logging JSON, waits until it listens, and
// stops it when the test ends.
func startReplica(t testing.TB, name, dir string, args ...string) *replica {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, log: &syncBuffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(exe, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), "CONVENE_TEST_AS_MAIN=1", "CONVENE_SMTP_PASSWORD=")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("replica %s log:\n%s", name, tailLines(r.log.String(), 40))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for r.base == "" {
		for _, line := range strings.Split(r.log.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				r.base = "http://" + rec.Addr
			}
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("replica %s ended: %v\n%s", name, err, r.log)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not log its address:\n%s", name, r.log)
		}
	}
	return r
}

// ready waits until the replica serves its schedule.
func (r *replica) ready(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready after 30s:\n%s", r.name, tailLines(r.log.String(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the replica at once, as a crash or a pulled plug would.
func (r *replica) kill() {
	r.cmd.Process.Signal(syscall.SIGKILL)
	err := <-r.done
	r.done <- err
}

// stop ends the replica with SIGTERM, and SIGKILL after 10 s.
func (r *replica) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		r.done <- err
	case <-time.After(10 * time.Second):
		r.kill()
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
