package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// A token is the capability in a confirmation or unsubscribe link:
//
//	base64url( kind (1) | expires, Unix seconds (8) | nonce (16) | MAC (16) )
//
// The MAC is HMAC-SHA256 over the rest, truncated to 128 bits. The nonce
// is random and names a row in the store, so a token says nothing about
// the person, and checking one costs no store query until its MAC holds.
// Single use comes from the store: a confirmation nonce is spent when
// followed, and an unsubscribe nonce goes with its row.
type kind byte

const (
	confirmToken     kind = 'c'
	unsubscribeToken kind = 'u'
)

const (
	nonceLen = 16
	macLen   = 16
	tokenLen = 1 + 8 + nonceLen + macLen
	// maxToken bounds the length of a token in a URL before decoding.
	maxToken = 64
)

var (
	errForged  = errors.New("token is not valid")
	errExpired = errors.New("token has expired")
)

type tokens struct{ key []byte }

func (t tokens) mac(b []byte) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("convene token v1\x00"))
	m.Write(b)
	return m.Sum(nil)[:macLen]
}

// make returns a token of kind k for nonce (nonceLen bytes), good until
// expires.
func (t tokens) make(k kind, nonce []byte, expires time.Time) string {
	b := make([]byte, 0, tokenLen)
	b = append(b, byte(k))
	b = binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
	b = append(b, nonce...)
	b = append(b, t.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// open checks s as a token of kind k at time now and returns its nonce.
func (t tokens) open(k kind, s string, now time.Time) ([]byte, error) {
	if len(s) > maxToken {
		return nil, errForged
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != tokenLen {
		return nil, errForged
	}
	body, sum := b[:tokenLen-macLen], b[tokenLen-macLen:]
	if !hmac.Equal(sum, t.mac(body)) || kind(body[0]) != k {
		return nil, errForged
	}
	if now.Unix() > int64(binary.BigEndian.Uint64(body[1:9])) {
		return nil, errExpired
	}
	return body[9:], nil
}

// derive returns a key for one purpose from the secret, so that a token
// of one kind can never pass as another thing (a CSRF value, say).
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
