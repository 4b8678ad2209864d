// Package bench measures convene as an operator sees it: feed serving
// beside a bare net/http handler, rendering and reload time, resident
// memory, and load from 500 clients. Run it with `make bench`. The
// benchmarks that drive HTTP load need wrk (Debian: apt-get install wrk)
// and skip without it.
package bench

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// writeSchedule writes an events.toml with n one-off sessions, one a day
// ending 20 days from now, in three zones, plus four series, and returns
// its path. name goes into [calendar].name, so that a new name is an edit
// that changes every feed.
func writeSchedule(tb testing.TB, dir string, n int, name string) string {
	tb.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `[calendar]
name = %q
description = "A generated schedule for benchmarks."
timezone = "America/New_York"
url = "https://convene.example.org"
duration = "1h30m"
location = "https://meet.jit.si/ConveneBenchmark"
organizer = { name = "Bench Committee", email = "bench@example.org" }

[reminders]
before = ["24h", "1h"]
from = "Bench <reminders@example.org>"
recipients = ["list@example.org"]
`, name)
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Tokyo"}
	first := time.Now().AddDate(0, 0, 20-n)
	for i := range n {
		day := first.AddDate(0, 0, i)
		fmt.Fprintf(&b, `
[[sessions]]
id = "s%05d"
title = "Session %d"
start = %s
timezone = %q
reading = "Mutual Aid, chapter %d"
facilitator = "Facilitator %d"
description = "Generated session %d.\nA second line."
links = [{ title = "Notes", url = "https://example.org/notes/%d" }]
`, i, i, day.Format("2006-01-02")+"T20:00:00", zones[i%len(zones)], i%12+1, i%7, i, i)
	}
	for i, z := range zones {
		fmt.Fprintf(&b, `
[[series]]
id = "series-%d"
title = "Series %d"
start = 2023-07-30T20:00:00
timezone = %q
rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU"
skip = [2023-08-27]

[[series.changes]]
occurrence = 2023-09-10
start = 2023-09-10T19:00:00
title = "Moved meeting"
`, i, i, z)
	}
	b.WriteString(`
[[series]]
id = "monthly"
title = "Monthly meeting"
start = 2024-01-03T18:00:00
rrule = "FREQ=MONTHLY;BYDAY=1WE;COUNT=60"
`)
	path := filepath.Join(dir, "events.toml")
	writeAtomic(tb, path, []byte(b.String()))
	return path
}

