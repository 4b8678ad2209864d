package feed

import (
	"archive/zip"
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convene/convene/schedule"
)

// backwardZones are names events.toml may use that tzdata 2025c keeps
// only as links, with the canonical names the feed must write instead.
var backwardZones = map[string]string{
	"Europe/Kiev":     "Europe/Kyiv",
	"America/Godthab": "America/Nuuk",
	"Asia/Chongqing":  "Asia/Shanghai",
	"Asia/Rangoon":    "Asia/Yangon",
	"CET":             "Europe/Brussels",
	"MET":             "Europe/Brussels",
	"US/Eastern":      "America/New_York",
}

// TestCanonicalTZID renders a schedule that names its zones by links: the
// feed writes only the canonical names (TZID, VTIMEZONE, X-WR-TIMEZONE),
// one VTIMEZONE per name even where two links name one zone, while the
// schedule, which the page and the emails read, keeps the names as
// written.
func TestCanonicalTZID(t *testing.T) {
	var b strings.Builder
	b.WriteString("[calendar]\nname = \"Links\"\ntimezone = \"Europe/Kiev\"\nurl = \"https://links.example.org\"\n")
	for _, name := range sortedKeys(backwardZones) {
		id := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(name))
		b.WriteString("\n[[sessions]]\nid = \"" + id + "\"\ntitle = \"In " + name + "\"\ntimezone = \"" + name + "\"\nstart = 2025-06-02T18:00:00\n")
		b.WriteString("\n[[series]]\nid = \"" + id + "-weekly\"\ntitle = \"Weekly in " + name + "\"\ntimezone = \"" + name + "\"\nstart = 2025-06-03T18:00:00\nrrule = \"FREQ=WEEKLY;COUNT=30\"\n")
	}
	s, set := renderTOML(t, stampless{}, b.String(), fixedNow)
	if got := s.Calendar.Zone.String(); got != "Europe/Kiev" {
		t.Errorf("the schedule's zone is %s, want Europe/Kiev as written", got)
	}
	for _, o := range s.Expand(fixedNow, fixedNow.AddDate(2, 0, 0)) {
		if _, ok := backwardZones[o.Zone.String()]; !ok {
			t.Errorf("%s: zone %s, want the name events.toml gives", o.Key(), o.Zone)
		}
	}
	for path, d := range set.Docs() {
		body := string(d.Bytes())
		for link, canonical := range backwardZones {
			if strings.Contains(body, "TZID="+link+":") || strings.Contains(body, "TZID:"+link+"\r\n") ||
				strings.Contains(body, "X-WR-TIMEZONE:"+link+"\r\n") {
				t.Errorf("%s names %s; want %s", path, link, canonical)
			}
		}
		cal := parseComps(t, checkLines(t, d.Bytes()))
		if got := cal.get("X-WR-TIMEZONE"); got != "Europe/Kyiv" {
			t.Errorf("%s: X-WR-TIMEZONE %s, want Europe/Kyiv", path, got)
		}
		tzs := map[string]int{}
		for _, c := range cal.subs {
			if c.name == "VTIMEZONE" {
				tzs[c.get("TZID")]++
			}
		}
		for _, l := range checkLines(t, d.Bytes()) {
			if _, rest, ok := strings.Cut(l, ";TZID="); ok {
				name, _, _ := strings.Cut(rest, ":")
				if tzs[name] != 1 {
					t.Errorf("%s: TZID %s has %d VTIMEZONEs, want 1", path, name, tzs[name])
				}
			}
		}
	}
}

// TestCanonicalTZIDEveryZone checks the generated table against Go's
// zone data for every zone name: a name is rewritten only to one whose
// data is the same, so no instant moves, and to a name that is itself
// canonical.
func TestCanonicalTZIDEveryZone(t *testing.T) {
	data := goZoneData(t)
	rewritten := 0
	for name, d := range data {
		loc, err := schedule.LoadZone(name)
		if err != nil {
			t.Fatal(err)
		}
		target := tzid(loc)
		if target == name {
			continue
		}
		rewritten++
		if !bytes.Equal(d, data[target]) {
			t.Errorf("%s is written as %s, whose zone data differs", name, target)
		}
		if next, ok := canonicalZones[target]; ok {
			t.Errorf("%s is written as %s, itself a link to %s", name, target, next)
		}
	}
	for link, canonical := range backwardZones {
		loc, err := schedule.LoadZone(link)
		if err != nil {
			t.Fatal(err)
		}
		if got := tzid(loc); got != canonical {
			t.Errorf("tzid(%s) = %s, want %s", link, got, canonical)
		}
	}
	t.Logf("%d zone names, %d written as the zone they link to", len(data), rewritten)
}

// goZoneData reads every zone in Go's embedded zone database.
func goZoneData(t *testing.T) map[string][]byte {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	data := map[string][]byte{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		data[f.Name] = b
	}
	return data
}
