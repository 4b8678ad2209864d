package schedule

// mistakes are the typical mistakes of a new maintainer, one per file in
// testdata/mistakes, with the one problem check must report.
var mistakes = []struct {
	file   string
	want   string
	schema bool // a JSON Schema can see this mistake
}{}
