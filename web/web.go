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
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
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
	// ConfirmFor is how long a confirmation link works; default 48h.
	ConfirmFor time.Duration
}

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

// view is one rendering of the page and what its routes need.
type view struct {
	sched   *schedule.Schedule
	set     feedSet
	base    string
	parts   [][]byte // the landing page, split where the CSRF value goes
	ics     map[string][]byte
	series  map[string]bool
	expires time.Time
}

//go:embed templates static
var files embed.FS

type staticFile struct {
	body  []byte
	ctype string
	etag  string
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
	for _, name := range []string{"index.html", "signup.html", "message.html"} {
		t, err := template.New(name).ParseFS(files, "templates/layout.html", "templates/form.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.pages[name] = t
	}
	for name, ctype := range map[string]string{"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8"} {
		body, err := files.ReadFile("static/" + name)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		sum := sha256.Sum256(body)
		s.static[name] = staticFile{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	}
	return s, nil
}

// Load renders the page for a newly loaded schedule and its feeds. The
// daemon calls it after every good reload.
func (s *Server) Load(sched *schedule.Schedule, set *feed.Set) error {
	return s.rebuild(sched, set)
}

func (s *Server) rebuild(sched *schedule.Schedule, set feedSet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	base := sched.Calendar.URL
	if base == "" {
		base = s.cfg.BaseURL
	}
	data, occs, expires := build(sched, base, now, zoneList)
	data.CSRF = s.sentinel
	var buf bytes.Buffer
	if err := s.pages["index.html"].ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render page: %w", err)
	}
	v := &view{sched: sched, set: set, base: base, expires: expires,
		parts: bytes.Split(buf.Bytes(), []byte(s.sentinel)),
		ics:   map[string][]byte{}, series: map[string]bool{}}
	for key, o := range occs {
		v.ics[key] = set.Event(o)
	}
	for _, sr := range sched.Series {
		v.series[sr.ID] = true
	}
	s.cur.Store(v)
	return nil
}

// current returns the view, rendered again first when time has made it
// stale.
func (s *Server) current() *view {
	v := s.cur.Load()
	if v == nil || s.cfg.Now().Before(v.expires) {
		return v
	}
	if err := s.rebuild(v.sched, v.set); err != nil {
		s.log.Error("render page", "err", err)
		return v
	}
	return s.cur.Load()
}

// Close waits for the confirmation mails in flight.
func (s *Server) Close() { s.sent.Wait() }

// Register adds the routes of the page to mux. The feeds themselves
// (/calendar.ics, /series/{id}.ics, /sessions/{id}.ics) are served by
// feed.Handler.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.wrap(s.landing))
	mux.Handle("GET /static/{file}", s.wrap(s.staticFile))
	mux.Handle("GET /series/{id}/{file}", s.wrap(s.occurrenceICS))
	mux.Handle("POST /subscribe", s.wrap(s.subscribe))
	mux.Handle("GET /subscribe", http.RedirectHandler("/#signup", http.StatusSeeOther))
	mux.Handle("GET /subscribe/sent", s.wrap(s.subscribeSent))
	mux.Handle("GET /confirm/{token}", s.wrap(s.confirmPage))
	mux.Handle("POST /confirm/{token}", s.wrap(s.confirm))
	mux.Handle("GET /unsubscribe/{token}", s.wrap(s.unsubscribePage))
	mux.Handle("POST /unsubscribe/{token}", s.wrap(s.unsubscribe))
	mux.Handle("POST /zone/{token}", s.wrap(s.changeZone))
}

// csp allows only this site's script and style: session text that
// slipped past escaping still could not run.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		// Token URLs must not leak to the sites that pages link to.
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if s.cur.Load() == nil {
			http.Error(w, "no schedule loaded", http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	})
}

const csrfCookie = "convene_csrf"

func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	token := s.csrf(w, r, v)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-cache")
	for i, p := range v.parts {
		if i > 0 {
			io.WriteString(w, token)
		}
		w.Write(p)
	}
}

// csrf returns the CSRF value for the form on a page: an HMAC of a random
// value kept in a cookie (set here when missing), so that a page from
// another site can neither read nor forge it.
func (s *Server) csrf(w http.ResponseWriter, r *http.Request, v *view) string {
	nonce := ""
	if c, err := r.Cookie(csrfCookie); err == nil && validNonce(c.Value) {
		nonce = c.Value
	} else {
		b := make([]byte, nonceLen)
		rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: nonce, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(v.base, "https:")})
	}
	return s.csrfValue(nonce)
}

