package main

// deploy/compose.yaml (PostgreSQL, two replicas, Caddy) cannot be started
// here: there is no container engine. So its parts are checked where
// they can be: Debian's docker-compose validates and resolves the file
// (no engine needed for `config`), the replicas' settings are compared,
// the health check command runs against a real serve, and the Caddyfile
// it mounts runs in Debian's caddy in front of two real serve processes.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type composeService struct {
	Build struct {
		Context    string
		Dockerfile string
	}
	Image       string
	Environment map[string]string
	DependsOn   map[string]struct{ Condition string } `json:"depends_on"`
	Healthcheck struct{ Test []string }
	Volumes     []string
}

// composeConfig is deploy/compose.yaml as `docker-compose config`
// resolves it with env, read by python3-yaml.
func composeConfig(t *testing.T, env ...string) (map[string]composeService, error) {
	t.Helper()
	bin := needProgram(t, "docker-compose")
	cmd := exec.Command(bin, "-f", filepath.Join(repoRoot(t), "deploy", "compose.yaml"), "config")
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.String())
	}
	file := filepath.Join(t.TempDir(), "compose.yaml")
	os.WriteFile(file, out, 0o644)
	var c struct{ Services map[string]composeService }
	yamlFile(t, file, &c)
	return c.Services, nil
}

// TestComposeFile: the compose file is valid, runs PostgreSQL and two
// replicas built from deploy/Containerfile on one database with one
// secret, checks each replica's health with `convene ready` (run here
// against a real serve), and puts the Caddyfile it names in front.
func TestComposeFile(t *testing.T) {
	if _, err := composeConfig(t, "CONVENE_HOST=calendar.example.org"); err == nil || !strings.Contains(err.Error(), "set POSTGRES_PASSWORD in deploy/.env") {
		t.Errorf("docker-compose config without POSTGRES_PASSWORD = %v, want it refused, naming the variable", err)
	}
	services, err := composeConfig(t, "POSTGRES_PASSWORD=pw0123", "CONVENE_HOST=calendar.example.org", "CONVENE_SECRET=")
	if err != nil {
		t.Fatalf("docker-compose config: %v", err)
	}
	pg, a, b, caddy := services["postgres"], services["convene-a"], services["convene-b"], services["caddy"]
	if len(services) != 4 || pg.Image == "" || caddy.Image == "" {
		t.Fatalf("services %v, want postgres, convene-a, convene-b and caddy", services)
	}
	if test := strings.Join(pg.Healthcheck.Test, " "); !strings.Contains(test, "pg_isready") {
		t.Errorf("postgres health check %q, want pg_isready", test)
	}
	var port string
	for name, s := range map[string]composeService{"convene-a": a, "convene-b": b} {
		if s.Build.Dockerfile != "deploy/Containerfile" || filepath.Clean(s.Build.Context) != repoRoot(t) {
			t.Errorf("%s is built from %s in %s, want deploy/Containerfile in the repository", name, s.Build.Dockerfile, s.Build.Context)
		}
		if s.DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("%s depends on %v, want postgres healthy", name, s.DependsOn)
		}
		if got := strings.Join(s.Healthcheck.Test, " "); got != "CMD /usr/local/bin/convene ready" {
			t.Errorf("%s health check %q, want convene ready", name, got)
		}
		state, err := url.Parse(s.Environment["CONVENE_STATE"])
		pw, _ := state.User.Password()
		if err != nil || state.Scheme != "postgres" || state.Hostname() != "postgres" ||
			state.User.Username() != pg.Environment["POSTGRES_USER"] || pw != pg.Environment["POSTGRES_PASSWORD"] ||
			state.Path != "/"+pg.Environment["POSTGRES_DB"] {
			t.Errorf("%s: CONVENE_STATE=%s, want the postgres service's database, user and password %v", name, state, pg.Environment)
		}
		_, port, _ = net.SplitHostPort(s.Environment["CONVENE_ADDR"])
		if s.Environment["CONVENE_CLIENT_IP_HEADER"] != "X-Forwarded-For" {
			t.Errorf("%s: CONVENE_CLIENT_IP_HEADER=%q behind Caddy", name, s.Environment["CONVENE_CLIENT_IP_HEADER"])
		}
	}
	for _, v := range []string{"CONVENE_STATE", "CONVENE_SECRET", "CONVENE_ADDR", "CONVENE_SMTP"} {
		if _, ok := a.Environment[v]; !ok || a.Environment[v] != b.Environment[v] {
			t.Errorf("%s: convene-a has %q, convene-b %q: the replicas must share it", v, a.Environment[v], b.Environment[v])
		}
	}
	if strings.Join(a.Volumes, " ") != strings.Join(b.Volumes, " ") || !strings.Contains(strings.Join(a.Volumes, " "), ":/etc/convene:ro") {
		t.Errorf("replicas mount %v and %v, want the same schedule directory on /etc/convene", a.Volumes, b.Volumes)
	}

	// Caddy mounts deploy/Caddyfile.replicas, whose upstreams are the two
	// replicas on the port they listen on.
	var caddyfile string
	for _, v := range caddy.Volumes {
		if src, ok := strings.CutSuffix(v, ":/etc/caddy/Caddyfile:ro"); ok {
			caddyfile = src
		}
	}
	if caddyfile != filepath.Join(repoRoot(t), "deploy", "Caddyfile.replicas") {
		t.Fatalf("caddy mounts %v, want deploy/Caddyfile.replicas on /etc/caddy/Caddyfile", caddy.Volumes)
	}
	want := fmt.Sprintf("reverse_proxy convene-a:%s convene-b:%s {", port, port)
	if !strings.Contains(deployFile(t, "Caddyfile.replicas"), want) {
		t.Errorf("deploy/Caddyfile.replicas lacks %q", want)
	}

	// The health check, as the container runs it: no flags, CONVENE_ADDR
	// from the environment (0.0.0.0 is asked on loopback).
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
	r := startReplica(t, "a", dir, "--config", filepath.Join(dir, "events.toml"), "--state", filepath.Join(dir, "a.db"),
		"--outbox", filepath.Join(dir, "outbox"))
	r.ready(t)
	_, rport, _ := net.SplitHostPort(strings.TrimPrefix(r.base, "http://"))
	health := func() (string, error) {
		cmd := exec.Command(a.Healthcheck.Test[1], a.Healthcheck.Test[2:]...)
		cmd.Env = append(os.Environ(), "PATH="+convenePath(t), "CONVENE_ADDR=0.0.0.0:"+rport)
		cmd.Path, _ = exec.LookPath("convene")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The check runs /usr/local/bin/convene; here it is this test binary.
	t.Setenv("PATH", convenePath(t))
	if out, err := health(); err != nil || !strings.HasPrefix(out, "ready") {
		t.Errorf("health check against a ready serve = %v\n%s", err, out)
	}
	r.stop()
	if out, err := health(); err == nil || !strings.Contains(out, "not ready") {
		t.Errorf("health check against a stopped serve = %v\n%s, want a failure", err, out)
	}
	os.WriteFile(filepath.Join(dir, "broken.toml"), []byte("[calendar]\nname = 1\n"), 0o644)
	broken := startReplica(t, "broken", dir, "--config", filepath.Join(dir, "broken.toml"), "--state", filepath.Join(dir, "b.db"),
		"--outbox", filepath.Join(dir, "outbox"))
	_, _, err = runCmd(t, "ready", "--addr", strings.TrimPrefix(broken.base, "http://"))
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable: not ready\nschedule: ") || exitCode(err, io.Discard) != 1 {
		t.Errorf("convene ready against a serve without a schedule = %v, want exit status 1 with its answer", err)
	}
}

