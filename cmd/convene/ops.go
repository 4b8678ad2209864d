package main

import (
	"context"
	"fmt"
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
// the state, st opened from state, takes writes; a failed reload is named
// while the last good schedule stays served).
func routeOps(mux *http.ServeMux, m *metrics.Metrics, p *reload.Pipeline, st *store.Store, state string, log *slog.Logger) {
	mux.Handle("GET /metrics", m.Handler(log))
	mux.Handle("GET /healthz", metrics.Live())
	mux.Handle("GET /readyz", metrics.Ready(probeTimeout,
		metrics.Check{Name: "schedule", Func: p.Ready, Warning: p.Warning},
		metrics.Check{Name: "store", Func: writable(st, state)}))
}

// writable checks that the state takes writes. A PostgreSQL state is
// named in the answer (without its password), and given up on a little
// before the probe's own timeout, so that an unreachable database reads
// as that database not answering rather than as a bare "no answer".
func writable(st *store.Store, state string) func(context.Context) error {
	if !store.IsPostgres(state) {
		return st.Writable
	}
	name := store.Redact(state)
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout*9/10)
		defer cancel()
		if err := st.Writable(ctx); err != nil {
			return fmt.Errorf("database %s: %w", name, err)
		}
		return nil
	}
}