func (s *Server) csrfValue(nonce string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func validNonce(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == nonceLen
}

func (s *Server) csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validNonce(c.Value) {
		return false
	}
	return hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrfValue(c.Value)))
}

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Etag", f.etag)
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// occurrenceICS serves /series/{id}/{original}.ics: one occurrence of a
// series alone, with the UID and SEQUENCE it has in the feed.
func (s *Server) occurrenceICS(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	id, file := r.PathValue("id"), r.PathValue("file")
	when, ok := strings.CutSuffix(file, ".ics")
	if !ok || !v.series[id] {
		http.NotFound(w, r)
		return
	}
	body, ok := v.ics[id+"/"+when]
	if !ok {
		o, found := occurrence(v.sched, id, when)
		if !found {
			http.NotFound(w, r)
			return
		}
		body = v.set.Event(o)
	}
	sum := sha256.Sum256(body)
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+"-"+when+`.ics"`)
	w.Header().Set("Etag", `"`+base64.RawURLEncoding.EncodeToString(sum[:12])+`"`)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// readForm parses a urlencoded body of at most limit bytes, answering
// 413 or 400 itself when it cannot.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad form", http.StatusBadRequest)
		}
		return false
	}
	return true
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r, maxForm) {
		return
	}
	v := s.current()
	if err := s.cop.Check(r); err != nil {
		s.message(w, http.StatusForbidden, v, message{Title: "Sign-up refused",
			Text: []string{"The form was sent from another site."}})
		return
	}
	if !s.csrfOK(r) {
		s.message(w, http.StatusForbidden, v, message{Title: "Please try again",
			Text: []string{"The form had expired or your browser did not send its cookie. Reload the page and sign up again."},
			Back: true})
		return
	}
	now := s.cfg.Now()
	if !s.ips.allow(s.cfg.ClientIP(r), now) {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.IPEvery/time.Second)))
		s.message(w, http.StatusTooManyRequests, v, message{Title: "Too many sign-ups",
			Text: []string{"Too many sign-ups came from your network. Please wait a few minutes and try again."}})
		return
	}
	form := signupForm{Email: r.PostFormValue("email"), Zone: r.PostFormValue("zone"), Series: map[string]bool{}}
	series := r.PostForm["series"]
	for _, id := range series {
		form.Series[id] = true
	}
	email, err := ParseAddress(form.Email)
	var zone string
	if err == nil {
		var loc *time.Location
		loc, err = schedule.LoadZone(form.Zone)
		if err != nil {
			err = fmt.Errorf("%q is not a time zone we know; pick one from the list, such as Europe/London", form.Zone)
		} else {
			zone = loc.String()
		}
	}
	for _, id := range series {
		if err == nil && !v.series[id] {
			err = fmt.Errorf("there is no series %q", id)
		}
	}
	if err != nil {
		form.Error = err.Error()
		s.signupPage(w, r, http.StatusBadRequest, v, form)
		return
	}
	nonce := make([]byte, nonceLen)
	rand.Read(nonce)
	expires := now.Add(s.cfg.ConfirmFor)
	send, err := s.cfg.Store.SignUp(r.Context(), now, store.SignUp{Email: email, Zone: zone, Series: series,
		Nonce: base64.RawURLEncoding.EncodeToString(nonce), Expires: expires}, s.cfg.AddressLimit)
	if err != nil {
		s.log.Error("sign-up", "err", err)
		s.message(w, http.StatusInternalServerError, v, message{Title: "Something went wrong", Text: []string{"Please try again later."}})
		return
	}
	s.log.Info("sign-up", "mailed", send)
	if send {
		s.mail(r.Context(), email, v.base+"/confirm/"+s.tokens.make(confirmToken, nonce, expires))
	}
	// The same answer whether the address is new, known or limited.
	http.Redirect(w, r, "/subscribe/sent", http.StatusSeeOther)
}

// mail sends a confirmation without holding up the answer, so that its
// timing tells nothing either.
func (s *Server) mail(ctx context.Context, to, link string) {
	if s.cfg.Mailer == nil {
		s.log.Warn("no mailer configured: confirmation mail not sent")
		return
	}
	s.sent.Add(1)
	go func() {
		defer s.sent.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := s.cfg.Mailer.SendConfirmation(ctx, to, link); err != nil {
			s.log.Warn("confirmation mail not sent", "err", strings.ReplaceAll(err.Error(), to, "<address>"))
		}
	}()
}

