package feed

import "time"

//go:generate go run gen_tzid.go

// tzid returns the TZID the feed writes for loc: the canonical IANA name
// of its zone. events.toml may name a zone by a backward-compatible link
// (Europe/Kiev, America/Godthab, Asia/Chongqing, CET, ...), which the page
// and the emails keep; but sabre/vobject 4 (Nextcloud, SabreDAV) trusts
// only the names PHP lists, ignores the VTIMEZONE of any other TZID and
// reads its times as UTC. A link's zone data is its target's, so the
// name is all that changes.
func tzid(loc *time.Location) string {
	if name, ok := canonicalZones[loc.String()]; ok {
		return name
	}
	return loc.String()
}
