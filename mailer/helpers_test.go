package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"encoding/base64"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// parsed is a message taken apart.
type parsed struct {
	Header     mail.Header
	Text, HTML string
	ICS        []byte
	ICSType    string
}

// parseMessage reads a message as a mail client would.
func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	p := parsed{Header: m.Header}
	var walk func(ctype string, hdr map[string][]string, body io.Reader)
	walk = func(ctype string, hdr map[string][]string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("content type %q: %v", ctype, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("multipart: %v", err)
				}
				walk(part.Header.Get("Content-Type"), part.Header, part)
			}
		}
		var r io.Reader = body
		switch strings.ToLower(first(hdr["Content-Transfer-Encoding"])) {
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("part %s: %v", mt, err)
		}
		switch mt {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		case "text/calendar":
			p.ICS, p.ICSType = b, ctype
		}
	}
	walk(m.Header.Get("Content-Type"), m.Header, m.Body)
	return p
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// errDrop makes the test server close the connection instead of replying.
var errDrop = errors.New("drop the connection")

// smtpServer is an in-process SMTP server on 127.0.0.1 that records what
// it accepts and fails on demand.
type smtpServer struct {
	t        testing.TB
	Addr     string
	Password string // if set, AUTH PLAIN with any user and this password is required
	// Answer decides the reply to the end of DATA for a message to rcpt
	// on its nth attempt (from 1): nil accepts, errDrop drops the
	// connection, an *smtp.SMTPError is sent.
	Answer func(rcpt string, attempt int) error
	// RcptAnswer, if set, decides the reply to RCPT TO: nil accepts.
	RcptAnswer func(rcpt string) error
	// Slow holds each DATA this long before answering; MaxInData is
	// how many DATA were answered at once at most.
	Slow      time.Duration
	MaxInData int
	inData    int
	// NoPipelining hides PIPELINING from the server's EHLO reply.
	NoPipelining bool
	// sentAtOnce holds what the client had sent when the server read
	// the start of each transaction (MAIL FROM).
	sentAtOnce []string

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	attempts map[string]int
	got      map[string][][]byte // by recipient
	conns    int
}

func newSMTPServer(t testing.TB) *smtpServer {
	s := &smtpServer{t: t, attempts: map[string]int{}, got: map[string][][]byte{}}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start listens (again, on the same address after Stop).
func (s *smtpServer) Start() {
	addr := s.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		return &session{s: s, c: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go srv.Serve(tapListener{ln, s})
}

// tapListener hands the server connections that hide PIPELINING when
// the server is set so, and record what a client sends at once.
type tapListener struct {
	net.Listener
	s *smtpServer
}

func (l tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tapConn{c, l.s}, nil
}

type tapConn struct {
	net.Conn
	s *smtpServer
}

func (c tapConn) Write(p []byte) (int, error) {
	if !c.s.NoPipelining {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(bytes.Replace(p, []byte("250-PIPELINING\r\n"), nil, 1)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if bytes.HasPrefix(p[:n], []byte("MAIL FROM:")) {
		c.s.mu.Lock()
		c.s.sentAtOnce = append(c.s.sentAtOnce, string(p[:n]))
		c.s.mu.Unlock()
	}
	return n, err
}

// Stop closes the listener and every connection: the server is down.
func (s *smtpServer) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		ln.Close() // Close alone misses a listener Serve has not yet taken
		srv.Close()
	}
}

// Received returns how many messages each recipient got.
func (s *smtpServer) Received() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.got {
		out[k] = len(v)
	}
	return out
}

// Messages returns what rcpt got.
func (s *smtpServer) Messages(rcpt string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.got[rcpt]...)
}

// URL is the server's smtp:// URL without TLS.
func (s *smtpServer) URL() string { return "smtp://" + s.Addr + "?tls=none" }

type session struct {
	s      *smtpServer
	c      *smtp.Conn
	authed bool
	rcpts  []string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if password != x.s.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.Password != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if x.s.RcptAnswer != nil {
		if err := x.s.RcptAnswer(to); err != nil {
			return err
		}
	}
	x.rcpts = append(x.rcpts, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := x.s
	if s.Slow > 0 {
		s.mu.Lock()
		s.inData++
		s.MaxInData = max(s.MaxInData, s.inData)
		s.mu.Unlock()
		time.Sleep(s.Slow)
		s.mu.Lock()
		s.inData--
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, to := range x.rcpts {
		s.attempts[to]++
		if s.Answer != nil {
			switch err := s.Answer(to, s.attempts[to]); {
			case err == errDrop:
				x.c.Conn().Close()
				return err
			case err != nil:
				return err
			}
		}
		s.got[to] = append(s.got[to], b)
	}
	return nil
}

func (x *session) Reset()        { x.rcpts = nil }
func (x *session) Logout() error { return nil }

// at writes t as a TOML offset date-time.
func at(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// harness is a worker on a real store in a temporary directory.
type harness struct {
	t     *testing.T
	store *store.Store
	w     *Worker
	codes chan int
	log   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newHarness(t *testing.T, tr Transport, o Options) *harness {
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, store: st, codes: make(chan int, 1000), log: &syncBuffer{}}
	o.Store, o.Transport = st, tr
	o.Log = newTestLogger(h.log)
	o.OnSMTPError = func(code int) { h.codes <- code }
	if o.RetryBase == 0 {
		o.RetryBase, o.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	}
	h.w, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) load(text string) { h.t.Helper(); loadInto(h.t, h.w, h.store, text) }

// loadInto parses text and loads it into w, as serve's reload does.
func loadInto(t testing.TB, w *Worker, st *store.Store, text string) {
	t.Helper()
	s, err := schedule.Parse("events.toml", []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	set, err := feed.Render(context.Background(), s, st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Load(context.Background(), s, set); err != nil {
		t.Fatal(err)
	}
}

// run runs the worker until the test ends.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.w.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
}

// waitSettled waits until no row is pending or sending, or fails.
func (h *harness) waitSettled(timeout time.Duration) []store.OutboxRow {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rows, err := h.store.Outbox(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		busy := 0
		for _, r := range rows {
			if r.State == store.Pending || r.State == store.Sending {
				busy++
			}
		}
		if busy == 0 {
			return rows
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("after %s, %d rows still pending or sending:\n%s", timeout, busy, dump(rows))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dump(rows []store.OutboxRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %d %s %s %s attempts=%d due=%s err=%q\n", r.ID, r.Kind, r.Recipient, r.State, r.Attempts, r.Due.Format(time.RFC3339Nano), r.LastError)
	}
	return b.String()
}

// states counts rows by recipient and state: "a@x sent" -> 1.
func states(rows []store.OutboxRow) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		out[string(r.Kind)+" "+r.Recipient+" "+string(r.State)]++
	}
	return out
}