// TestComposeCaddy runs deploy/Caddyfile.replicas in Debian's caddy in
// front of serve processes, as compose does, with a third upstream that
// never loads its schedule: requests reach both good replicas and never
// the one whose /readyz answers 503; with one good replica killed, every
// request is still answered, by the other.
func TestComposeCaddy(t *testing.T) {
	caddy := needProgram(t, "caddy")
	dir := t.TempDir()
	config, broken := filepath.Join(dir, "events.toml"), filepath.Join(dir, "broken.toml")
	os.WriteFile(config, []byte(e2eSchedule), 0o644)
	os.WriteFile(broken, []byte("[calendar]\nname = 1\n"), 0o644)
	start := func(name, config string) *replica {
		return startReplica(t, name, dir, "--config", config, "--state", filepath.Join(dir, name+".db"),
			"--outbox", filepath.Join(dir, "outbox-"+name), "--client-ip-header", "X-Forwarded-For")
	}
	a, b, c := start("a", config), start("b", config), start("c", broken)
	a.ready(t)
	b.ready(t)
	if code, _ := getStatus(t, http.DefaultClient, c.base+"/readyz"); code != 503 {
		t.Fatalf("replica c /readyz = %d, want 503 (its schedule does not load)", code)
	}

	addr := freePort(t)
	hostPort := func(r *replica) string { return strings.TrimPrefix(r.base, "http://") }
	conf := replaceOnce(t, deployFile(t, "Caddyfile.replicas"), "reverse_proxy convene-a:8080 convene-b:8080 {",
		"reverse_proxy "+hostPort(a)+" "+hostPort(b)+" "+hostPort(c)+" {")
	public := runCaddy(t, caddy, conf, addr, "CONVENE_HOST=http://"+addr)
	time.Sleep(3 * time.Second) // a round of health checks (health_interval 2s)

	served := func(r *replica, status string) float64 {
		return max(0, sample(t, r.base, `convene_feed_requests_total{status="`+status+`"}`))
	}
	fetch := func(n int) {
		t.Helper()
		for i := range n {
			if code, body := getStatus(t, http.DefaultClient, public+"/calendar.ics"); code != 200 || !strings.Contains(body, "BEGIN:VCALENDAR") {
				t.Fatalf("GET /calendar.ics %d through caddy = %d", i, code)
			}
		}
	}
	beforeA, beforeB := served(a, "200"), served(b, "200")
	fetch(30)
	if da, db := served(a, "200")-beforeA, served(b, "200")-beforeB; da < 5 || db < 5 {
		t.Errorf("of 30 requests through caddy, replica a answered %v and b %v: want both in rotation", da, db)
	}
	if n := served(c, "503"); n > 0 {
		t.Errorf("replica c, not ready, got %v feed requests", n)
	}
	if code, _ := getStatus(t, http.DefaultClient, public+"/metrics"); code != 404 {
		t.Errorf("GET /metrics through caddy = %d, want 404", code)
	}

	b.kill()
	fetch(30)
}
