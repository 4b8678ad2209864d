package metrics

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Live answers liveness probes: the process serves HTTP.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
}

// RetryAfter is the Retry-After of a 503 while the schedule loads, in
// seconds.
const RetryAfter = "1"

// Check is one condition of readiness; Func returns why it does not hold.
type Check struct {
	Name string
	Func func(ctx context.Context) error
	// Warning, if set, describes a trouble that does not stop the
	// service (a failed reload while the last good schedule is served):
	// the answer stays 200 and names it.
	Warning func() string
}

// Ready answers readiness probes: 200 when every check holds, else 503
// naming each one that does not. The answer comes within timeout even
// when a check ignores its context, as SQLite does while blocked in a
// system call on a frozen disk: such a check fails as "no answer", it
// finishes in the background, and until it does the next probes wait on
// it instead of starting another.
//
// A query ?exclude=NAME (repeatable, as Kubernetes' own /readyz takes it)
// leaves that check out: a load balancer in front of several replicas
// asks /readyz?exclude=store, so that a database they all share being
// down does not take every replica, and the feeds they still serve from
// memory, out of rotation at once. An unknown name answers 400.
func Ready(timeout time.Duration, checks ...Check) http.Handler {
	probes := make([]*probe, len(checks))
	names := make([]string, len(checks))
	for i, c := range checks {
		probes[i] = &probe{check: c}
		names[i] = c.Name
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		excluded := map[string]bool{}
		for _, name := range r.URL.Query()["exclude"] {
			if !slices.Contains(names, name) {
				http.Error(w, fmt.Sprintf("exclude=%s: no such check (the checks are %s)", name, strings.Join(names, ", ")), http.StatusBadRequest)
				return
			}
			excluded[name] = true
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		runs := make([]*run, len(probes))
		for i, p := range probes {
			if !excluded[p.check.Name] {
				runs[i] = p.start(timeout)
			}
		}
		var failed, warnings []string
		for i, p := range probes {
			if runs[i] == nil {
				continue
			}
			if err := runs[i].wait(ctx); err != nil {
				failed = append(failed, p.check.Name+": "+err.Error())
			} else if p.check.Warning != nil {
				if msg := p.check.Warning(); msg != "" {
					warnings = append(warnings, p.check.Name+": "+msg)
				}
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if len(failed) > 0 {
			w.Header().Set("Retry-After", RetryAfter)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready\n%s\n", strings.Join(append(failed, warnings...), "\n"))
			return
		}
		fmt.Fprintln(w, "ready")
		for _, msg := range warnings {
			fmt.Fprintln(w, msg)
		}
	})
}

// probe runs one check at most once at a time.
type probe struct {
	check Check
	mu    sync.Mutex
	last  *run
}

// run is one call of a check's Func.
type run struct {
	started time.Time
	done    chan struct{} // closed when err is set
	err     error
}

// start returns the run in progress, or starts one with its own timeout:
// a probe that gives up does not cancel the run that others wait on.
func (p *probe) start(timeout time.Duration) *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != nil {
		select {
		case <-p.last.done:
		default:
			return p.last
		}
	}
	r := &run{started: time.Now(), done: make(chan struct{})}
	p.last = r
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		r.err = p.check.Func(ctx)
		close(r.done)
	}()
	return r
}

func (r *run) wait(ctx context.Context) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("no answer after %v", time.Since(r.started).Round(100*time.Millisecond))
	}
}
