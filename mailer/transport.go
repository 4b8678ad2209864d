package mailer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Transport delivers one message at a time. Implementations are safe for
// use by several goroutines.
type Transport interface {
	// Send delivers m and returns nil once the server accepted it, or a
	// *SendError.
	Send(ctx context.Context, m *Message) error
	// Close releases any connection; a later Send opens a new one.
	Close() error
}

// SendError is why a message was not delivered.
type SendError struct {
	Code int // SMTP reply code; 0 when the connection failed or dropped
	// Pause is set for failures that are not about the message, such
	// as rejected credentials or a server without STARTTLS: sending
	// pauses instead of burning through the outbox.
	Pause bool
	// Recipient is set when the server answered the RCPT or the DATA
	// of the message, and so refused it for this recipient (a bounce),
	// not at MAIL FROM or on the connection.
	Recipient bool
	Err       error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: 4xx replies
// and failed or dropped connections (code 0).
func (e *SendError) Temporary() bool { return e.Code < 500 }

// Secret is a string that never shows in logs or formatted output.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // STARTTLS, required (smtp://, the default)
	TLSImplicit = "implicit" // TLS from the first byte (smtps://)
	TLSNone     = "none"     // plain text (?tls=none), for a local server
)

// SMTPConfig is where and how to send mail.
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      string
	User     string
	Password Secret
	// Insecure skips the server certificate check (?tls-verify=false).
	Insecure bool
	Timeout  time.Duration
	// Connections is how many connections Send may use at once
	// (--smtp-connections); 0 means 1.
	Connections int
}

// LogValue implements slog.LogValuer: the address and mode, never the
// password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("tls", c.TLS),
		slog.String("user", c.User), slog.Bool("password", c.Password != ""))
}

// String is the URL without its password.
func (c SMTPConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: c.Host + ":" + strconv.Itoa(c.Port)}
	if c.TLS == TLSImplicit {
		u.Scheme = "smtps"
	}
	if c.User != "" {
		u.User = url.User(c.User)
	}
	if c.TLS == TLSNone {
		u.RawQuery = "tls=none"
	}
	return u.String()
}

// ParseSMTP reads an SMTP URL: smtp://user:pass@host:587 (STARTTLS
// required), smtps://host:465 (implicit TLS), smtp://host:1025?tls=none
// (plain). password, if not empty, is used when the URL has none.
func ParseSMTP(raw string, password Secret) (SMTPConfig, error) {
	if hint := explainURL(raw); hint != "" {
		return SMTPConfig{}, errors.New("smtp URL: " + hint)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, fmt.Errorf("smtp URL: %w", redact(err, raw))
	}
	c := SMTPConfig{Host: u.Hostname(), Timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp":
		c.TLS, c.Port = TLSStartTLS, 587
	case "smtps":
		c.TLS, c.Port = TLSImplicit, 465
	default:
		return SMTPConfig{}, fmt.Errorf("smtp URL: scheme %q is not smtp or smtps", u.Scheme)
	}
	if c.Host == "" {
		return SMTPConfig{}, errors.New("smtp URL: no host")
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return SMTPConfig{}, fmt.Errorf("smtp URL: bad port %q", p)
		}
	}
	if u.User != nil {
		c.User = u.User.Username()
		if p, ok := u.User.Password(); ok {
			c.Password = Secret(p)
		}
	}
	if c.Password == "" {
		c.Password = password
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "tls":
			switch v := q.Get(k); v {
			case "none":
				if u.Scheme == "smtps" {
					return SMTPConfig{}, errors.New("smtp URL: tls=none with smtps://")
				}
				c.TLS = TLSNone
			case "starttls", "":
			default:
				return SMTPConfig{}, fmt.Errorf("smtp URL: tls=%q is not none or starttls", v)
			}
		case "tls-verify":
			c.Insecure = q.Get(k) == "false"
		case "timeout":
			if c.Timeout, err = time.ParseDuration(q.Get(k)); err != nil || c.Timeout <= 0 {
				return SMTPConfig{}, fmt.Errorf("smtp URL: timeout=%q is not a positive duration", q.Get(k))
			}
		default:
			return SMTPConfig{}, fmt.Errorf("smtp URL: unknown parameter %q", k)
		}
	}
	return c, nil
}

