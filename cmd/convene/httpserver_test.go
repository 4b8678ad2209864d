package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startLimited serves h on 127.0.0.1 with limits l, as serve does.
func startLimited(t *testing.T, h http.Handler, l httpLimits) (addr string, lim *connLimiter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServerWith(h, slog.New(slog.DiscardHandler), l)
	ln = limitConns(ln, srv, l.MaxConns)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), ln.(*connLimiter)
}

func healthz() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

// TestHTTPServerFlood opens thousands of idle keep-alive connections, each
// after one request, and checks that the server holds no more than its
// cap and that /healthz still answers at once.
func TestHTTPServerFlood(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// Both ends of each connection are in this process.
	flood := min(2000, int(lim.Cur-200)/2)
	if flood < 400 {
		t.Skipf("skipped: %d file descriptors allow no flood", lim.Cur)
	}
	l := defaultHTTPLimits
	l.MaxConns = flood / 4
	addr, limiter := startLimited(t, healthz(), l)

	conns := make([]net.Conn, 0, flood)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	answered := 0
	for range flood {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: flood\r\n\r\n")
		// A connection refused or closed to make room reads EOF.
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			resp.Body.Close()
			answered++
		}
	}
	if n := limiter.open(); n > l.MaxConns {
		t.Errorf("server holds %d connections, want at most %d", n, l.MaxConns)
	}
	if answered < l.MaxConns {
		t.Errorf("%d of %d flood requests answered, want at least the cap %d", answered, flood, l.MaxConns)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for i := range 3 {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("/healthz during a flood of %d idle connections (try %d): %v", flood, i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/healthz during a flood: %s", resp.Status)
		}
	}
	t.Logf("%d connections, cap %d, %d answered, %d held open", flood, l.MaxConns, answered, limiter.open())
}

// TestHTTPServerSlowClients checks that a trickled body and a client that
// never reads its response are cut off by the timeouts.
func TestHTTPServerSlowClients(t *testing.T) {
	written := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subscribe", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /calendar.ics", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("BEGIN:VEVENT\r\n", 4096))
		for {
			if _, err := w.Write(chunk); err != nil {
				written <- err
				return
			}
		}
	})
	l := defaultHTTPLimits
	l.ReadHeader, l.Read, l.Write = 300*time.Millisecond, 600*time.Millisecond, 600*time.Millisecond
	addr, _ := startLimited(t, mux, l)

	// A body trickled one byte every 100ms is cut at the read timeout.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	start := time.Now()
	for {
		if _, err := c.Write([]byte("a")); err != nil {
			break
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // closed by the server
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("a trickled body is still read after %v", time.Since(start))
		}
	}
	t.Logf("trickled body cut after %v", time.Since(start).Round(time.Millisecond))

	// A client that never reads: the server's write fails at the write
	// timeout instead of blocking forever.
	r, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(r, "GET /calendar.ics HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-written:
		t.Logf("write to a client that never reads: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the server still writes to a client that never reads after 5s")
	}
}

// TestHTTPServerDefaults checks that serve's server has every limit set.
// TestConnCap: under a low open-file limit (1024, the hard limit of some
// containers and of LimitNOFILE=1024) the cap stays below it, so that a
// flood is met by closing idle connections, not by accept failing with
// "too many open files" while /healthz goes unanswered (issue 8 item 7).
func TestConnCap(t *testing.T) {
	for _, c := range []struct {
		max    int
		nofile uint64
		want   int
	}{
		{1024, 524288, 1024},
		{1024, 1024 + fdReserve, 1024},
		{1024, 1024, 1024 - fdReserve},
		{1024, 256, 256 - fdReserve},
		{1024, 20, 16},
	} {
		if got := connCap(c.max, c.nofile); got != c.want {
			t.Errorf("connCap(%d, %d) = %d, want %d", c.max, c.nofile, got, c.want)
		}
	}
}

func TestHTTPServerDefaults(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("newHTTPServer leaves a limit unset: %+v", srv)
	}
	if defaultHTTPLimits.MaxConns <= 0 {
		t.Errorf("no connection cap")
	}
}
