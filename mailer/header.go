package mailer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Line lengths of RFC 5322 section 2.1.1 and RFC 2047 section 2.
const (
	headerLine  = 78 // SHOULD, for a field of plain words
	encodedLine = 76 // a line holding encoded words
	encodedWord = 75 // one encoded word
)

// subjectValue returns s as the value of a Subject field, to follow
// "Subject: ", folded where it is long. Printable ASCII stays readable;
// anything else, and text that would read as an encoded word ("=?"),
// becomes UTF-8 Q encoded words (RFC 2047), so that a client shows
// exactly s and never decodes a title. The first word always stays on
// the first line: some clients show a Subject folded right after the
// colon with a leading blank.
func subjectValue(s string) string {
	const field = len("Subject: ")
	if needsEncoding(s) {
		return foldWords(qWords(s, encodedLine-field, encodedLine-1), field, encodedLine)
	}
	return foldWords(splitSingleSpaces(s), field, headerLine)
}

// splitSingleSpaces splits s at each lone space. A run of spaces stays
// inside a word: readers (Go's net/textproto among them) unfold a line
// into a single space, so folding there would lose the others.
func splitSingleSpaces(s string) []string {
	var words []string
	start := 0
	for i := 1; i < len(s)-1; i++ {
		if s[i] == ' ' && s[i-1] != ' ' && s[i+1] != ' ' {
			words = append(words, s[start:i])
			start = i + 1
		}
	}
	return append(words, s[start:])
}

func needsEncoding(s string) bool {
	if strings.Contains(s, "=?") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return true
		}
	}
	return false
}

// foldWords joins words with spaces, starting a new line (CRLF and the
// space) before a word that would pass limit; used is the length already
// on the first line. Unfolding (removing the CRLFs) gives back the words
// joined by single spaces.
func foldWords(words []string, used, limit int) string {
	var b strings.Builder
	n := used
	for i, w := range words {
		switch {
		case i == 0:
		case n+1+len(w) > limit:
			b.WriteString("\r\n")
			n = 0
			fallthrough
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// qWords encodes s as UTF-8 "Q" encoded words (RFC 2047 section 4.2),
// the first at most first characters long and the others at most rest,
// never splitting a character. Encoded words separated by folding white
// space decode to their texts joined without it, so spaces are encoded
// (as "_") inside the words.
func qWords(s string, first, rest int) []string {
	const pre, post = "=?utf-8?q?", "?="
	limit := min(first, encodedWord)
	var words []string
	var cur strings.Builder
	flush := func() {
		words = append(words, pre+cur.String()+post)
		cur.Reset()
		limit = min(rest, encodedWord)
	}
	for _, r := range s {
		var enc strings.Builder
		var buf [utf8.UTFMax]byte
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			switch {
			case c == ' ':
				enc.WriteByte('_')
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
				c == '!', c == '*', c == '+', c == '-', c == '/':
				enc.WriteByte(c)
			default:
				fmt.Fprintf(&enc, "=%02X", c)
			}
		}
		if cur.Len() > 0 && len(pre)+cur.Len()+enc.Len()+len(post) > limit {
			flush()
		}
		cur.WriteString(enc.String())
	}
	if cur.Len() > 0 || len(words) == 0 {
		flush()
	}
	return words
}
