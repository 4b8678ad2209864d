package mailer

// DKIM signatures checked by a verifier that is not the signer: dkimpy
// (Debian's python3-dkim), its DNS lookups answered from the test's key.
// The test skips without it, unless CONVENE_REQUIRE_INTEROP=1.

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// verifyScript reads a JSON list of raw messages and the TXT record of
// the selector, and prints a JSON list: whether each message verifies.
const verifyScript = `
import json, sys, dkim
req = json.load(sys.stdin)
txt = req["txt"].encode()
def dns(name, timeout=5):
    return txt if name == req["name"].encode() else None
print(json.dumps([bool(dkim.verify(m.encode("latin-1"), dnsfunc=dns)) for m in req["messages"]]))
`

// dkimVerify runs dkimpy over msgs with the public key pub published at
// selector._domainkey.domain.
func dkimVerify(t *testing.T, pub crypto.PublicKey, selector, domain string, msgs [][]byte) []bool {
	t.Helper()
	python := need(t, "python3 with dkimpy (Debian python3-dkim)", "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import dkim").Run(); err != nil {
		need(t, "python3-dkim", "/nonexistent/python3-dkim")
	}
	var txt string
	switch k := pub.(type) {
	case ed25519.PublicKey:
		txt = "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k)
	default:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		txt = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	}
	req := map[string]any{"name": selector + "._domainkey." + domain + ".", "txt": txt}
	var list []string
	for _, m := range msgs {
		list = append(list, string(m))
	}
	req["messages"] = list
	in, _ := json.Marshal(req)
	cmd := exec.Command(python, "-c", verifyScript)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dkimpy: %v\n%s", err, out)
	}
	var ok []bool
	if err := json.Unmarshal(out, &ok); err != nil || len(ok) != len(msgs) {
		t.Fatalf("dkimpy said %s (%v)", out, err)
	}
	return ok
}

// everyKind renders one message of each kind the daemon sends, signed
// by c.
func everyKind(t *testing.T, c *Composer) map[string][]byte {
	t.Helper()
	s := c.Schedule
	o := s.Single(s.Sessions[0])
	moved := o
	moved.Start = o.Start.Add(time.Hour)
	now := o.Start.Add(-time.Hour)
	out := map[string][]byte{}
	write := func(name string, build func() ([]byte, error)) {
		b, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b
	}
	row := func(kind store.Kind, rcpt, unsub string, starts, prev time.Time) store.OutboxRow {
		return store.OutboxRow{Ident: string(kind) + "|" + rcpt, Kind: kind, Occurrence: o.Key(), Offset: time.Hour, Recipient: rcpt,
			Zone: "Europe/Berlin", Unsubscribe: unsub, Title: o.Title, Starts: starts, PrevStarts: prev, Due: now}
	}
	unsub := "https://group.example.org/unsubscribe/k3y"
	write("reminder to a static recipient", func() ([]byte, error) {
		return wire(c.Row(row(KindReminder, "list@example.org", "", o.Start, time.Time{}), &o, now))
	})
	write("reminder to a subscriber", func() ([]byte, error) {
		return wire(c.Row(row(KindReminder, "ann@example.org", unsub, o.Start, time.Time{}), &o, now))
	})
	write("moved notice", func() ([]byte, error) {
		return wire(c.Row(row(KindMoved, "ann@example.org", unsub, moved.Start, o.Start), &moved, now))
	})
	write("cancelled notice", func() ([]byte, error) {
		return wire(c.Row(row(KindCancelled, "ann@example.org", unsub, o.Start, time.Time{}), nil, now))
	})
	write("back-on notice", func() ([]byte, error) {
		return wire(c.Row(row(KindBackOn, "list@example.org", "", o.Start, time.Time{}), &o, now))
	})
	write("confirmation", func() ([]byte, error) {
		return wire(c.Confirmation("new@example.org", "https://group.example.org/confirm/abc", now))
	})
	write("send-test", func() ([]byte, error) { return wire(c.Test("admin@example.org", now)) })
	return out
}

// wire is the message as it goes out.
func wire(m *Message, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

// signedFields returns the h= list of a message's DKIM-Signature.
func signedFields(t *testing.T, raw []byte) []string {
	t.Helper()
	sig := parseMessage(t, raw).Header.Get("Dkim-Signature")
	h := regexp.MustCompile(`(?:^|;)\s*h=([^;]+)`).FindStringSubmatch(sig)
	if h == nil {
		t.Fatalf("no h= in DKIM-Signature %q", sig)
	}
	return strings.Split(strings.Join(strings.Fields(h[1]), ""), ":")
}

// TestDKIMVerifies signs every kind of message with an RSA and an
// Ed25519 key, verifies each with dkimpy, then changes each signed field
// in turn (and adds a second From, and adds a List-Unsubscribe to a
// message without one) and expects each change to fail verification.
func TestDKIMVerifies(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, set := goldenFeeds(t)
	for _, key := range []crypto.Signer{rsaKey, edKey} {
		signer, err := NewDKIM("example.org", "convene", key)
		if err != nil {
			t.Fatal(err)
		}
		c := &Composer{Schedule: s, Feeds: set, DKIM: signer}
		msgs := everyKind(t, c)
		var names []string
		var raws [][]byte
		for name, raw := range msgs {
			if got := strings.Join(signedFields(t, raw), ":"); got != strings.Join(append(DKIMHeaders, dkimOversigned...), ":") {
				t.Errorf("%T %s: h=%s, want %s and %s oversigned", key, name, got, strings.Join(DKIMHeaders, ":"), dkimOversigned)
			}
			names = append(names, name)
			raws = append(raws, raw)
			for _, field := range DKIMHeaders {
				if tampered, ok := tamper(raw, field); ok {
					names = append(names, name+" with "+field+" changed")
					raws = append(raws, tampered)
				}
			}
			names = append(names, name+" with a second From")
			raws = append(raws, append([]byte("From: <mallory@example.net>\r\n"), raw...))
			if !bytes.Contains(raw, []byte("\r\nList-Unsubscribe:")) {
				names = append(names, name+" with a List-Unsubscribe added")
				raws = append(raws, append([]byte("List-Unsubscribe: <https://evil.example.net/u>\r\n"), raw...))
			}
		}
		ok := dkimVerify(t, key.Public(), "convene", "example.org", raws)
		changed := 0
		for i, name := range names {
			want := !strings.Contains(name, " with ")
			if !want {
				changed++
			}
			if ok[i] != want {
				t.Errorf("%T: %s: dkim.verify = %v, want %v", key, name, ok[i], want)
			}
		}
		t.Logf("%T: %d messages verify, %d altered copies fail", key, len(msgs), changed)
	}
}

// tamper changes the value of field in raw, if raw has it: a character
// is swapped for another, as a forwarder rewriting it would.
func tamper(raw []byte, field string) ([]byte, bool) {
	re := regexp.MustCompile(`(?im)^` + regexp.QuoteMeta(field) + `:[ \t]*(\S)`)
	loc := re.FindSubmatchIndex(raw)
	if loc == nil {
		return nil, false
	}
	out := bytes.Clone(raw)
	i := loc[2]
	if out[i] == 'x' {
		out[i] = 'y'
	} else {
		out[i] = 'x'
	}
	return out, true
}