// ParseAddress accepts a bare address (no display name, no comments, no
// quoted local part) and returns it with its domain in lower case.
func ParseAddress(s string) (string, error) {
	bad := fmt.Errorf("%q is not an email address", s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("please give an email address")
	}
	if len(s) > maxEmail || strings.ContainsAny(s, " \t\r\n\"(),:;<>[\\]") {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return "", bad
	}
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

func (s *Server) subscribeSent(w http.ResponseWriter, r *http.Request) {
	s.message(w, http.StatusOK, s.current(), message{Title: "Check your inbox",
		Text: []string{
			"If the address can receive mail, a message with a confirmation link is on its way to it.",
			"Reminders start only after you follow that link. It works for two days. If nothing arrives, look in your spam folder.",
		}, Back: true})
}

// token checks the token of a link, answering with a page when it is
// not good.
func (s *Server) token(w http.ResponseWriter, r *http.Request, v *view, k kind) ([]byte, bool) {
	nonce, err := s.tokens.open(k, r.PathValue("token"), s.cfg.Now())
	switch {
	case errors.Is(err, errExpired):
		s.message(w, http.StatusGone, v, message{Title: "This link has expired",
			Text: []string{"Sign up again on the page to get a new one."}, Back: true})
		return nil, false
	case err != nil:
		s.message(w, http.StatusBadRequest, v, message{Title: "This link is not valid",
			Text: []string{"Check that you copied the whole link from the email."}, Back: true})
		return nil, false
	}
	return nonce, true
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	if _, ok := s.token(w, r, v, confirmToken); !ok {
		return
	}
	// A GET changes nothing: mail scanners follow links.
	s.message(w, http.StatusOK, v, message{Title: "Confirm your sign-up",
		Text:   []string{"Press the button to start getting reminders before each meeting of " + v.sched.Calendar.Name + "."},
		Action: r.URL.Path, Button: "Start reminders"})
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r, maxUnsubscribe) {
		return
	}
	v := s.current()
	if err := s.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	nonce, ok := s.token(w, r, v, confirmToken)
	if !ok {
		return
	}
	sub, err := s.cfg.Store.Confirm(r.Context(), s.cfg.Now(), base64.RawURLEncoding.EncodeToString(nonce))
	if errors.Is(err, store.ErrNotFound) {
		s.message(w, http.StatusGone, v, message{Title: "This link was already used",
			Text: []string{"Each confirmation link works once, and a newer sign-up replaces it. If you are not getting reminders, sign up again."}, Back: true})
		return
	}
	if err != nil {
		s.log.Error("confirm", "err", err)
		s.message(w, http.StatusInternalServerError, v, message{Title: "Something went wrong", Text: []string{"Please try again later."}})
		return
	}
	s.log.Info("subscriber confirmed", "subscriber", sub)
	s.changed(r.Context())
	manage := s.unsubscribePath(sub)
	s.message(w, http.StatusOK, v, message{Title: "You are signed up",
		Text: []string{"Reminders will come before each meeting, with times in " + sub.Zone + ".",
			"Every reminder has a link to stop them or change your time zone."},
		Link: manage, LinkText: "Change time zone or unsubscribe", Back: true})
}

func (s *Server) changed(ctx context.Context) {
	if s.cfg.Changed != nil {
		s.cfg.Changed(ctx)
	}
}

// UnsubscribeURL returns the link that lets sub unsubscribe (and change
// zone), for the reminders planned from sched to carry. It works for
// UnsubscribeFor, and is the same all day, so that planning reminders
// again does not change it.
func (s *Server) UnsubscribeURL(sched *schedule.Schedule, sub store.Subscriber) string {
	base := sched.Calendar.URL
	if base == "" {
		base = s.cfg.BaseURL
	}
	return base + s.unsubscribePath(sub)
}

func (s *Server) unsubscribePath(sub store.Subscriber) string {
	key, err := base64.RawURLEncoding.DecodeString(sub.Key)
	if err != nil || len(key) != nonceLen {
		return "/unsubscribe/-"
	}
	day := s.cfg.Now().UTC().Truncate(24 * time.Hour)
	return "/unsubscribe/" + s.tokens.make(unsubscribeToken, key, day.Add(UnsubscribeFor))
}

func (s *Server) subscriber(w http.ResponseWriter, r *http.Request, v *view) (store.Subscriber, bool) {
	nonce, ok := s.token(w, r, v, unsubscribeToken)
	if !ok {
		return store.Subscriber{}, false
	}
	sub, err := s.cfg.Store.SubscriberByKey(r.Context(), base64.RawURLEncoding.EncodeToString(nonce))
	if errors.Is(err, store.ErrNotFound) {
		s.message(w, http.StatusGone, v, message{Title: "You are not subscribed",
			Text: []string{"This address gets no reminders from this page: it has already unsubscribed."}, Back: true})
		return sub, false
	}
	if err != nil {
		s.log.Error("unsubscribe", "err", err)
		s.message(w, http.StatusInternalServerError, v, message{Title: "Something went wrong", Text: []string{"Please try again later."}})
		return sub, false
	}
	return sub, true
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	sub, ok := s.subscriber(w, r, v)
	if !ok {
		return
	}
	s.message(w, http.StatusOK, v, message{Title: "Stop the reminders?",
		Text:   []string{"Press the button to stop all reminders from " + v.sched.Calendar.Name + ". Your address is then deleted."},
		Action: r.URL.Path, Button: "Unsubscribe",
		ZoneForm: &zoneForm{Action: "/zone/" + r.PathValue("token"), Zone: sub.Zone, Zones: zoneList}})
}

