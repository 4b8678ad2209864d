package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// writeReadable prints the message raw as a person reads it: the main
// headers decoded, the text part decoded from its transfer encoding, and
// a line for each other part (the HTML, the .ics attachment).
func writeReadable(w io.Writer, raw []byte) error {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("read the message: %w", err)
	}
	dec := new(mime.WordDecoder)
	for _, name := range []string{"From", "To", "Subject", "Date"} {
		v := msg.Header.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			v = d
		}
		fmt.Fprintf(w, "%-8s %s\n", name+":", v)
	}
	var text string
	var others []string
	if err := walkParts(textproto.MIMEHeader(msg.Header), msg.Body, &text, &others); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s", text)
	if !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(w)
	}
	if len(others) > 0 {
		fmt.Fprintf(w, "\nAlso in the message (--raw prints it whole):\n")
		for _, o := range others {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
	return nil
}

// walkParts finds the first text/plain part of a message or part with
// header h and body r, decoded, and describes every other leaf part.
func walkParts(h textproto.MIMEHeader, r io.Reader, text *string, others *[]string) error {
	media, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		media = "text/plain"
	}
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read the message: %w", err)
			}
			if err := walkParts(p.Header, p, text, others); err != nil {
				return err
			}
		}
	}
	body, err := io.ReadAll(decodeTransfer(h.Get("Content-Transfer-Encoding"), r))
	if err != nil {
		return fmt.Errorf("read the message: %w", err)
	}
	_, disp, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := disp["filename"]
	if name == "" {
		name = params["name"]
	}
	if media == "text/plain" && name == "" && *text == "" {
		*text = strings.ReplaceAll(string(body), "\r\n", "\n")
		return nil
	}
	desc := media
	if name != "" {
		desc = name + " (" + media + ")"
	}
	*others = append(*others, fmt.Sprintf("%s, %d bytes", desc, len(body)))
	return nil
}

func decodeTransfer(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	}
	return r
}

// newlineStripper drops the line breaks of a base64 body.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	c, err := n.r.Read(p)
	out := p[:0]
	for _, b := range p[:c] {
		if b != '\r' && b != '\n' {
			out = append(out, b)
		}
	}
	return len(out), err
}
