package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/mailer"
	"github.com/convene/convene/metrics"
	"github.com/convene/convene/reload"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

// serveConfig is every setting of serve.
type serveConfig struct {
	config, state, addr string
	logFormat, logLevel string
	mail                *mailConfig // mail.go
	web                 *webConfig  // web.go
}

func addServeFlags(fs *flag.FlagSet) *serveConfig {
	c := &serveConfig{}
	fs.StringVar(&c.config, "config", "events.toml", "the schedule file")
	fs.StringVar(&c.state, "state", "convene.db", "the state: a SQLite file, or a postgres:// URL shared by several serve processes")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "the address to listen on")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	c.mail = addMailFlags(fs)
	c.web = addWebFlags(fs)
	return c
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	c := addServeFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return usageError{err}
	}
	d, err := openDaemon(ctx, c, logger)
	if err != nil {
		return err
	}
	err = d.run(ctx)
	if cerr := d.close(); err == nil {
		err = cerr
	}
	return err
}

// daemon is a running `convene serve`: every service it built, in the
// order openDaemon built them.
type daemon struct {
	log      *slog.Logger
	config   string
	store    *store.Store
	memory   *memoryPolicy
	metrics  *metrics.Metrics
	feeds    *feed.Handler
	worker   *mailer.Worker
	page     *web.Server
	reloads  *reload.Pipeline
	listener net.Listener
	http     *http.Server
}

// openDaemon builds the services of serve, each from the ones before it,
// and opens the port at once: /healthz answers from here on, and the
// feeds and /readyz answer 503 until run has loaded the schedule. On
// error it closes what it opened.
func openDaemon(ctx context.Context, c *serveConfig, log *slog.Logger) (d *daemon, err error) {
	d = &daemon{log: log, config: c.config}
	opened := d // an error return sets d to nil
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	if d.store, err = store.OpenExclusive(c.state); err != nil { // one serve per state
		return nil, err
	}
	d.memory = newMemoryPolicy(os.Getenv("GOMEMLIMIT"), log) // memory.go
	d.metrics = metrics.New(version)
	d.metrics.WatchOutbox(d.store, probeTimeout)
	d.feeds = &feed.Handler{Observe: d.metrics.FeedServed}

	t, where, err := c.mail.transport() // mail.go
	if err != nil {
		return nil, err
	}
	if store.IsPostgres(c.state) {
		if err := c.mail.checkLease(); err != nil {
			t.Close()
			return nil, err
		}
	}
	rcpts := &recipientList{store: d.store}                                               // gets the page's unsubscribe links below
	if d.worker, err = newWorker(c.mail, d.store, t, rcpts, d.metrics, log); err != nil { // closes t when it stops
		t.Close()
		return nil, err
	}
	if d.page, err = newPage(ctx, c.web, d.store, d.worker, d.metrics, c.addr, log); err != nil { // web.go
		return nil, err
	}
	rcpts.unsubscribeURL = d.page.UnsubscribeURL

	d.reloads, err = reload.New(reload.Config{
		Path: c.config, Store: d.store, Feeds: d.feeds, Page: reload.WebPage(d.page), Mailer: d.worker,
		Log: log, Reloaded: d.metrics.Reloaded, Memory: d.memory,
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /calendar.ics", d.feeds)
	mux.Handle("GET /series/", d.feeds)
	mux.Handle("GET /sessions/", d.feeds)
	routeOps(mux, d.metrics, d.reloads, d.store, c.state, log) // ops.go
	d.page.Register(mux)

	if d.listener, err = net.Listen("tcp", c.addr); err != nil {
		return nil, err
	}
	d.http = newHTTPServer(mux, log) // httpserver.go
	d.listener = limitConns(d.listener, d.http, defaultHTTPLimits.MaxConns)
	log.Info("listening", "addr", d.listener.Addr().String(), "config", c.config, "state", store.Redact(c.state))
	log.Info(c.mail.destination(where))
	checkSMTP(ctx, t, log) // mail.go
	return d, nil
}

// run serves until ctx ends: HTTP at once, then the first load of the
// schedule, the watcher and the reminder worker.
func (d *daemon) run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- d.http.Serve(d.listener) }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		d.reloads.Run(bg, hup)
	})
	wg.Go(func() {
		select { // reminders are built from a loaded schedule
		case <-d.reloads.Loaded():
		case <-bg.Done():
			return
		}
		if err := d.worker.Run(bg); err != nil {
			d.log.Error("reminder worker stopped", "err", err)
		}
	})

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		d.log.Info("shutting down")
		shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = d.http.Shutdown(shutCtx)
		cancel()
	}
	stop()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// close closes what openDaemon opened, in reverse order.
func (d *daemon) close() error {
	if d.http != nil {
		d.http.Close()
	} else if d.listener != nil {
		d.listener.Close()
	}
	if d.page != nil {
		d.page.Close() // waits for confirmation mails in flight
	}
	if d.memory != nil {
		d.memory.Close()
	}
	if d.store != nil {
		return d.store.Close()
	}
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}
