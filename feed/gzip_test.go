package feed

import (
	"bytes"
	"compress/gzip"
	"io"

	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/convene/convene/schedule"
)

// gzipTestSet renders the repository's sample schedule: a feed large
// enough that gzip makes it smaller.
func gzipTestSet(t *testing.T) *Set {
	t.Helper()
	s, err := schedule.Load(filepath.Join("..", "events.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return renderTestSet(t, s)
}

// TestGzip: a client that accepts gzip gets the gzip form, which
// decompresses to the identity bytes, under an ETag of its own; each
// encoding answers 304 to its own ETag only; Vary is always sent; a
// client that refuses gzip or says nothing gets identity.
func TestGzip(t *testing.T) {
	set := gzipTestSet(t)
	h := &Handler{}
	h.Swap(set)
	do := func(method string, headers ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/calendar.ics", nil)
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	id := do("GET")
	gz := do("GET", "Accept-Encoding", "deflate, gzip;q=0.8, br")
	for name, w := range map[string]*httptest.ResponseRecorder{"identity": id, "gzip": gz} {
		if w.Code != 200 || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: %d, Vary %q", name, w.Code, w.Header().Get("Vary"))
		}
	}
	if id.Header().Get("Content-Encoding") != "" || !bytes.Equal(id.Body.Bytes(), set.All.Bytes()) {
		t.Errorf("identity: Content-Encoding %q, body differs from the feed", id.Header().Get("Content-Encoding"))
	}
	if gz.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: Content-Encoding %q", gz.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, set.All.Bytes()) {
		t.Errorf("the gzip body does not decompress to the identity bytes (err %v)", err)
	}
	if gz.Body.Len() >= len(set.All.Bytes())/2 || gz.Header().Get("Content-Length") != strconv.Itoa(gz.Body.Len()) {
		t.Errorf("gzip body %d bytes (Content-Length %s) for %d", gz.Body.Len(), gz.Header().Get("Content-Length"), len(set.All.Bytes()))
	}
	idTag, gzTag := id.Header().Get("Etag"), gz.Header().Get("Etag")
	if idTag == gzTag || !strings.HasPrefix(gzTag, `"`) || !strings.HasSuffix(gzTag, `"`) {
		t.Errorf("ETags identity %s, gzip %s: want two strong, different validators", idTag, gzTag)
	}

	for _, c := range []struct {
		name, ae, inm string
		want          int
	}{
		{"gzip, its ETag", "gzip", gzTag, 304},
		{"gzip, the identity ETag", "gzip", idTag, 200},
		{"identity, its ETag", "", idTag, 304},
		{"identity, the gzip ETag", "", gzTag, 200},
		{"gzip refused", "gzip;q=0, identity", idTag, 304},
		{"any encoding", "*", gzTag, 304},
	} {
		w := do("GET", "Accept-Encoding", c.ae, "If-None-Match", c.inm)
		if w.Code != c.want || (c.want == 304 && w.Body.Len() != 0) {
			t.Errorf("%s: %d with %d bytes, want %d", c.name, w.Code, w.Body.Len(), c.want)
		}
		if w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: no Vary", c.name)
		}
	}
	if w := do("HEAD", "Accept-Encoding", "gzip"); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Etag") != gzTag {
		t.Errorf("HEAD with gzip: %d, %d bytes, ETag %s", w.Code, w.Body.Len(), w.Header().Get("Etag"))
	}
	if w := do("GET", "Accept-Encoding", "gzip", "Range", "bytes=0-9"); w.Code != 206 || w.Body.Len() != 10 ||
		!bytes.Equal(w.Body.Bytes(), gz.Body.Bytes()[:10]) {
		t.Errorf("a range of the gzip form: %d, %q", w.Code, w.Body.Bytes())
	}
}

// TestGzipRealClients fetches the feed from a real HTTP server with the
// clients calendar apps are built on, with and without gzip: curl
// --compressed, Node's fetch (undici) handing the text to ical.js, and
// Python's urllib with its gzip module handing the bytes to python
// icalendar. Each decompresses to the identity bytes and parses both.
func TestGzipRealClients(t *testing.T) {
	set := gzipTestSet(t)
	h := &Handler{}
	h.Swap(set)
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + "/calendar.ics"
	dir := t.TempDir()
	want := string(set.All.Bytes())
	events := strings.Count(want, "BEGIN:VEVENT")

	t.Run("curl", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			interopMissing(t, "curl is not installed (apt-get install curl)")
		}
		for _, args := range [][]string{{"--compressed"}, {}} {
			out := filepath.Join(dir, "curl.ics")
			hdr := filepath.Join(dir, "curl.headers")
			cmd := exec.Command(curl, append(args, "-sS", "-o", out, "-D", hdr, url)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("curl %v: %v\n%s", args, err, b)
			}
			got, _ := os.ReadFile(out)
			headers, _ := os.ReadFile(hdr)
			gzipped := strings.Contains(strings.ToLower(string(headers)), "content-encoding: gzip")
			if gzipped != (len(args) > 0) || string(got) != want {
				t.Errorf("curl %v: gzip %v, body equal %v\n%s", args, gzipped, string(got) == want, headers)
			}
		}
	})
	t.Run("ical.js", func(t *testing.T) {
		node := icaljsCommand(t)[0]
		script := `
import ICAL from 'ical.js';
for (const enc of ['gzip', 'identity']) {
  const res = await fetch(process.argv[1], {headers: {'accept-encoding': enc}});
  const text = await res.text();
  const cal = new ICAL.Component(ICAL.parse(text));
  console.log(enc, res.headers.get('content-encoding') || 'identity', cal.getAllSubcomponents('vevent').length, text.length);
}`
		cmd := exec.Command(node, "--input-type=module", "-e", script, url)
		cmd.Dir = parsersDir(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		wantOut := strings.Join([]string{
			"gzip gzip " + strconv.Itoa(events) + " " + strconv.Itoa(len([]rune(want))),
			"identity identity " + strconv.Itoa(events) + " " + strconv.Itoa(len([]rune(want))),
		}, "\n")
		if strings.TrimSpace(string(out)) != wantOut {
			t.Errorf("ical.js read:\n%s\nwant\n%s", out, wantOut)
		}
	})
	t.Run("python icalendar", func(t *testing.T) {
		python := pythonCommand(t)[0]
		script := `
import gzip, sys, urllib.request, icalendar
want = open(sys.argv[2], 'rb').read()
for enc in ('gzip', 'identity'):
    req = urllib.request.Request(sys.argv[1], headers={'Accept-Encoding': enc})
    with urllib.request.urlopen(req) as res:
        body = res.read()
        got = res.headers.get('Content-Encoding') or 'identity'
    if got == 'gzip':
        body = gzip.decompress(body)
    cal = icalendar.Calendar.from_ical(body)
    print(enc, got, len(cal.walk('VEVENT')), body == want)
`
		wantFile := filepath.Join(dir, "want.ics")
		if err := os.WriteFile(wantFile, set.All.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(python, "-c", script, url, wantFile).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		wantOut := "gzip gzip " + strconv.Itoa(events) + " True\nidentity identity " + strconv.Itoa(events) + " True"
		if strings.TrimSpace(string(out)) != wantOut {
			t.Errorf("python icalendar read:\n%s\nwant\n%s", out, wantOut)
		}
	})
}
