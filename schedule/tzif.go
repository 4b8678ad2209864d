package schedule

import (
	"encoding/binary"
	"time"
)

// Go's zone database is "slim": a zone's file lists its transitions
// only up to the year its rules last changed (2007 for New York, 1996
// for Berlin), and time finds any later offset by parsing the zone's
// POSIX TZ string again, on every lookup. A schedule's times are
// mostly later than that, and a load and a render look up each one a
// dozen times. So each zone is loaded with its transitions written out
// up to fatUntil (as zic -b fat writes them), found from the zone
// itself: the same offsets, names and bounds, from a table.

// fatUntil is the year up to which transitions are written out; later
// ones are still found from the TZ string, which the file keeps.
const fatUntil = 2100

// fatten returns the TZif data of loc, loaded from data, with the
// transitions after its last one, up to fatUntil, written out; ok is
// false when data is not a version 2 or later file laid out as
// expected, or has nothing to add.
func fatten(data []byte, loc *time.Location) (fat []byte, ok bool) {
	const header = 44 // magic, version, padding, six counts
	if len(data) < header || string(data[:4]) != "TZif" || data[4] < '2' {
		return nil, false
	}
	counts := func(h []byte) (isut, isstd, leap, times, types, chars int) {
		c := func(i int) int { return int(binary.BigEndian.Uint32(h[20+4*i:])) }
		return c(0), c(1), c(2), c(3), c(4), c(5)
	}
	isut, isstd, leap, times, types, chars := counts(data)
	v2 := header + times*4 + times + types*6 + chars + leap*8 + isstd + isut
	if len(data) < v2+header || string(data[v2:v2+4]) != "TZif" {
		return nil, false
	}
	isut, isstd, leap, times, types, chars = counts(data[v2:])
	body := data[v2+header:]
	size := times*8 + times + types*6 + chars + leap*12 + isstd + isut
	if len(body) < size || leap != 0 || times == 0 {
		return nil, false
	}
	footer := body[size:]
	when := make([]int64, times)
	for i := range when {
		when[i] = int64(binary.BigEndian.Uint64(body[8*i:]))
	}
	index := append([]byte(nil), body[times*8:times*9]...)
	typeData := append([]byte(nil), body[times*9:times*9+types*6]...)
	abbrevs := append([]byte(nil), body[times*9+types*6:times*9+types*6+chars]...)

	// typeOf returns the index of the local time type of t, added if new.
	typeOf := func(t time.Time) (int, bool) {
		name, offset := t.Zone()
		dst := byte(0)
		if t.IsDST() {
			dst = 1
		}
		for i := 0; i+6 <= len(typeData); i += 6 {
			at := typeData[i+5]
			if int32(binary.BigEndian.Uint32(typeData[i:])) == int32(offset) && typeData[i+4] == dst &&
				int(at) < len(abbrevs) && cString(abbrevs[at:]) == name {
				return i / 6, true
			}
		}
		if len(typeData)/6 >= 255 || len(abbrevs)+len(name)+1 > 255 {
			return 0, false
		}
		typeData = binary.BigEndian.AppendUint32(typeData, uint32(int32(offset)))
		typeData = append(typeData, dst, byte(len(abbrevs)))
		abbrevs = append(append(abbrevs, name...), 0)
		return len(typeData)/6 - 1, true
	}
	end := time.Date(fatUntil, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	added := 0
	t := time.Unix(when[times-1], 0).In(loc)
	last, _ := typeOf(t)
	for {
		_, next := t.ZoneBounds()
		if !next.IsZero() && !next.After(t) {
			// Go (1.26) ends a period found from the TZ string at a
			// new year, and for up to a day after it reports that
			// period again (see feed's transitions): step an hour.
			next = t.Add(time.Hour)
			if start, _ := next.ZoneBounds(); start.After(t) {
				next = start
			}
		}
		if next.IsZero() || next.Unix() >= end {
			break
		}
		i, ok := typeOf(next)
		if !ok {
			return nil, false
		}
		if i != last { // not a new year's bound, which changes nothing
			when, index = append(when, next.Unix()), append(index, byte(i))
			last = i
			added++
		}
		t = next
	}
	if added == 0 {
		return nil, false
	}
	out := append([]byte(nil), data[:v2+header]...)
	h := out[v2:]
	for i, n := range []int{0, 0, 0, len(when), len(typeData) / 6, len(abbrevs)} {
		binary.BigEndian.PutUint32(h[20+4*i:], uint32(n))
	}
	for _, w := range when {
		out = binary.BigEndian.AppendUint64(out, uint64(w))
	}
	out = append(out, index...)
	out = append(out, typeData...)
	out = append(out, abbrevs...)
	return append(out, footer...), true
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
