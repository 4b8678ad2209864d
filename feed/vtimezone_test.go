package feed

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/convene/convene/schedule"
)

// TestTimezoneUntil checks, for every zone, that each observance's RRULE
// gives the same onsets whether its UTC UNTIL is compared with the
// onsets' instants, as RFC 5545 says, or with their local wall clock, as
// dateutil's tzical (python vobject, Radicale's parser) does: read the
// second way, an UNTIL at the last onset itself drops that onset east of
// Greenwich (Asia/Shanghai stayed on +09 after 1991).
func TestTimezoneUntil(t *testing.T) {
	from := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)
	checked := 0
	for _, name := range schedule.ZoneNames() {
		loc, err := schedule.LoadZone(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range Timezone(loc, from, to).Components {
			props := map[string]string{}
			for _, p := range c.UnknownPropertiesIANAProperties() {
				props[p.IANAToken] = p.Value
			}
			if !strings.Contains(props["RRULE"], "UNTIL=") {
				continue
			}
			checked++
			rfc, wall := onsets(t, props, true), onsets(t, props, false)
			if len(rfc) != len(wall) {
				t.Errorf("%s: RRULE %s from %s gives %d onsets by instant, %d by wall clock; last by instant %s",
					name, props["RRULE"], props["DTSTART"], len(rfc), len(wall), rfc[len(rfc)-1])
			}
		}
	}
	if checked == 0 {
		t.Fatal("no observance has an UNTIL")
	}
}

// onsets expands an observance's RRULE as wall clock, comparing UNTIL
// with each onset's instant (byInstant) or with its wall clock.
func onsets(t *testing.T, props map[string]string, byInstant bool) []time.Time {
	t.Helper()
	start, err := time.Parse(localFormat, props["DTSTART"])
	if err != nil {
		t.Fatal(err)
	}
	opt, err := rrule.StrToROptionInLocation(props["RRULE"], time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if byInstant {
		opt.Until = opt.Until.Add(time.Duration(utcOffset(t, props["TZOFFSETFROM"])) * time.Second)
	}
	opt.Dtstart = start
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		t.Fatal(err)
	}
	return r.All()
}

// utcOffset parses an RFC 5545 utc-offset into seconds.
func utcOffset(t *testing.T, s string) int {
	t.Helper()
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[3:5])
	sec := 0
	var err3 error
	if len(s) == 7 {
		sec, err3 = strconv.Atoi(s[5:7])
	}
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("bad utc-offset %q", s)
	}
	off := h*3600 + m*60 + sec
	if s[0] == '-' {
		off = -off
	}
	return off
}