// unsubscribe answers the button on the page and the RFC 8058 one-click
// POST (body List-Unsubscribe=One-Click) from mail clients alike: the
// token is the whole authority, so no cookie or CSRF value is needed.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r, maxUnsubscribe) {
		return
	}
	v := s.current()
	sub, ok := s.subscriber(w, r, v)
	if !ok {
		return
	}
	if err := s.cfg.Store.Unsubscribe(r.Context(), sub.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("unsubscribe", "err", err)
		s.message(w, http.StatusInternalServerError, v, message{Title: "Something went wrong", Text: []string{"Please try again later."}})
		return
	}
	s.log.Info("unsubscribed", "subscriber", sub, "one_click", r.PostFormValue("List-Unsubscribe") == "One-Click")
	s.changed(r.Context())
	s.message(w, http.StatusOK, v, message{Title: "You are unsubscribed",
		Text: []string{"You will get no more reminders, and your address has been deleted."}, Back: true})
}

func (s *Server) changeZone(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r, maxForm) {
		return
	}
	v := s.current()
	if err := s.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	sub, ok := s.subscriber(w, r, v)
	if !ok {
		return
	}
	loc, err := schedule.LoadZone(r.PostFormValue("zone"))
	if err != nil {
		s.message(w, http.StatusBadRequest, v, message{Title: "Unknown time zone",
			Text: []string{fmt.Sprintf("%q is not a time zone we know; pick one from the list, such as Europe/London.", r.PostFormValue("zone"))},
			Link: "/unsubscribe/" + r.PathValue("token"), LinkText: "Back"})
		return
	}
	if err := s.cfg.Store.SetZone(r.Context(), sub.Key, loc.String()); err != nil {
		s.log.Error("change zone", "err", err)
		s.message(w, http.StatusInternalServerError, v, message{Title: "Something went wrong", Text: []string{"Please try again later."}})
		return
	}
	s.log.Info("subscriber changed zone", "subscriber", sub)
	s.changed(r.Context())
	s.message(w, http.StatusOK, v, message{Title: "Time zone changed",
		Text: []string{"Reminders will show times in " + loc.String() + "."},
		Link: "/unsubscribe/" + r.PathValue("token"), LinkText: "Back to your settings"})
}

// message is a short page: a title, some paragraphs, and at most one
// button, a zone form and a link.
type message struct {
	Name     string
	Title    string
	Text     []string
	Action   string // the button POSTs here
	Button   string
	ZoneForm *zoneForm
	Link     string
	LinkText string
	Back     bool // link to the landing page
}

type zoneForm struct {
	Action string
	Zone   string
	Zones  []string
}

func (s *Server) message(w http.ResponseWriter, status int, v *view, m message) {
	m.Name = v.sched.Calendar.Name
	s.render(w, status, "message.html", m)
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request, status int, v *view, form signupForm) {
	data, _, _ := build(v.sched, v.base, s.cfg.Now(), zoneList)
	data.Form = form
	data.CSRF = s.csrf(w, r, v)
	s.render(w, status, "signup.html", data)
}

func (s *Server) render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// zoneList is offered in the form's list of zones when the browser cannot
// list its own (Intl.supportedValuesOf); any IANA name is accepted.
var zoneList = []string{
	"UTC",
	"Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos", "Africa/Nairobi",
	"America/Anchorage", "America/Argentina/Buenos_Aires", "America/Bogota", "America/Chicago",
	"America/Denver", "America/Halifax", "America/Los_Angeles", "America/Mexico_City",
	"America/New_York", "America/Phoenix", "America/Santiago", "America/Sao_Paulo",
	"America/St_Johns", "America/Toronto", "America/Vancouver",
	"Asia/Bangkok", "Asia/Dhaka", "Asia/Dubai", "Asia/Hong_Kong", "Asia/Jakarta",
	"Asia/Jerusalem", "Asia/Karachi", "Asia/Kathmandu", "Asia/Kolkata", "Asia/Manila",
	"Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Taipei", "Asia/Tehran", "Asia/Tokyo",
	"Atlantic/Reykjavik", "Australia/Adelaide", "Australia/Brisbane", "Australia/Perth", "Australia/Sydney",
	"Europe/Amsterdam", "Europe/Athens", "Europe/Berlin", "Europe/Dublin", "Europe/Helsinki",
	"Europe/Istanbul", "Europe/Kyiv", "Europe/Lisbon", "Europe/London", "Europe/Madrid",
	"Europe/Moscow", "Europe/Paris", "Europe/Rome", "Europe/Stockholm", "Europe/Warsaw",
	"Pacific/Auckland", "Pacific/Honolulu",
}
