package schedule

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTextLimits checks that a huge field is refused with its file, line,
// key and limit, and that a field at the limit is accepted.
func TestTextLimits(t *testing.T) {
	huge := strings.Repeat("Read chapter one. ", 5<<20/18) // about 5 MB
	tests := []struct{ name, toml, want string }{
		{"5 MB series description", series("2024-01-04T20:00:00", "FREQ=WEEKLY") + "description = \"" + huge + "\"\n",
			"events.toml:11: series[0].description: is 5120 KiB, over the limit of 32 KiB for a text; shorten it, or put the text on a web page and link to it"},
		{"long title", header + "[[sessions]]\nid = \"a\"\nstart = 2024-01-04T20:00:00\ntitle = \"" + strings.Repeat("t", 1025) + "\"\n",
			"events.toml:9: sessions[0].title: is 2 KiB, over the limit of 1 KiB for a one-line field; shorten it, or put the text on a web page and link to it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("events.toml", []byte(tt.toml))
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Error() != tt.want {
				t.Errorf("Parse = %.300v\nwant %s", err, tt.want)
			}
		})
	}
	mustParse(t, series("2024-01-04T20:00:00", "FREQ=WEEKLY")+"description = \""+strings.Repeat("d", MaxText)+"\"\n")
}

// TestFileLimit checks that Load refuses a 50 MB events.toml, reading no
// more than the limit.
func TestFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.toml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(header + "# " + strings.Repeat("x", 50<<20) + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	want := path + ": is larger than the limit of 32 MiB; split long texts into links, or move past meetings out of the file"
	if err == nil || err.Error() != want {
		t.Errorf("Load(50 MB) = %.300v\nwant %s", err, want)
	}
}
