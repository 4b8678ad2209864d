package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPageGzip: the landing page and the static files, asked for with
// gzip, decompress to the bytes sent without it, CSRF value included;
// curl --compressed, a real client, reads the same page.
func TestPageGzip(t *testing.T) {
	f := newFixture(t, "https://example.org")
	cookie := &http.Cookie{Name: csrfCookie, Value: strings.Repeat("A", 22)}
	get := func(path, ae string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.AddCookie(cookie)
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		return w
	}
	for _, path := range []string{"/", "/static/page.css", "/static/page.js"} {
		id, gz := get(path, ""), get(path, "gzip, deflate, br")
		if id.Code != 200 || gz.Code != 200 {
			t.Fatalf("%s: %d, %d", path, id.Code, gz.Code)
		}
		if gz.Header().Get("Content-Encoding") != "gzip" || id.Header().Get("Content-Encoding") != "" ||
			gz.Header().Get("Vary") != "Accept-Encoding" || id.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: Content-Encoding %q/%q, Vary %q/%q", path, gz.Header().Get("Content-Encoding"),
				id.Header().Get("Content-Encoding"), gz.Header().Get("Vary"), id.Header().Get("Vary"))
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, id.Body.Bytes()) {
			t.Errorf("%s: the gzip body does not decompress to the identity bytes (%v)", path, err)
		}
		if et := gz.Header().Get("Etag"); et != "" && et == id.Header().Get("Etag") {
			t.Errorf("%s: one ETag %s for both encodings", path, et)
		}
	}
	if id := get("/", ""); !strings.Contains(id.Body.String(), f.srv.csrfValue(cookie.Value)) {
		t.Error("the page holds no CSRF value")
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CONVENE_REQUIRE_INTEROP") != "" {
			t.Fatal("curl is not installed")
		}
		t.Skip("curl is not installed (apt-get install curl)")
	}
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "page.html")
	if b, err := exec.Command(curl, "-sS", "--compressed", "-b", cookie.Name+"="+cookie.Value, "-o", out, srv.URL+"/").CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	if want := get("/", "").Body.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("curl --compressed read %d bytes, want the %d of the page", len(got), len(want))
	}
}
