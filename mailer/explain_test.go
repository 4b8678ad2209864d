package mailer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// selfSigned returns a certificate for names, valid from notBefore to
// notAfter, signed by itself: no machine trusts it.
func selfSigned(t *testing.T, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serverOpts shape a test SMTP server for one kind of failure.
type serverOpts struct {
	cert         *tls.Certificate // offers STARTTLS (or implicit TLS) with it
	implicit     bool             // TLS from the first byte
	insecureAuth bool             // offers AUTH without TLS
	password     string           // AUTH required, with this password
}

// startServer runs a go-smtp server on 127.0.0.1 shaped by o and returns
// its address.
func startServer(t *testing.T, o serverOpts) string {
	t.Helper()
	s := &smtpServer{t: t, attempts: map[string]int{}, got: map[string][][]byte{}, Password: o.password}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, c: c}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = o.insecureAuth
	var ln net.Listener
	var err error
	if o.cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*o.cert}}
	}
	if o.implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// silentServer accepts connections and never says a word, like a port
// that expects TLS first, or a firewall that lets SYN through.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestSendErrorsExplained sends through real servers that fail in each
// way a maintainer meets, and checks that the error names the fix.
func TestSendErrorsExplained(t *testing.T) {
	now := time.Now()
	good := selfSigned(t, now.Add(-time.Hour), now.Add(time.Hour), "127.0.0.1", "localhost")
	expired := selfSigned(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "127.0.0.1")
	other := selfSigned(t, now.Add(-time.Hour), now.Add(time.Hour), "mail.example.org")
	plain := startServer(t, serverOpts{})
	tests := []struct {
		name string
		url  string
		pw   Secret
		want string
	}{
		{"no STARTTLS", "smtp://" + plain, "", "does not offer STARTTLS: use smtps://127.0.0.1:465 for implicit TLS, or ?tls=none for a local server without TLS"},
		{"smtps to a plain server", "smtps://" + plain, "", "does not speak TLS from the first byte, as smtps:// expects: use smtp://" + plain},
		{"self-signed certificate", "smtp://" + startServer(t, serverOpts{cert: &good}), "", "not signed by an authority this machine trusts"},
		{"self-signed, implicit TLS", "smtps://" + startServer(t, serverOpts{cert: &good, implicit: true}), "", "add ?tls-verify=false"},
		{"certificate for another name", "smtp://" + startServer(t, serverOpts{cert: &other}), "", `not for "127.0.0.1": write a host name the certificate names (mail.example.org) in --smtp`},
		{"expired certificate", "smtp://" + startServer(t, serverOpts{cert: &expired}), "", "has expired"},
		{"wrong password", "smtp://user@" + startServer(t, serverOpts{insecureAuth: true, password: "right"}) + "?tls=none", "wrong", "refused the user name or password"},
		{"login needed", "smtp://" + startServer(t, serverOpts{insecureAuth: true, password: "right"}) + "?tls=none", "", "wants a login: put the user in the URL"},
		{"no AUTH offered", "smtp://user@" + plain + "?tls=none", "pw", "offers no login (AUTH) on this connection"},
		{"connection refused", "smtp://" + closedPort(t) + "?tls=none", "", "nothing accepts connections at 127.0.0.1:"},
		{"no answer", "smtp://" + silentServer(t) + "?tls=none&timeout=300ms", "", "no answer from 127.0.0.1:"},
		{"unknown host", "smtp://no-such-host.invalid:587?timeout=5s", "", `the host name "no-such-host.invalid"`},
	}
	c := &Composer{Schedule: mustParse(t, header)}
	m, err := c.Test("a@example.org", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseSMTP(tt.url, tt.pw)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Timeout > 5*time.Second {
				cfg.Timeout = 5 * time.Second
			}
			tr, err := NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			err = tr.Send(context.Background(), m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Send = %v\nwant it to say %q", err, tt.want)
			}
			if _, ok := err.(*SendError); !ok {
				t.Errorf("Send = %#v, want a *SendError", err)
			}
			if tt.pw != "" && strings.Contains(err.Error(), string(tt.pw)) {
				t.Errorf("the password is in the error: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestParseSMTPExplainsNonURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:1025", "write it as a URL: smtp://127.0.0.1:1025?tls=none"},
		{"localhost", "write it as a URL: smtp://localhost:25?tls=none"},
		{"mail.example.org:465", "write it as a URL: smtps://mail.example.org:465 (implicit TLS)"},
		{"mail.example.org:587", "write it as a URL: smtp://mail.example.org:587 (STARTTLS)"},
		{"mail.example.org", "smtp://user%40mail.example.org@mail.example.org:587 (STARTTLS), or smtps://mail.example.org:465"},
		{"me:secret@mail.example.org:587", "smtp://mail.example.org:587"},
	}
	for _, tt := range tests {
		_, err := ParseSMTP(tt.in, "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSMTP(%q) = %v, want %q", tt.in, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseSMTP(%q) = %v shows the password", tt.in, err)
		}
	}
}
