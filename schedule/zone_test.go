package schedule

import (
	"testing"
	"time"
)

func wall(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		zone string
		wall string
		want string // the instant in UTC
		fit  Fit
	}{
		{"new york summer", "America/New_York", "2024-07-01T20:00:00", "2024-07-02T00:00:00Z", Exact},
		{"new york winter", "America/New_York", "2024-01-07T20:00:00", "2024-01-08T01:00:00Z", Exact},
		{"new york gap uses offset before", "America/New_York", "2024-03-10T02:30:00", "2024-03-10T07:30:00Z", Gap},
		{"new york gap start", "America/New_York", "2024-03-10T02:00:00", "2024-03-10T07:00:00Z", Gap},
		{"new york after gap", "America/New_York", "2024-03-10T03:00:00", "2024-03-10T07:00:00Z", Exact},
		{"new york overlap is the first", "America/New_York", "2024-11-03T01:30:00", "2024-11-03T05:30:00Z", Overlap},
		{"new york overlap start", "America/New_York", "2024-11-03T01:00:00", "2024-11-03T05:00:00Z", Overlap},
		{"new york after overlap", "America/New_York", "2024-11-03T02:00:00", "2024-11-03T07:00:00Z", Exact},
		{"new york before 2007 rules", "America/New_York", "2006-04-02T02:30:00", "2006-04-02T07:30:00Z", Gap},
		{"new york not a gap before 2007", "America/New_York", "2006-03-12T02:30:00", "2006-03-12T07:30:00Z", Exact},
		{"london winter", "Europe/London", "2024-01-15T12:00:00", "2024-01-15T12:00:00Z", Exact},
		{"london gap", "Europe/London", "2024-03-31T01:30:00", "2024-03-31T01:30:00Z", Gap},
		{"london overlap", "Europe/London", "2024-10-27T01:30:00", "2024-10-27T00:30:00Z", Overlap},
		{"sydney summer in january", "Australia/Sydney", "2024-01-15T20:00:00", "2024-01-15T09:00:00Z", Exact},
		{"sydney overlap in april", "Australia/Sydney", "2024-04-07T02:30:00", "2024-04-06T15:30:00Z", Overlap},
		{"sydney gap in october", "Australia/Sydney", "2024-10-06T02:30:00", "2024-10-05T16:30:00Z", Gap},
		{"lord howe winter", "Australia/Lord_Howe", "2024-07-01T12:00:00", "2024-07-01T01:30:00Z", Exact},
		{"lord howe summer", "Australia/Lord_Howe", "2024-01-01T12:00:00", "2024-01-01T01:00:00Z", Exact},
		{"lord howe half-hour gap", "Australia/Lord_Howe", "2024-10-06T02:15:00", "2024-10-05T15:45:00Z", Gap},
		{"lord howe after half-hour gap", "Australia/Lord_Howe", "2024-10-06T02:30:00", "2024-10-05T15:30:00Z", Exact},
		{"lord howe half-hour overlap", "Australia/Lord_Howe", "2024-04-07T01:45:00", "2024-04-06T14:45:00Z", Overlap},
		{"kolkata", "Asia/Kolkata", "2024-03-10T02:30:00", "2024-03-09T21:00:00Z", Exact},
		{"kolkata autumn", "Asia/Kolkata", "2024-11-03T01:30:00", "2024-11-02T20:00:00Z", Exact},
		{"apia before the skipped day", "Pacific/Apia", "2011-12-29T20:00:00", "2011-12-30T06:00:00Z", Exact},
		{"apia skipped day", "Pacific/Apia", "2011-12-30T12:00:00", "2011-12-30T22:00:00Z", Gap},
		{"apia skipped midnight", "Pacific/Apia", "2011-12-30T00:00:00", "2011-12-30T10:00:00Z", Gap},
		{"apia after the skipped day", "Pacific/Apia", "2011-12-31T20:00:00", "2011-12-31T06:00:00Z", Exact},
		{"utc", "UTC", "2024-03-10T02:30:00", "2024-03-10T02:30:00Z", Exact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			got, fit := Resolve(wall(tt.wall), loc)
			if !got.Equal(utc(tt.want)) || fit != tt.fit {
				t.Errorf("Resolve(%s, %s) = %s, %v, want %s, %v", tt.wall, tt.zone, got.UTC().Format(time.RFC3339), fit, tt.want, tt.fit)
			}
			if got.Location() != loc {
				t.Errorf("Resolve(%s, %s) is in %v, want %v", tt.wall, tt.zone, got.Location(), loc)
			}
			// An existing time reads back as the same wall clock.
			if fit != Gap && !Wall(got, loc).Equal(wall(tt.wall)) {
				t.Errorf("Wall(Resolve(%s)) = %s", tt.wall, Wall(got, loc))
			}
		})
	}
}

func TestDescribeGap(t *testing.T) {
	tests := []struct{ zone, wall, want string }{
		{"America/New_York", "2024-03-10T02:30:00", "2024-03-10T02:30 does not exist in America/New_York (clocks go forward at 02:00)"},
		{"Australia/Lord_Howe", "2024-10-06T02:15:00", "2024-10-06T02:15 does not exist in Australia/Lord_Howe (clocks go forward at 02:00)"},
		{"Pacific/Apia", "2011-12-30T12:00:00", "2011-12-30T12:00 does not exist in Pacific/Apia (clocks go forward at 00:00)"},
	}
	for _, tt := range tests {
		if got := describeGap(wall(tt.wall), mustZone(t, tt.zone)); got != tt.want {
			t.Errorf("describeGap(%s, %s) = %q, want %q", tt.wall, tt.zone, got, tt.want)
		}
	}
}

func TestLoadZone(t *testing.T) {
	for _, name := range []string{"", "Local", "Mars/Olympus", "../etc/passwd", "America/New_York "} {
		if _, err := LoadZone(name); err == nil {
			t.Errorf("LoadZone(%q) = nil error, want an error", name)
		}
	}
	for _, name := range []string{"UTC", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia"} {
		if loc, err := LoadZone(name); err != nil || loc.String() != name {
			t.Errorf("LoadZone(%q) = %v, %v", name, loc, err)
		}
	}
}
