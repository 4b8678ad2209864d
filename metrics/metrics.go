// Package metrics exposes what an operator of convene watches: Prometheus
// metrics (text exposition format, through prometheus/client_golang) with
// names starting convene_, and the liveness and readiness endpoints.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/convene/convene/store"
)

// Outbox reports the reminders by state and the age of the oldest one
// that is due but not sent. *store.Store implements it.
type Outbox interface {
	OutboxStats(ctx context.Context) (counts map[store.State]int, oldestOverdue time.Duration, err error)
}

// Metrics holds convene's collectors in a registry of its own, so that
// tests and several daemons in one process do not share counters. It is
// safe for use by several goroutines.
type Metrics struct {
	reg *prometheus.Registry

	feed                   *prometheus.CounterVec
	feedOK, feed304        prometheus.Counter
	reloads                *prometheus.CounterVec
	reloadOK, reloadFailed prometheus.Counter
	lastReload             prometheus.Gauge
	smtpErrors             *prometheus.CounterVec
	signUpsRefused         *prometheus.CounterVec
}

// gcCPU adds, to the Go collector's defaults, the CPU time the garbage
// collector and the scavenger (returning memory to the system) took, the
// CPU time available to the process and how much of it was idle
// (go_cpu_classes_{gc_total,scavenge_total,total,idle}_cpu_seconds_total):
// the share of the CPU used that went to the first two is the cost of
// serve's memory limit (README, "Operate").
var gcCPU = collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/cpu/classes/(gc/total|scavenge/total|idle|total):cpu-seconds$`)}

// New returns the metrics of one daemon of the given version, with the
// Go runtime and process collectors.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.feed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "convene_feed_requests_total",
		Help: "Feed requests (/calendar.ics, /series/*, /sessions/*) answered, by HTTP status.",
	}, []string{"status"})
	// Resolved once, so that counting a request is one atomic add.
	m.feedOK = m.feed.WithLabelValues("200")
	m.feed304 = m.feed.WithLabelValues("304")
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "convene_reloads_total",
		Help: "Loads of events.toml, by result (ok or failed).",
	}, []string{"result"})
	m.reloadOK = m.reloads.WithLabelValues("ok")
	m.reloadFailed = m.reloads.WithLabelValues("failed")
	m.lastReload = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "convene_last_reload_success_timestamp_seconds",
		Help: "Unix time of the last good load of events.toml.",
	})
	m.smtpErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "convene_smtp_errors_total",
		Help: "SMTP errors while sending reminders, by reply code (0: no reply, such as a dropped connection).",
	}, []string{"code"})
	m.signUpsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "convene_signups_refused_total",
		Help: "Sign-ups turned away by a limit: client (too many from one client address) or address (too many mails to one address).",
	}, []string{"limit"})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "convene_build_info",
		Help:        "Always 1; the version of convene running.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	m.reg.MustRegister(m.feed, m.reloads, m.lastReload, m.smtpErrors, m.signUpsRefused, build,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(gcCPU)), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format. A collector
// that fails (the outbox query) is logged and left out of that scrape.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// FeedServed counts one feed response. It does not allocate for 200 and
// 304, so it can sit in the feed's hot path.
func (m *Metrics) FeedServed(status int) {
	switch status {
	case http.StatusOK:
		m.feedOK.Inc()
	case http.StatusNotModified:
		m.feed304.Inc()
	default:
		m.feed.WithLabelValues(strconv.Itoa(status)).Inc()
	}
}

// Reloaded counts one load of events.toml that ended with err at time now.
func (m *Metrics) Reloaded(err error, now time.Time) {
	if err != nil {
		m.reloadFailed.Inc()
		return
	}
	m.reloadOK.Inc()
	m.lastReload.Set(float64(now.UnixNano()) / 1e9)
}

// SMTPError counts one SMTP error with its reply code (0 when the server
// gave none).
func (m *Metrics) SMTPError(code int) {
	m.smtpErrors.WithLabelValues(strconv.Itoa(code)).Inc()
}

// SignUpRefused counts one sign-up turned away by the named limit.
func (m *Metrics) SignUpRefused(limit string) {
	m.signUpsRefused.WithLabelValues(limit).Inc()
}

// WatchOutbox exports the reminders by state and the age of the oldest
// overdue one, read from o at each scrape (a scrape is seconds apart, and
// the query is a small aggregate).
func (m *Metrics) WatchOutbox(o Outbox, timeout time.Duration) {
	m.reg.MustRegister(&outboxCollector{o: o, timeout: timeout})
}

var (
	remindersDesc = prometheus.NewDesc("convene_reminders",
		"Outbox rows (reminders and notices), by state: pending, sending, sent, failed, expired.", []string{"state"}, nil)
	overdueDesc = prometheus.NewDesc("convene_reminders_oldest_overdue_seconds",
		"Age of the oldest reminder that is due and not yet sent; 0 when none.", nil, nil)
)

type outboxCollector struct {
	o       Outbox
	timeout time.Duration
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- remindersDesc
	ch <- overdueDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, overdue, err := c.o.OutboxStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(remindersDesc, err)
		return
	}
	for _, s := range store.States {
		ch <- prometheus.MustNewConstMetric(remindersDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, overdue.Seconds())
}
