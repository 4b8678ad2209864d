// Package web serves a group's landing page (the schedule in the calendar
// zone and, by a small script, in the visitor's), the buttons that
// subscribe each calendar app to the feeds, the sign-up for reminders
// with double opt-in, and unsubscribe links that honour RFC 8058
// one-click POSTs.
//
// The page is rendered once per reload of the schedule (and again when a
// meeting ends); a request only copies it out with its CSRF value.
// Confirmation and unsubscribe links carry HMAC-signed tokens (see
// token.go) that name a random key in the store, never the address.
//
// routes.go holds the route table; each handler, or small group of
// handlers, has its own file; render.go writes every page, error pages
// included.
package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/convene/convene/store"
)

// Mailer sends the confirmation mail of a sign-up.
type Mailer interface {
	SendConfirmation(ctx context.Context, to, confirmURL string) error
}

// Store keeps the subscribers; *store.Store implements it.
type Store interface {
	SignUp(ctx context.Context, now time.Time, su store.SignUp, lim store.MailLimit) (bool, error)
	Confirm(ctx context.Context, now time.Time, nonce string) (store.Subscriber, error)
	SubscriberByKey(ctx context.Context, key string) (store.Subscriber, error)
	Unsubscribe(ctx context.Context, key string) error
	SetZone(ctx context.Context, key, zone string) error
}

var _ Store = (*store.Store)(nil)

// Config is what a Server needs. Store, Secret and Log are required.
type Config struct {
	Store  Store
	Mailer Mailer // nil: sign-ups are recorded but no mail goes out
	// Changed is called after a subscriber is confirmed, leaves or
	// changes zone, so that the reminders are planned again.
	Changed func(ctx context.Context)
	Secret  []byte // signs tokens and CSRF values; at least 16 bytes
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
	// BaseURL is the public URL of the service, used when the schedule
	// has no calendar.url.
	BaseURL string
	// ClientIP names the client of a request for the rate limit;
	// default its remote address (see HeaderClient behind a proxy).
	ClientIP func(*http.Request) string
	// IPBurst sign-ups at once per client, then one per IPEvery;
	// default 10, then one a minute.
	IPBurst int
	IPEvery time.Duration
	// AddressLimit caps confirmation mails per address; default 3 a day.
	AddressLimit store.MailLimit
	// Refused, if set, is called for each sign-up a limit turned away,
	// for metrics; the refusal is logged either way.
	Refused func(Limit)
	// ConfirmFor is how long a confirmation link works; default 48h.
	ConfirmFor time.Duration
}

// Limit names the limit that turned a sign-up away.
type Limit string

// The sign-up limits.
const (
	LimitClient  Limit = "client"  // IPBurst, then one per IPEvery, per client
	LimitAddress Limit = "address" // AddressLimit: the address had its mails
)

// UnsubscribeFor is how long an unsubscribe link works after the
// reminder that carries it was planned.
const UnsubscribeFor = 400 * 24 * time.Hour

// Limits on request bodies.
const (
	maxForm        = 8 << 10
	maxUnsubscribe = 1 << 10
	maxEmail       = 254
)

// Server serves the page and the sign-up. It is safe for use by several
// goroutines. Load a schedule before serving.
type Server struct {
	cfg      Config
	log      *slog.Logger
	tokens   tokens
	csrfKey  []byte
	ips      *limiter
	cop      *http.CrossOriginProtection
	pages    map[string]*template.Template
	sentinel string
	static   map[string]staticFile

	mu   sync.Mutex // one rebuild at a time
	cur  atomic.Pointer[view]
	sent sync.WaitGroup // confirmation mails in flight
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Log == nil {
		return nil, errors.New("web: Store and Log are required")
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("web: the secret must be at least 16 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteClient
	}
	if cfg.IPBurst == 0 {
		cfg.IPBurst, cfg.IPEvery = 10, time.Minute
	}
	if cfg.AddressLimit.Max == 0 {
		cfg.AddressLimit = store.MailLimit{Max: 3, Window: 24 * time.Hour}
	}
	if cfg.ConfirmFor == 0 {
		cfg.ConfirmFor = 48 * time.Hour
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	s := &Server{
		cfg:     cfg,
		log:     cfg.Log,
		tokens:  tokens{key: derive(cfg.Secret, "token")},
		csrfKey: derive(cfg.Secret, "csrf"),
		ips:     newLimiter(cfg.IPBurst, cfg.IPEvery),
		cop:     http.NewCrossOriginProtection(),
		pages:   map[string]*template.Template{},
		static:  map[string]staticFile{},
	}
	b := make([]byte, 12)
	rand.Read(b)
	s.sentinel = "csrf" + fmt.Sprintf("%x", b)
	for _, name := range []string{"index.html", "signup.html", "message.html", "year.html", "meeting.html", "series.html"} {
		t, err := template.New(name).ParseFS(files, "templates/layout.html", "templates/form.html", "templates/parts.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.pages[name] = t
	}
	for name, ctype := range map[string]string{"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8",
		"favicon.svg": "image/svg+xml"} {
		body, err := files.ReadFile("static/" + name)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.static[name] = newStaticFile(body, ctype)
	}
	return s, nil
}

// Close waits for the confirmation mails in flight.
func (s *Server) Close() { s.sent.Wait() }

func (s *Server) changed(ctx context.Context) {
	if s.cfg.Changed != nil {
		s.cfg.Changed(ctx)
	}
}
