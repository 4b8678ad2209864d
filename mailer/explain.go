package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"syscall"

	gomail "github.com/wneessen/go-mail"
)

// This file turns what the SMTP and TLS libraries say into what a
// maintainer can act on: what went wrong, in plain words, and the likely
// fix. The library's own text follows in parentheses, for searching.

// explained is an error with its plain-words explanation in front.
type explained struct {
	words string
	err   error
}

func (e *explained) Error() string { return e.words + " (" + e.err.Error() + ")" }
func (e *explained) Unwrap() error { return e.err }

// Explain returns err with an explanation and the likely fix for a
// failure to reach or use the SMTP server of cfg, or err itself when
// there is nothing to add.
func Explain(err error, cfg SMTPConfig) error {
	if err == nil {
		return nil
	}
	var already *explained
	if errors.As(err, &already) {
		return err
	}
	if words := explain(err, cfg); words != "" {
		return &explained{words: words, err: err}
	}
	return err
}

func explain(err error, c SMTPConfig) string {
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	msg := err.Error()
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authorityErr x509.UnknownAuthorityError
	var invalidErr x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var te *textproto.Error
	var se *gomail.SendError
	code := 0
	switch {
	case errors.As(err, &te):
		code = te.Code
	case errors.As(err, &se):
		code = se.ErrorCode()
	}
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(msg, "does not support STARTTLS"):
		return fmt.Sprintf("the server %s does not offer STARTTLS: use smtps://%s:465 for implicit TLS, or ?tls=none for a local server without TLS (smtp://%s?tls=none)", addr, c.Host, addr)
	case errors.As(err, &recordErr) || strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Sprintf("the server %s does not speak TLS from the first byte, as smtps:// expects: use smtp://%s (STARTTLS, usually port 587), or smtp://%s?tls=none for a local server without TLS", addr, addr, addr)
	case errors.As(err, &hostErr):
		names := hostErr.Certificate.DNSNames
		for _, ip := range hostErr.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		return fmt.Sprintf("the server's TLS certificate is not for %q: write a host name the certificate names (%s) in --smtp", c.Host, strings.Join(names, ", "))
	case errors.As(err, &authorityErr):
		return fmt.Sprintf("the TLS certificate of %s is not signed by an authority this machine trusts (self-signed?): install the CA certificates (apt-get install ca-certificates), or for a server you control on a network you trust add ?tls-verify=false", addr)
	case errors.As(err, &invalidErr) && invalidErr.Reason == x509.Expired:
		return fmt.Sprintf("the TLS certificate of %s has expired, or this machine's clock is wrong: ask the mail provider, or check the date (timedatectl)", addr)
	case errors.As(err, &certErr) || errors.As(err, &invalidErr):
		return fmt.Sprintf("the TLS certificate of %s is not valid: check the host name in --smtp, or for a server you control on a network you trust add ?tls-verify=false", addr)
	case strings.Contains(msg, "server does not support SMTP AUTH"):
		return fmt.Sprintf("the server %s offers no login (AUTH) on this connection, but --smtp has a user: remove the user for a server that needs none; many servers offer AUTH only over TLS (drop ?tls=none)", addr)
	case code == 535 || code == 534 || strings.Contains(msg, "SMTP AUTH failed"):
		return "the server refused the user name or password: check the user in --smtp (write @ in it as %40) and the password (CONVENE_SMTP_PASSWORD or --smtp-password-file); some providers want an app password"
	case code == 530 || strings.Contains(lower, "authenticat") || strings.Contains(lower, "auth required"):
		return fmt.Sprintf("the server %s wants a login: put the user in the URL (smtp://user%%40example.org@%s) and the password in CONVENE_SMTP_PASSWORD or --smtp-password-file", addr, addr)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("the host name %q is not known (DNS): check its spelling in --smtp", c.Host)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the host name %q could not be looked up (DNS): check this machine's resolver (/etc/resolv.conf) and its network", c.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepts connections at %s: check the host and port in --smtp and that the mail server runs", addr)
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		return fmt.Sprintf("%s cannot be reached from this machine: check its network, and whether the host has an address of this family (IPv6 vs IPv4)", addr)
	case isTimeout(err):
		hint := "a firewall may drop the connection: many VPS providers block outgoing SMTP (ports 25, 465, 587) until asked"
		if c.Port == 465 && c.TLS != TLSImplicit {
			hint = fmt.Sprintf("port 465 expects TLS from the first byte: use smtps://%s", addr)
		}
		return fmt.Sprintf("no answer from %s within %s: %s", addr, c.Timeout, hint)
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		if c.TLS != TLSImplicit && c.Port == 465 {
			return fmt.Sprintf("the server %s closed the connection: port 465 expects TLS from the first byte: use smtps://%s", addr, addr)
		}
		return fmt.Sprintf("the server %s closed the connection: it may limit connections, or expect another TLS mode (smtps:// for port 465, smtp:// for 587)", addr)
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// explainURL explains an --smtp value that is not a URL, such as
// 127.0.0.1:1025 or mail.example.org, or returns "".
func explainURL(raw string) string {
	if strings.Contains(raw, "://") {
		return ""
	}
	host := raw
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = host, ""
	}
	if ip := net.ParseIP(h); h == "localhost" || ip != nil && ip.IsLoopback() {
		if port == "" {
			port = "25"
		}
		return fmt.Sprintf("write it as a URL: smtp://%s?tls=none", net.JoinHostPort(h, port))
	}
	switch port {
	case "465":
		return fmt.Sprintf("write it as a URL: smtps://%s (implicit TLS)", host)
	case "":
		return fmt.Sprintf("write it as a URL: smtp://user%%40%s@%s:587 (STARTTLS), or smtps://%s:465 (implicit TLS)", h, h, h)
	}
	return fmt.Sprintf("write it as a URL: smtp://%s (STARTTLS), or smtp://%s?tls=none for a server without TLS", host, host)
}

// Probe connects to the server as Send would (TLS, login) and quits
// without sending, so that a wrong --smtp shows at start rather than at
// the first reminder. Its error is explained.
func (t *SMTP) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	conn, err := t.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return Explain(err, t.cfg)
	}
	return t.client.CloseWithSMTPClient(conn)
}