// redact removes the password of raw from err's text.
func redact(err error, raw string) error {
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.LastIndexByte(raw, '@'); at > i {
			if c := strings.IndexByte(raw[i+3:at], ':'); c >= 0 {
				return errors.New(strings.ReplaceAll(err.Error(), raw[i+3+c+1:at], "[redacted]"))
			}
		}
	}
	return err
}

// SMTP sends through one SMTP server over cfg.Connections connections
// (one by default), each opened on its first Send and reused until an
// error or Close. Sends beyond that many wait for a free connection.
type SMTP struct {
	cfg    SMTPConfig
	client *gomail.Client
	idle   chan *smtpConn // every connection not in a Send
}

// smtpConn is one connection, nil until dialed.
type smtpConn struct {
	c        *smtp.Client
	lastUsed time.Time
}

var _ Transport = (*SMTP)(nil)

// NewSMTP returns a transport for cfg. It does no I/O.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	opts := []gomail.Option{
		gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: cfg.Host, InsecureSkipVerify: cfg.Insecure, MinVersion: tls.VersionTLS12}),
		// One transaction per message on a reused connection: the
		// NOOP before and RSET after each message would triple the
		// round trips. A stale connection is caught before use (see
		// Send) and every failed transaction drops the connection.
		gomail.WithoutNoop(), gomail.WithoutRset(),
	}
	switch cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if cfg.User != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if cfg.TLS == TLSNone {
			auth = gomail.SMTPAuthPlainNoEnc // asked for: a local server
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(cfg.User), gomail.WithPassword(string(cfg.Password)))
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client for %s: %w", cfg, err)
	}
	t := &SMTP{cfg: cfg, client: c, idle: make(chan *smtpConn, max(cfg.Connections, 1))}
	for range cap(t.idle) {
		t.idle <- &smtpConn{}
	}
	return t, nil
}

// staleAfter is how long a connection may idle before it is checked
// with NOOP; servers may drop idle connections after a few minutes.
const staleAfter = 10 * time.Second

// Send implements Transport: one MAIL, RCPT, DATA transaction.
func (t *SMTP) Send(ctx context.Context, m *Message) error {
	var sc *smtpConn
	select {
	case sc = <-t.idle:
	case <-ctx.Done():
		return &SendError{Err: ctx.Err()}
	}
	defer func() { t.idle <- sc }()
	if sc.c != nil && time.Since(sc.lastUsed) > staleAfter {
		if err := sc.c.Noop(); err != nil {
			sc.drop()
		}
	}
	if sc.c == nil {
		conn, err := t.client.DialToSMTPClientWithContext(ctx)
		if err != nil {
			return dialError(Explain(err, t.cfg))
		}
		sc.c = conn
	}
	_ = sc.c.UpdateDeadline(t.cfg.Timeout)
	rcpt, err := transact(sc.c, m)
	sc.lastUsed = time.Now()
	if err == nil {
		return nil
	}
	sc.drop()
	code := 0
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 400 && te.Code <= 599 {
		code = te.Code
	}
	return &SendError{Code: code, Recipient: rcpt && code != 0, Err: Explain(err, t.cfg)}
}

// transact sends m over c: MAIL, RCPT, DATA, the message, and the final
// dot, whose 250 reply means the server took it. Where the server offers
// PIPELINING (RFC 2920), MAIL, RCPT and DATA go out together and their
// replies are read after: two round trips per message instead of four.
// rcpt reports that the failure, if any, answered the RCPT or the DATA.
func transact(c *smtp.Client, m *Message) (rcpt bool, err error) {
	if strings.ContainsAny(m.From+m.To, "\r\n") {
		return false, errors.New("MAIL FROM: an address holds a line break")
	}
	mail := "MAIL FROM:<" + m.From + ">"
	if ok, _ := c.Extension("8BITMIME"); ok {
		mail += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		mail += " SMTPUTF8"
	}
	steps := []struct {
		cmd  string
		code int // the reply expected: 25 is any 25x
	}{{mail, 250}, {"RCPT TO:<" + m.To + ">", 25}, {"DATA", 354}}
	t := c.Text
	pipelining, _ := c.Extension("PIPELINING")
	for i, st := range steps {
		t.W.WriteString(st.cmd + "\r\n")
		if pipelining && i < len(steps)-1 {
			continue
		}
		if err := t.W.Flush(); err != nil {
			return false, fmt.Errorf("%s: %w", name(st.cmd), err)
		}
		from := i
		if pipelining {
			from = 0
		}
		// A failed MAIL or RCPT makes the server refuse what follows:
		// the first failure is the one that counts, and the connection
		// is dropped after it.
		for _, st := range steps[from : i+1] {
			if _, _, err := t.ReadResponse(st.code); err != nil {
				return st.cmd != mail, fmt.Errorf("%s: %w", name(st.cmd), err)
			}
		}
	}
	if err := writeData(t.W, m.Data); err != nil {
		return false, fmt.Errorf("DATA: %w", err)
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return true, fmt.Errorf("end of DATA: %w", err)
	}
	return false, nil
}

