package schedule

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestLoadManyMatchesParse: a first load of a file with enough sessions
// that they are read on every core (readAhead), some of them with
// mistakes (a zone that does not exist, a start in a gap or not a time,
// an unknown key, an id twice or in capitals, a title too long), gives
// what Parse gives: the same schedule, or the same problems, with their
// lines, in the same order.
func TestLoadManyMatchesParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	mistakes := []func(i int) (id, start, extra string){
		func(i int) (string, string, string) { return "s" + fmt.Sprint(i), "2030-03-31T02:30:00", "" }, // in Berlin's gap
		func(i int) (string, string, string) { return "s" + fmt.Sprint(i), `"tomorrow"`, "" },
		func(i int) (string, string, string) {
			return "s" + fmt.Sprint(i), "2030-01-01T18:00:00", "timezone = \"Europe/Berln\"\n"
		},
		func(i int) (string, string, string) {
			return "s" + fmt.Sprint(i), "2030-01-01T18:00:00", "colour = \"red\"\n"
		},
		func(i int) (string, string, string) { return "s0", "2030-01-01T18:00:00", "" },
		func(i int) (string, string, string) { return "S" + fmt.Sprint(i), "2030-01-01T18:00:00", "" },
		func(i int) (string, string, string) {
			return "s" + fmt.Sprint(i), "2030-01-01T18:00:00", fmt.Sprintf("title = %q\n", strings.Repeat("x", MaxLine+1))
		},
	}
	for round := range 12 {
		n := 200 + rng.IntN(400)
		bad := map[int]int{} // session -> mistake
		for range rng.IntN(4) {
			bad[rng.IntN(n)] = rng.IntN(len(mistakes))
		}
		var b strings.Builder
		b.WriteString("[calendar]\nname = \"G\"\ntimezone = \"Europe/Berlin\"\n")
		for i := range n {
			id, start, extra := fmt.Sprint("s", i), fmt.Sprintf("2030-%02d-%02dT18:00:00", 1+i%12, 1+i%28), ""
			if m, ok := bad[i]; ok {
				id, start, extra = mistakes[m](i)
			}
			title := fmt.Sprintf("title = \"Session %d\"\n", i)
			if strings.HasPrefix(extra, "title") {
				title = ""
			}
			fmt.Fprintf(&b, "\n[[sessions]]\nid = %q\n%sstart = %s\n%s", id, title, start, extra)
		}
		data := []byte(b.String())
		want, werr := Parse("events.toml", data)
		got, gerr := Reparse(nil, "events.toml", data)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("round %d (mistakes %v): a first load's error\n%v\nParse's\n%v", round, bad, gerr, werr)
		}
		if werr != nil {
			continue
		}
		got.cut, got.gen, got.splice = nil, 0, nil
		for i, ss := range got.Sessions {
			plain := *ss
			plain.origin = nil
			got.Sessions[i] = &plain
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: a first load and Parse differ", round)
		}
	}
}
