package mailer

import (
	"bytes"
	"crypto"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMHeaders are the header fields every message is signed over (RFC
// 6376 section 5.4), in the order of the h= tag. Gmail's and Yahoo's
// sender rules and RFC 8058 section 4 want List-Unsubscribe and
// List-Unsubscribe-Post signed; a field a message does not carry (a static
// recipient gets no List-Unsubscribe) is signed as absent, so that no one
// can add it on the way without breaking the signature.
var DKIMHeaders = []string{
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted",
}

// dkimOversigned are listed once more than they occur (RFC 6376 section
// 8.15): a second From added on the way breaks the signature instead of
// being what a client shows.
var dkimOversigned = []string{"From"}

// DKIM signs messages for one domain (RFC 6376, relaxed/relaxed; RSA or
// Ed25519, RFC 8463). It is safe for use by several goroutines.
//
// go-mail's own signer folds the h= tag inside a field name once the
// list is long, which verifiers read as another name; go-msgauth's folds
// between tags.
type DKIM struct {
	opts dkim.SignOptions
}

// NewDKIM returns the signer for domain and selector with key (an RSA or
// Ed25519 private key). It signs a probe message, so that a key that
// cannot sign is reported at once.
func NewDKIM(domain, selector string, key crypto.Signer) (*DKIM, error) {
	d := &DKIM{opts: dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: key, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: append(append([]string(nil), DKIMHeaders...), dkimOversigned...),
	}}
	if _, err := d.Sign([]byte("From: probe@" + domain + "\r\n\r\nprobe\r\n")); err != nil {
		return nil, fmt.Errorf("DKIM key for %s (selector %s): %w", domain, selector, err)
	}
	return d, nil
}

// Sign returns msg (CRLF lines) with a DKIM-Signature field on top.
func (d *DKIM) Sign(msg []byte) ([]byte, error) {
	opts := d.opts
	var out bytes.Buffer
	out.Grow(len(msg) + 512)
	if err := dkim.Sign(&out, bytes.NewReader(msg), &opts); err != nil {
		return nil, fmt.Errorf("DKIM sign: %w", err)
	}
	return out.Bytes(), nil
}
