// Command schema writes events.schema.json, the JSON Schema of
// events.toml, from the key definitions in package schedule (schedule.Keys).
// Editors read it through the "#:schema" line of events.toml; a test in
// package schedule fails when the committed file and the definitions drift.
package main

//go:generate go run . events.schema.json

import (
	"fmt"
	"os"

	"github.com/convene/convene/schedule"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./schema FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], schedule.JSONSchema(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
