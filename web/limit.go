package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// limiter is a token bucket per client: burst requests at once, then one
// more every every. Memory is bounded by dropping the buckets that are
// full again whenever the map grows past maxClients.
type limiter struct {
	burst int
	every time.Duration
	mu    sync.Mutex
	seen  map[string]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const maxClients = 10000

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: burst, every: every, seen: map[string]bucket{}}
}

// allow takes one token from client's bucket at time now.
func (l *limiter) allow(client string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) >= maxClients {
		for k, b := range l.seen {
			if l.fill(b, now) >= float64(l.burst) {
				delete(l.seen, k)
			}
		}
	}
	b, ok := l.seen[client]
	if !ok {
		b = bucket{tokens: float64(l.burst), last: now}
	}
	b.tokens, b.last = l.fill(b, now), now
	if b.tokens < 1 {
		l.seen[client] = b
		return false
	}
	b.tokens--
	l.seen[client] = b
	return true
}

func (l *limiter) fill(b bucket, now time.Time) float64 {
	t := b.tokens + float64(now.Sub(b.last))/float64(l.every)
	return min(t, float64(l.burst))
}

// remoteClient names the client of r by its address: the host of
// RemoteAddr, and for IPv6 its /64, which one subscriber usually holds
// whole.
func remoteClient(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return clientOf(host)
}

func clientOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// HeaderClient returns a func that names the client by the last address
// in header (X-Forwarded-For, X-Real-IP), as set by a reverse proxy in
// front of convene, and by RemoteAddr when the header is missing.
func HeaderClient(header string) func(*http.Request) string {
	return func(r *http.Request) string {
		vs := r.Header.Values(header)
		if len(vs) == 0 {
			return remoteClient(r)
		}
		last := vs[len(vs)-1]
		for i := len(last) - 1; i >= 0; i-- {
			if last[i] == ',' {
				last = last[i+1:]
				break
			}
		}
		return clientOf(strings.TrimSpace(last))
	}
}
