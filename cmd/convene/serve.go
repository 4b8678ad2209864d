package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/metrics"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	config := fs.String("config", "events.toml", "the schedule file")
	state := fs.String("state", "convene.db", "the state file (SQLite)")
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	mail := addMailFlags(fs) // mail.go
	webc := addWebFlags(fs)  // web.go
	if err := parse(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return usageError{err}
	}
	st, err := store.Open(*state)
	if err != nil {
		return err
	}
	defer st.Close()

	d := &daemon{config: *config, store: st, log: logger}
	newMetrics(d)
	worker, runMail, err := startMail(d, mail)
	if err != nil {
		return err
	}
	page, err := startWeb(ctx, d, worker, webc, *addr) // web.go
	if err != nil {
		return err
	}
	defer page.Close()
	if err := d.reload(ctx); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /calendar.ics", &d.feeds)
	mux.Handle("GET /series/", &d.feeds)
	mux.Handle("GET /sessions/", &d.feeds)
	routeOps(mux, d, logger)
	page.Register(mux)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("listening", "addr", ln.Addr().String(), "config", *config, "state", *state)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	watchCtx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.watch(watchCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); runMail(watchCtx) }()

	select {
	case err = <-served:
	case <-ctx.Done():
		logger.Info("shutting down")
		shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
	}
	stopWatch()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// daemon holds what serve rebuilds on every reload of events.toml.
type daemon struct {
	config  string
	store   *store.Store
	log     *slog.Logger
	feeds   feed.Handler
	metrics *metrics.Metrics // see ops.go
	// unsubscribeURL makes a subscriber's link for reminders (web.go).
	unsubscribeURL func(*schedule.Schedule, store.Subscriber) string
	mu             sync.Mutex // one reload at a time
	// onLoad runs after every good load, in order, with the new
	// schedule and feeds: the reminders re-plan, the page refreshes.
	onLoad []func(context.Context, *schedule.Schedule, *feed.Set) error
}

// reload reads events.toml and swaps in the new feeds. On error the last
// good schedule stays in use.
func (d *daemon) reload(ctx context.Context) (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer func() { d.reloaded(err) }()
	s, err := schedule.Load(d.config)
	if err != nil {
		return err
	}
	set, err := feed.Render(ctx, s, d.store, time.Now())
	if err != nil {
		return fmt.Errorf("render feeds: %w", err)
	}
	d.feeds.Swap(set)
	for _, f := range d.onLoad {
		if err := f(ctx, s, set); err != nil {
			return err
		}
	}
	for _, w := range s.Warnings {
		d.log.Warn("schedule warning", "warning", w.Error())
	}
	d.log.Info("schedule loaded", "config", d.config, "sessions", len(s.Sessions), "series", len(s.Series), "etag", set.All.ETag)
	return nil
}

// watch reloads on SIGHUP and whenever events.toml changes. It watches
// the directory, so that editors that write a new file and rename it over
// the old one are seen too.
func (d *daemon) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var events <-chan fsnotify.Event
	if w, err := fsnotify.NewWatcher(); err != nil {
		d.log.Warn("cannot watch the schedule; reload with SIGHUP", "err", err)
	} else if err := w.Add(filepath.Dir(d.config)); err != nil {
		d.log.Warn("cannot watch the schedule; reload with SIGHUP", "err", err)
		w.Close()
	} else {
		defer w.Close()
		events = w.Events
	}
	base := filepath.Base(d.config)
	// Editors write in bursts; wait for quiet before reading.
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			d.log.Info("SIGHUP: reloading")
			settle.Reset(0)
		case ev := <-events:
			if filepath.Base(ev.Name) == base && !ev.Has(fsnotify.Chmod) {
				settle.Reset(50 * time.Millisecond)
			}
		case <-settle.C:
			if err := d.reload(ctx); err != nil {
				d.log.Error("reload failed; still serving the last good schedule", "config", d.config, "err", err)
			}
		}
	}
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
