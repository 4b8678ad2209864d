package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ready asks a running serve's /readyz and exits 0 when it answers 200:
// a container health check, for images that have no curl (distroless).
// With no flags it reads CONVENE_ADDR, as serve does, so that in a
// container it asks the serve beside it.
func ready(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ready", stderr)
	fs.Usage = argsUsage(fs, stderr, "ready [--addr 127.0.0.1:8080] [--exclude CHECK]",
		"Asks the serve listening on --addr whether it is ready (GET /readyz): exit status 0 if so, 1 if not, with its answer.")
	addr := fs.String("addr", "127.0.0.1:8080", "the address serve listens on (0.0.0.0 is asked on 127.0.0.1)")
	exclude := fs.String("exclude", "", "a check to leave out, as /readyz?exclude= (store)")
	if err := parse(fs, args); err != nil {
		return err
	}
	url, err := readyURL(*addr, *exclude)
	if err != nil {
		return usageError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return usageError{err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: GET %s answered %s: %s", url, resp.Status, body)
	}
	_, err = stdout.Write(body)
	return err
}

// readyURL is the /readyz URL of a serve listening on addr: an address
// that listens on every interface is asked on loopback.
func readyURL(addr, exclude string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: %v", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	if exclude != "" {
		url += "?exclude=" + exclude
	}
	return url, nil
}
