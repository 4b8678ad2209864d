package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/convene/convene/metrics"
	"github.com/convene/convene/reload"
	"github.com/convene/convene/store"
)

// probeTimeout bounds each readiness check and each outbox query that a
// scrape makes.
const probeTimeout = 2 * time.Second

// routeOps adds what an operator polls: /metrics (Prometheus), /healthz
// (liveness: the process answers) and /readyz (a schedule is served and
// the state file takes writes; a failed reload is named while the last
// good schedule stays served).
func routeOps(mux *http.ServeMux, m *metrics.Metrics, p *reload.Pipeline, st *store.Store, log *slog.Logger) {
	mux.Handle("GET /metrics", m.Handler(log))
	mux.Handle("GET /healthz", metrics.Live())
	mux.Handle("GET /readyz", metrics.Ready(probeTimeout,
		metrics.Check{Name: "schedule", Func: p.Ready, Warning: p.Warning},
		metrics.Check{Name: "store", Func: st.Writable}))
}