// writeAtomic replaces path as editors do: a new file renamed over it.
func writeAtomic(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// addSubscribers inserts n rows into the subscribers table directly,
// filling each column that needs a value from its declared type.
func addSubscribers(tb testing.TB, st *store.Store, n int) error {
	tb.Helper()
	db := st.DB()
	rows, err := db.Query(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('subscribers')`)
	if err != nil {
		return err
	}
	var cols []string
	var gens []func(i int) any
	for rows.Next() {
		var name, typ string
		var notnull, pk int
		var dflt sql.NullString
		if err := rows.Scan(&name, &typ, &notnull, &dflt, &pk); err != nil {
			rows.Close()
			return err
		}
		if pk == 1 && strings.EqualFold(typ, "INTEGER") {
			continue
		}
		cols = append(cols, name)
		gens = append(gens, columnValue(name, strings.ToUpper(typ)))
	}
	rows.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	q := `INSERT INTO subscribers DEFAULT VALUES`
	if len(cols) > 0 {
		q = `INSERT INTO subscribers (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	}
	stmt, err := tx.Prepare(q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range n {
		args := make([]any, len(gens))
		for j, g := range gens {
			args[j] = g(i)
		}
		if _, err := stmt.Exec(args...); err != nil {
			return fmt.Errorf("insert subscriber (%s): %w", strings.Join(cols, ", "), err)
		}
	}
	return tx.Commit()
}

func columnValue(name, typ string) func(int) any {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "email") || strings.Contains(n, "address"):
		return func(i int) any { return fmt.Sprintf("member%d@example.org", i) }
	case strings.Contains(n, "zone") || n == "tz":
		return func(i int) any { return []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo"}[i%3] }
	case strings.Contains(n, "status") || strings.Contains(n, "state"):
		return func(int) any { return "confirmed" }
	case strings.Contains(n, "confirmed") || strings.Contains(n, "created") || strings.HasSuffix(n, "_at"):
		if strings.Contains(typ, "INT") {
			return func(int) any { return time.Now().Unix() }
		}
		return func(int) any { return time.Now().UTC().Format(time.RFC3339) }
	case strings.Contains(typ, "INT") || strings.Contains(typ, "REAL"):
		return func(i int) any { return 0 }
	case strings.Contains(typ, "BLOB"):
		return func(i int) any { return []byte(fmt.Sprintf("%s-%d", n, i)) }
	}
	return func(i int) any { return fmt.Sprintf("%s-%d", n, i) }
}

// needWrk returns the path of wrk, or skips.
func needWrk(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("wrk")
	if err != nil {
		tb.Skip("wrk is not installed (Debian: apt-get install wrk); skipping the HTTP load benchmark")
	}
	return p
}

// wrkResult is what one wrk run printed.
type wrkResult struct {
	RPS      float64       // requests per second
	Requests int           // requests completed
	Errors   int           // socket errors plus non-2xx/3xx answers
	P99      time.Duration // 99th percentile latency
	Out      string
}

var (
	rpsRe      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	requestsRe = regexp.MustCompile(`(\d+) requests in`)
	socketRe   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	non2xxRe   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	p99Re      = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
)

// runWrk loads url with conns connections for d, with the given headers.
func runWrk(tb testing.TB, wrk, url string, conns int, d time.Duration, headers ...string) wrkResult {
	tb.Helper()
	threads := min(runtime.NumCPU(), conns)
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency", "--timeout", "10s"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var r wrkResult
	r.Out = string(out)
	m := rpsRe.FindStringSubmatch(r.Out)
	if m == nil {
		tb.Fatalf("wrk printed no Requests/sec:\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := requestsRe.FindStringSubmatch(r.Out); m != nil {
		r.Requests, _ = strconv.Atoi(m[1])
	}
	if m := socketRe.FindStringSubmatch(r.Out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.Errors += n
		}
	}
	if m := non2xxRe.FindStringSubmatch(r.Out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.Errors += n
	}
	if m := p99Re.FindStringSubmatch(r.Out); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
		r.P99 = time.Duration(v * float64(unit))
	}
	return r
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// buildConvene builds the command once per test binary run.
func buildConvene(tb testing.TB) string {
	tb.Helper()
	if builtConvene != "" {
		return builtConvene
	}
	dir, err := os.MkdirTemp("", "convene-bench-bin")
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "convene")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/convene/convene/cmd/convene")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	builtConvene = bin
	return bin
}

var builtConvene string

// daemon is a running `convene serve`.
type daemon struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	log  *os.File
}

// startServe runs `convene serve` on a free port and waits until /readyz
// answers 200.
func startServe(tb testing.TB, config, state string, env ...string) *daemon {
	tb.Helper()
	bin := buildConvene(tb)
	port := freePort(tb)
	logf, err := os.Create(filepath.Join(tb.TempDir(), "serve.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", config, "--state", state, "--addr", "127.0.0.1:"+strconv.Itoa(port), "--log-level", "warn")
	cmd.Dir = filepath.Dir(config)
	cmd.Env = append(os.Environ(), "CONVENE_OUTBOX="+filepath.Join(filepath.Dir(config), "outbox"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	d := &daemon{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), log: logf}
	tb.Cleanup(d.stop)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(d.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	logs, _ := os.ReadFile(logf.Name())
	tb.Fatalf("convene serve did not become ready:\n%s", logs)
	return nil
}

func (d *daemon) stop() {
	if d.cmd.Process != nil && d.cmd.ProcessState == nil {
		d.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
	}
	d.log.Close()
}

// residentMemory is the resident memory of a process, in bytes: all of
// it, its peak, and the anonymous (heap, stacks, SQLite's page cache)
// and file-backed (the binary's pages) parts of it.
type residentMemory struct{ rss, peak, anon, file int64 }

// rss returns the resident memory of the process.
func (d *daemon) rss(tb testing.TB) residentMemory {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		tb.Skipf("cannot read the resident memory: %v", err)
	}
	var m residentMemory
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				m.rss = n * 1024
			case "VmHWM:":
				m.peak = n * 1024
			case "RssAnon:":
				m.anon = n * 1024
			case "RssFile:":
				m.file = n * 1024
			}
		}
	}
	return m
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
