package main

// The README's deploy section, walked mechanically where a test can: the
// nginx example in front of serve, the schedule-from-git script, the
// environment file and the systemd units, all read from deploy/ as the
// README shows them.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testRepoRoot is the repository's top directory, found before any test
// changes directory (the tests run in cmd/convene).
var testRepoRoot = func() string {
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd))
}()

// deployFile reads a file of deploy/ (the tests run in cmd/convene).
func deployFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(testRepoRoot, "go.mod")); err != nil {
		t.Fatalf("repository root %q: %v", testRepoRoot, err)
	}
	return testRepoRoot
}

// needProgram returns the path of an outside program, or skips (fails
// under CONVENE_REQUIRE_INTEROP=1) when it is missing.
func needProgram(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (Debian: apt-get install %s)", names[0], filepath.Base(names[0]))
	if os.Getenv("CONVENE_REQUIRE_INTEROP") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// envValue returns the value deploy/convene.env gives name, uncommented.
func envValue(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=(.*)$`).FindStringSubmatch(deployFile(t, "convene.env"))
	if m == nil {
		t.Fatalf("deploy/convene.env does not set %s", name)
	}
	return m[1]
}

// TestEnvFileNamesEveryVariable: deploy/convene.env mentions every
// variable serve reads, so a maintainer finds each one there.
func TestEnvFileNamesEveryVariable(t *testing.T) {
	_, help, _ := runCmd(t, "serve", "--help")
	vars := regexp.MustCompile(`\((CONVENE_[A-Z_]+)\)`).FindAllStringSubmatch(help, -1)
	if len(vars) < 10 {
		t.Fatalf("serve --help lists %d variables:\n%s", len(vars), help)
	}
	env := deployFile(t, "convene.env")
	names := []string{"CONVENE_SECRET", "CONVENE_SMTP_PASSWORD"}
	for _, v := range vars {
		names = append(names, v[1])
	}
	for _, n := range names {
		if !regexp.MustCompile(`(?m)^#?` + n + `=`).MatchString(env) {
			t.Errorf("deploy/convene.env does not mention %s", n)
		}
	}
}

// TestSystemdUnits checks every unit in deploy/ with systemd-analyze
// verify; the programs they run are not installed here, which is the
// one complaint allowed.
func TestSystemdUnits(t *testing.T) {
	analyze := needProgram(t, "systemd-analyze")
	units, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "*.service"))
	timers, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "*.timer"))
	if len(units) < 3 || len(timers) < 2 {
		t.Fatalf("deploy/ has units %v, timers %v", units, timers)
	}
	// convene-admin's systemd-run properties, as the unit they make.
	admin := deployFile(t, "convene-admin")
	unit := "[Service]\nType=oneshot\nExecStart=/bin/true\n"
	for _, m := range regexp.MustCompile(`-p (\S+)`).FindAllStringSubmatch(admin, -1) {
		unit += m[1] + "\n"
	}
	for _, m := range regexp.MustCompile(`-E (\S+)`).FindAllStringSubmatch(admin, -1) {
		unit += "Environment=" + m[1] + "\n"
	}
	if !strings.Contains(unit, "User=convene") || !strings.Contains(unit, "StateDirectory=convene") {
		t.Errorf("convene-admin does not run as the service's dynamic user:\n%s", unit)
	}
	adminUnit := filepath.Join(t.TempDir(), "convene-admin-run.service")
	os.WriteFile(adminUnit, []byte(unit), 0o644)
	units = append(units, adminUnit)
	out, _ := exec.Command(analyze, append(append([]string{"verify", "--man=no"}, units...), timers...)...).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.Contains(line, "is not executable: No such file or directory") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// testCert writes a self-signed certificate and key for host into dir.
func testCert(t *testing.T, dir, host string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o644)
	return certFile, keyFile
}

// replaceOnce replaces old by new in s, failing unless old occurs
// exactly once: the test must notice when the example changes shape.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("deploy/nginx.conf has %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// clientFrom returns a client that connects from the loopback address ip,
// as people on the internet come from theirs.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:     d.DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "calendar.example.org"},
	}}
}

// twentySignUps signs up twenty people through the proxy at public, each
// from their own address: serve (at base) must accept them all.
func twentySignUps(t *testing.T, proxy, public, base string) {
	t.Helper()
	for i := range 20 {
		ip := fmt.Sprintf("127.0.0.%d", 10+i)
		if code := signUp(t, clientFrom(ip), public, fmt.Sprintf("person%d@example.org", i)); code != http.StatusSeeOther {
			t.Fatalf("sign-up %d from %s through %s = %d, want 303 (accepted)", i+1, ip, proxy, code)
		}
	}
	if got := sample(t, base, `convene_signups_refused_total{limit="client"}`); got > 0 {
		t.Errorf("%v sign-ups refused through %s", got, proxy)
	}
}

// getStatus answers a GET of url by c: the status, and the body with the
// Location header, if any, as its first line.
func getStatus(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location") + "\n" + string(b)
}

