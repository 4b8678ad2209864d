package metrics

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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
// naming each one that does not. Each check gets at most timeout.
func Ready(timeout time.Duration, checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		var failed, warnings []string
		for _, c := range checks {
			if err := c.Func(ctx); err != nil {
				failed = append(failed, c.Name+": "+err.Error())
			} else if c.Warning != nil {
				if msg := c.Warning(); msg != "" {
					warnings = append(warnings, c.Name+": "+msg)
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
