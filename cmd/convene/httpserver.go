package main

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// httpLimits bound what one client can hold of the server: slow or
// silent clients are cut off by the timeouts, and a flood of connections
// by the cap.
type httpLimits struct {
	ReadHeader time.Duration // to read a request's headers (slowloris)
	Read       time.Duration // to read a whole request, body included (a trickled body)
	Write      time.Duration // from the end of the headers to the end of the response (a client that never reads)
	Idle       time.Duration // a keep-alive connection between requests
	MaxHeader  int           // bytes of request headers
	MaxConns   int           // open connections
}

// defaultHTTPLimits are documented in the README (Operate). Write leaves
// two minutes for the largest feed (7 MB for 10,000 sessions) over a slow
// link; MaxConns stays far below the file descriptors Go allows a process
// (it raises the soft limit to the hard one, 524288 under systemd).
var defaultHTTPLimits = httpLimits{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      2 * time.Minute,
	Idle:       60 * time.Second,
	MaxHeader:  64 << 10,
	MaxConns:   1024,
}

// newHTTPServer returns the server for handler with the default limits.
// Serve it on limitConns(ln, srv, defaultHTTPLimits.MaxConns).
func newHTTPServer(handler http.Handler, log *slog.Logger) *http.Server {
	return newHTTPServerWith(handler, log, defaultHTTPLimits)
}

func newHTTPServerWith(handler http.Handler, log *slog.Logger, l httpLimits) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeader,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// limitConns caps the connections that srv holds open on ln at max. A
// connection beyond the cap closes the one that has waited longest
// without a request in progress (idle between keep-alive requests, or
// new and not yet sending), so that a flood of idle connections cannot
// keep out a new client such as a health check; when every connection is
// busy with a request, the new one is closed at once. It sets
// srv.ConnState to follow the connections.
func limitConns(ln net.Listener, srv *http.Server, max int) net.Listener {
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err == nil {
		max = connCap(max, nofile.Cur)
	}
	l := &connLimiter{Listener: ln, max: max, conns: map[net.Conn]connInfo{}}
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		l.track(c, s)
		if next != nil {
			next(c, s)
		}
	}
	return l
}

// fdReserve is the file descriptors kept beside the connections: the
// state file and its journal (one set per pooled connection), the lock,
// the watcher, SMTP connections, the outbox directory.
const fdReserve = 128

// connCap is max, or fewer when the open-file limit nofile (which Go
// raises to the hard limit) leaves no room for max connections besides
// fdReserve: the cap must be reached before accept fails for want of a
// descriptor, or idle connections keep everyone out.
func connCap(max int, nofile uint64) int {
	if nofile < fdReserve+16 {
		return 16
	}
	return int(min(uint64(max), nofile-fdReserve))
}

type connLimiter struct {
	net.Listener
	max   int
	mu    sync.Mutex
	conns map[net.Conn]connInfo
}

type connInfo struct {
	state http.ConnState
	since time.Time // when it entered state
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.conns) >= l.max {
			victim := l.longestWaiting()
			if victim == nil {
				l.mu.Unlock()
				c.Close()
				continue
			}
			delete(l.conns, victim)
			victim.Close()
		}
		l.conns[c] = connInfo{state: http.StateNew, since: time.Now()}
		l.mu.Unlock()
		return c, nil
	}
}

// longestWaiting returns the connection without a request in progress
// that has waited longest, or nil.
func (l *connLimiter) longestWaiting() net.Conn {
	var victim net.Conn
	var since time.Time
	for c, in := range l.conns {
		if in.state != http.StateActive && (victim == nil || in.since.Before(since)) {
			victim, since = c, in.since
		}
	}
	return victim
}

func (l *connLimiter) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[c]; !ok {
		return // closed by Accept to make room
	}
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		l.conns[c] = connInfo{state: s, since: time.Now()}
	}
}

// open returns the number of connections held open.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
