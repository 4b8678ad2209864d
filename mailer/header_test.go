package mailer

import (
	"flag"
	"math/rand/v2"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var seed = flag.Uint64("seed", 1, "seed of the generated tests (0: random)")

func rng(t *testing.T) *rand.Rand {
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (go test -seed N repeats a run)", s)
	return rand.New(rand.NewPCG(s, s))
}

// randomTitle mixes words, spaces, non-ASCII letters, emoji and the
// pieces of encoded words.
func randomTitle(r *rand.Rand) string {
	pieces := []string{"Chapter", "3", "Mutual", "Aid", "réunion", "Kropotkin's", "读书会", "🙂", "=?utf-8?b?SGk=?=", "=?",
		"?=", "_", "a", "Ω", "long-hyphenated-word-without-spaces-at-all", "(tentative)", "\"quoted\"", "ß", "ü"}
	n := 1 + r.IntN(25)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(strings.Repeat(" ", 1+r.IntN(2)*r.IntN(2)))
		}
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// TestSubjectProperty: for many generated titles the Subject field
// decodes (as net/mail and mime read it) to exactly the title, its first
// line holds a word, lines stay within RFC 5322's 78 columns (76 with
// encoded words, RFC 2047) unless one word (spaces in a run count as part
// of a word) is longer, and each encoded word is at most 75 characters.
func TestSubjectProperty(t *testing.T) {
	r := rng(t)
	dec := &mime.WordDecoder{}
	for range 3000 {
		title := randomTitle(r)
		field := "Subject: " + subjectValue(title) + "\r\n"
		lines := strings.Split(strings.TrimSuffix(field, "\r\n"), "\r\n")
		if strings.TrimSpace(strings.TrimPrefix(lines[0], "Subject:")) == "" {
			t.Fatalf("%q: the first line holds no word:\n%s", title, field)
		}
		encoded := needsEncoding(title)
		for i, l := range lines {
			limit := headerLine
			if encoded {
				limit = encodedLine
			}
			if len(l) > limit && (encoded || len(splitSingleSpaces(strings.TrimPrefix(strings.TrimPrefix(l, "Subject:"), " "))) > 1) {
				t.Fatalf("%q: line %d is %d long:\n%s", title, i+1, len(l), field)
			}
			if i > 0 && !strings.HasPrefix(l, " ") {
				t.Fatalf("%q: line %d is not a continuation:\n%s", title, i+1, field)
			}
			for _, w := range strings.Fields(l) {
				if strings.HasPrefix(w, "=?utf-8?q?") && len(w) > encodedWord {
					t.Fatalf("%q: encoded word of %d characters: %s", title, len(w), w)
				}
			}
		}
		msg, err := mail.ReadMessage(strings.NewReader(field + "\r\nbody\r\n"))
		if err != nil {
			t.Fatalf("%q: %v\n%s", title, err, field)
		}
		got, err := dec.DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || got != title {
			t.Fatalf("Subject %q decodes to %q (%v), want %q\n%s", subjectValue(title), got, err, title, field)
		}
		if !encoded && strings.Contains(field, "=?") {
			t.Fatalf("%q: an encoded word in a plain subject", title)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("%q: decodes to invalid UTF-8", title)
		}
	}
}

func TestSubjectValue(t *testing.T) {
	tests := []struct{ title, want string }{
		{"Reminder: Chapter 3, Sun 16 Jul, 20:00 EDT", "Reminder: Chapter 3, Sun 16 Jul, 20:00 EDT"},
		// A title that looks encoded is encoded, so that clients show it
		// as written instead of decoding it.
		{"=?utf-8?b?SGk=?=", "=?utf-8?q?=3D=3Futf-8=3Fb=3FSGk=3D=3F=3D?="},
		{"Café", "=?utf-8?q?Caf=C3=A9?="},
	}
	for _, tt := range tests {
		if got := subjectValue(tt.title); got != tt.want {
			t.Errorf("subjectValue(%q) = %q, want %q", tt.title, got, tt.want)
		}
	}
}
