package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/convene/convene/metrics"
	"github.com/convene/convene/store"
)

// probeTimeout bounds each readiness check and each outbox query that a
// scrape makes.
const probeTimeout = 2 * time.Second

// newMetrics returns the metrics of d and makes its feeds count every
// answer and exports the reminders in the outbox.
func newMetrics(d *daemon) *metrics.Metrics {
	m := metrics.New(version)
	d.feeds.Observe = m.FeedServed
	m.WatchOutbox(d.store, probeTimeout)
	d.metrics = m
	return m
}

// routeOps adds what an operator polls: /metrics (Prometheus), /healthz
// (liveness: the process answers) and /readyz (a schedule is loaded and
// the state file takes writes).
func routeOps(mux *http.ServeMux, d *daemon, log *slog.Logger) {
	mux.Handle("GET /metrics", d.metrics.Handler(log))
	mux.Handle("GET /healthz", metrics.Live())
	mux.Handle("GET /readyz", metrics.Ready(probeTimeout, readiness(d, d.store)...))
}

func readiness(d *daemon, st *store.Store) []metrics.Check {
	return []metrics.Check{
		{Name: "schedule", Func: func(context.Context) error {
			if !d.feeds.Loaded() {
				return errors.New("no schedule loaded")
			}
			return nil
		}},
		{Name: "store", Func: st.Writable},
	}
}

// reloaded counts one reload that ended with err. After a good one it
// hands the memory that rendering used back to the system: a render of a
// large schedule allocates many times the size of the feeds it keeps,
// and reloads are rare, so the resident size stays near what is served.
func (d *daemon) reloaded(err error) {
	if d.metrics != nil {
		d.metrics.Reloaded(err, time.Now())
	}
	if err == nil {
		debug.FreeOSMemory()
	}
}