// name is an SMTP command's name: "MAIL FROM", "RCPT TO", "DATA".
func name(cmd string) string {
	n, _, _ := strings.Cut(cmd, ":")
	return n
}

// writeData writes msg, CRLF lines, as the content of DATA: each line
// that starts with a dot gets another (RFC 5321 section 4.5.2), and a
// line with a lone dot ends it. It goes out in one write: w sends a
// slice longer than its buffer at once.
func writeData(w *bufio.Writer, msg []byte) error {
	out := make([]byte, 0, len(msg)+len(msg)/32+5)
	for rest := msg; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		if line[0] == '.' {
			out = append(out, '.')
		}
		out = append(out, line...)
		rest = rest[len(line):]
	}
	if len(msg) > 0 && !bytes.HasSuffix(msg, []byte("\r\n")) {
		out = append(out, "\r\n"...)
	}
	out = append(out, ".\r\n"...)
	if _, err := w.Write(out); err != nil {
		return err
	}
	return w.Flush()
}

func dialError(err error) *SendError {
	var te *textproto.Error
	switch {
	case errors.As(err, &te) && te.Code >= 500:
		// Rejected credentials or the greeting refused: no message
		// will pass until someone fixes the configuration.
		return &SendError{Code: te.Code, Pause: true, Err: err}
	case errors.As(err, &te):
		return &SendError{Code: te.Code, Err: err}
	case strings.Contains(err.Error(), "STARTTLS"), strings.Contains(err.Error(), "SMTP AUTH"),
		errors.As(err, new(*tls.CertificateVerificationError)):
		return &SendError{Code: 0, Pause: true, Err: err}
	}
	return &SendError{Code: 0, Err: err}
}

// drop abandons the connection: after a failed transaction its state is
// unknown, and a fresh one is cheaper than reasoning about it.
func (sc *smtpConn) drop() {
	if sc.c != nil {
		_ = sc.c.Close()
		sc.c = nil
	}
}

// Close implements Transport: QUIT on every open connection, once no
// Send uses it.
func (t *SMTP) Close() error {
	var err error
	conns := make([]*smtpConn, 0, cap(t.idle))
	for range cap(t.idle) {
		sc := <-t.idle
		conns = append(conns, sc)
		if sc.c != nil {
			err = errors.Join(err, t.client.CloseWithSMTPClient(sc.c))
			sc.drop()
		}
	}
	for _, sc := range conns {
		t.idle <- sc
	}
	return err
}

// Dir writes each message as an .eml file into a directory, so that a
// fresh install shows exactly what it would send.
type Dir struct {
	Path string
}

var _ Transport = Dir{}

// Send implements Transport. The file is named after the time and the
// Message-ID, and written whole or not at all.
func (d Dir) Send(ctx context.Context, m *Message) error {
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return &SendError{Pause: true, Err: err}
	}
	id, _, _ := strings.Cut(m.ID, "@")
	name := filepath.Join(d.Path, time.Now().UTC().Format("20060102T150405.000")+"-"+id+".eml")
	tmp, err := os.CreateTemp(d.Path, ".tmp-*")
	if err != nil {
		return &SendError{Pause: true, Err: err}
	}
	_, err = tmp.Write(m.Data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return &SendError{Pause: true, Err: fmt.Errorf("write %s: %w", name, err)}
	}
	return nil
}

// Close implements Transport.
func (Dir) Close() error { return nil }