// startProxy starts cmd, a reverse proxy, until the test ends; when the
// test fails it logs the proxy's output and its log file, if any.
func startProxy(t *testing.T, cmd *exec.Cmd, logFile string) {
	t.Helper()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			var b []byte
			if logFile != "" {
				b, _ = os.ReadFile(logFile)
			}
			t.Logf("%s:\n%s%s", filepath.Base(cmd.Path), out, b)
		}
	})
}

// TestNginxExample runs Debian's nginx with deploy/nginx.conf, as the
// README installs it but on loopback ports with a test certificate, in
// front of serve with the client-IP header of deploy/convene.env. Twenty
// people sign up, each from their own address: all are accepted. The
// world gets no /metrics; port 80 serves the ACME challenge and sends
// everything else to https.
func TestNginxExample(t *testing.T) {
	nginx := needProgram(t, "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
	base, _ := startServe(t, dir, "--client-ip-header", envValue(t, "CONVENE_CLIENT_IP_HEADER"))
	upstream := strings.TrimPrefix(base, "http://")

	// nginx runs as nobody when the test runs as root: give it a prefix
	// it can write.
	prefix, err := os.MkdirTemp("", "convene-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(prefix) })
	os.MkdirAll(filepath.Join(prefix, "tmp"), 0o777)
	os.MkdirAll(filepath.Join(prefix, "www", ".well-known", "acme-challenge"), 0o755)
	os.WriteFile(filepath.Join(prefix, "www", ".well-known", "acme-challenge", "token"), []byte("challenge answer"), 0o644)
	os.Chmod(prefix, 0o777)
	os.Chmod(filepath.Join(prefix, "tmp"), 0o777)
	cert, key := testCert(t, prefix, "calendar.example.org")
	httpAddr, httpsAddr := freePort(t), freePort(t) // 127.0.0.1:port

	site := deployFile(t, "nginx.conf")
	site = replaceOnce(t, site, "listen 80;", "listen "+httpAddr+";")
	site = replaceOnce(t, site, "listen [::]:80;", "")
	site = replaceOnce(t, site, "listen 443 ssl http2;", "listen "+httpsAddr+" ssl http2;")
	site = replaceOnce(t, site, "listen [::]:443 ssl http2;", "")
	site = replaceOnce(t, site, "/etc/letsencrypt/live/calendar.example.org/fullchain.pem", cert)
	site = replaceOnce(t, site, "/etc/letsencrypt/live/calendar.example.org/privkey.pem", key)
	site = replaceOnce(t, site, "root /var/www/html;", "root "+filepath.Join(prefix, "www")+";")
	site = replaceOnce(t, site, "proxy_pass http://127.0.0.1:8080;", "proxy_pass http://"+upstream+";")
	os.WriteFile(filepath.Join(prefix, "convene.conf"), []byte(site), 0o644)
	tmp := filepath.Join(prefix, "tmp")
	conf := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
daemon off;
events { worker_connections 128; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	include %[1]s/convene.conf;
}
`, prefix, tmp)
	os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(conf), 0o644)
	args := []string{nginx, "-p", prefix, "-c", filepath.Join(prefix, "nginx.conf"), "-e", filepath.Join(prefix, "error.log")}
	if os.Geteuid() == 0 {
		// Unprivileged, as the README's readers would not test as root.
		args = append([]string{needProgram(t, "setpriv"), "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, args...)
	}
	startProxy(t, exec.Command(args[0], args[1:]...), filepath.Join(prefix, "error.log"))

	public := "https://" + httpsAddr
	waitFor(t, "nginx answers", func() bool {
		resp, err := clientFrom("127.0.0.1").Get(public + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})

	twentySignUps(t, "nginx", public, base)

	c := clientFrom("127.0.0.2")
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tt := range []struct {
		url  string
		want int
		body string
	}{
		{public + "/metrics", 404, ""},
		{public + "/calendar.ics", 200, "BEGIN:VCALENDAR"},
		{base + "/metrics", 200, "convene_build_info"},
		{"http://" + httpAddr + "/calendar.ics", 301, "https://"},
		{"http://" + httpAddr + "/.well-known/acme-challenge/token", 200, "challenge answer"},
	} {
		code, body := getStatus(t, c, tt.url)
		if code != tt.want || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s = %d, want %d with %q", tt.url, code, tt.want, tt.body)
		}
	}
}

// TestGitPullScript runs deploy/convene-pull on a real git repository:
// a good push reaches the served file, a bad one never does.
func TestGitPullScript(t *testing.T) {
	git := needProgram(t, "git")
	needProgram(t, "sh")
	dir := t.TempDir()
	env := append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
	gitIn := func(wd string, args ...string) {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir, cmd.Env = wd, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	upstream, work, clone := filepath.Join(dir, "upstream.git"), filepath.Join(dir, "work"), filepath.Join(dir, "clone")
	served := filepath.Join(dir, "etc", "events.toml")
	os.MkdirAll(filepath.Dir(served), 0o755)
	gitIn(dir, "init", "-q", "--bare", "-b", "main", upstream)
	gitIn(dir, "clone", "-q", upstream, work)
	push := func(text, msg string) {
		t.Helper()
		os.WriteFile(filepath.Join(work, "events.toml"), []byte(text), 0o644)
		gitIn(work, "add", "events.toml")
		gitIn(work, "commit", "-q", "-m", msg)
		gitIn(work, "push", "-q", "origin", "HEAD:main")
	}
	push(e2eSchedule, "first")
	gitIn(dir, "clone", "-q", upstream, clone)

	script := filepath.Join(repoRoot(t), "deploy", "convene-pull")
	pull := func() (string, error) {
		cmd := exec.Command(script, clone, served)
		cmd.Env = append(env, "PATH="+convenePath(t))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	servedText := func() string { b, _ := os.ReadFile(served); return string(b) }

	if out, err := pull(); err != nil || !strings.Contains(out, "updated to commit") || servedText() != e2eSchedule {
		t.Fatalf("first pull: %v\n%s", err, out)
	}
	bad := strings.Replace(e2eSchedule, "start = 2024-07-16T20:00:00", "start = 2024-03-10T02:30:00", 1)
	push(bad, "a bad edit")
	out, err := pull()
	if err == nil || !strings.Contains(out, "keeps the last good schedule") || !strings.Contains(out, "events.toml:10: sessions[0].start") {
		t.Errorf("pull of a bad commit = %v\n%s\nwant a failure naming the problem", err, out)
	}
	if servedText() != e2eSchedule {
		t.Fatal("a bad push reached the served file")
	}
	good := strings.Replace(e2eSchedule, `title = "Introduction"`, `title = "Introduction, again"`, 1)
	push(good, "fixed")
	if out, err := pull(); err != nil || servedText() != good {
		t.Fatalf("pull after the fix: %v\n%s", err, out)
	}
	if out, err := pull(); err != nil || out != "" {
		t.Errorf("pull with nothing new = %v, %q; want silence", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(served), ".convene-pull.*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestReadmeShowsDeployFiles: the proxy examples in the README are the
// files in deploy/, which the tests above run.
func TestReadmeShowsDeployFiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nginx.conf", "Caddyfile"} {
		if body := strings.TrimRight(deployFile(t, name), "\n"); !strings.Contains(string(b), "```nginx\n"+body+"\n```") && !strings.Contains(string(b), "```\n"+body+"\n```") {
			t.Errorf("README.md does not show deploy/%s as it is", name)
		}
	}
}

// TestCaddyExample runs Debian's caddy with deploy/Caddyfile, on a
// loopback port over plain HTTP (Caddy's own certificates are its
// business), in front of serve: twenty people sign up from twenty
// addresses, all accepted, and the world gets no /metrics.
func TestCaddyExample(t *testing.T) {
	caddy := needProgram(t, "caddy")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events.toml"), []byte(e2eSchedule), 0o644)
	base, _ := startServe(t, dir, "--client-ip-header", envValue(t, "CONVENE_CLIENT_IP_HEADER"))
	addr := freePort(t)
	conf := deployFile(t, "Caddyfile")
	if n := strings.Count(conf, "calendar.example.org {"); n != 1 {
		t.Fatalf("deploy/Caddyfile has its site %d times, want once", n)
	}
	conf = strings.Replace(conf, "calendar.example.org {", "http://"+addr+" {", 1)
	conf = strings.Replace(conf, "reverse_proxy 127.0.0.1:8080", "reverse_proxy "+strings.TrimPrefix(base, "http://"), 1)
	public := runCaddy(t, caddy, conf, addr)
	twentySignUps(t, "caddy", public, base)
	if code, _ := getStatus(t, http.DefaultClient, public+"/metrics"); code != 404 {
		t.Errorf("GET /metrics through caddy = %d, want 404", code)
	}
	if code, body := getStatus(t, http.DefaultClient, public+"/calendar.ics"); code != 200 || !strings.Contains(body, "BEGIN:VCALENDAR") {
		t.Errorf("GET /calendar.ics through caddy = %d", code)
	}
}

// runCaddy runs caddy with the Caddyfile conf (its admin endpoint off)
// and the environment env until the test ends, and returns the base URL
// of its site at addr once it answers.
func runCaddy(t *testing.T, caddy, conf, addr string, env ...string) string {
	t.Helper()
	home := t.TempDir()
	file := filepath.Join(home, "Caddyfile")
	os.WriteFile(file, []byte("{\n\tadmin off\n}\n\n"+conf), 0o644)
	cmd := exec.Command(caddy, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home), env...)
	startProxy(t, cmd, "")
	public := "http://" + addr
	waitFor(t, "caddy answers", func() bool {
		resp, err := http.Get(public + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return public
}
