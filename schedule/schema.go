package schedule

import (
	"bytes"
	"encoding/json"
	"strings"
)

// SchemaURL is where the published JSON Schema of events.toml lives, for
// the "#:schema" line that editors (Taplo, Even Better TOML) read.
const SchemaURL = "https://raw.githubusercontent.com/convene/convene/main/schema/events.schema.json"

// Patterns of the JSON Schema, in the regular expression syntax that
// JSON Schema validators share (ECMA 262). Dates and times are strings
// there: a TOML date-time becomes its RFC 3339 text.
const (
	oneLinePattern  = `^[^\u0000-\u0008\u000a-\u001f\u007f]*$`
	textPattern     = `^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$`
	durationPattern = `^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))*$`
	datePattern     = `[0-9]{4}-[0-9]{2}-[0-9]{2}`
	timePattern     = `[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?`
)

// JSONSchema returns the JSON Schema (draft-07) of events.toml, built from
// Keys. schema/events.schema.json is this output.
func JSONSchema() []byte {
	root := tableSchema(Keys)
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = SchemaURL
	root["title"] = "events.toml"
	root["description"] = "The schedule of one group, read by convene. Generated from the key definitions in package schedule (go generate ./schema)."
	zones := ZoneNames()
	root["definitions"] = map[string]any{
		"zone": map[string]any{"type": "string", "enum": zones},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic("schedule: JSON Schema: " + err.Error()) // only plain values above
	}
	return b.Bytes()
}

func tableSchema(keys []Key) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, k := range keys {
		props[k.Name] = keySchema(k)
		if k.Required {
			required = append(required, k.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func keySchema(k Key) map[string]any {
	s := valueSchema(k)
	if k.List && k.OrOne {
		s = map[string]any{"anyOf": []any{s, map[string]any{"type": "array", "items": s}}}
	} else if k.List {
		s = map[string]any{"type": "array", "items": s}
	}
	desc := k.Doc + ". " + upperFirst(k.Rule()) + "."
	if k.Default != "" {
		desc += " Default: " + k.Default + "."
		var v any
		if json.Unmarshal([]byte(k.Default), &v) == nil {
			s["default"] = v
		}
	}
	if k.Required {
		desc += " Required."
	}
	s["description"] = desc
	return s
}

func valueSchema(k Key) map[string]any {
	str := func(pattern string) map[string]any {
		return map[string]any{"type": "string", "pattern": pattern}
	}
	switch k.Kind {
	case KindText:
		return str(textPattern)
	case KindLine:
		return str(oneLinePattern)
	case KindID:
		return str(idPattern.String())
	case KindURL:
		s := str(`^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+[^\s]*$`)
		s["format"] = "uri"
		return s
	case KindHTTPS:
		s := str(`^[Hh][Tt][Tt][Pp][Ss]://[^\s/?#]+[^\s]*$`)
		s["format"] = "uri"
		return s
	case KindMediaType:
		return str(`^(audio|video)/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$`)
	case KindBytes:
		return map[string]any{"type": "integer", "minimum": 1}
	case KindEmail:
		return str(`^[^\s<>@]+@[^\s<>@]+$`)
	case KindMailbox:
		return str(`^[^\u0000-\u001f\u007f]*@[^\u0000-\u001f\u007f]*$`)
	case KindZone:
		return map[string]any{"allOf": []any{map[string]any{"$ref": "#/definitions/zone"}}}
	case KindDuration:
		return str(durationPattern)
	case KindStatus:
		return map[string]any{"type": "string", "enum": []Status{Confirmed, Tentative, Cancelled}}
	case KindRRule:
		return str(`[Ff][Rr][Ee][Qq]=`)
	case KindDateTime:
		return str(`^` + datePattern + `[Tt ]` + timePattern + `([Zz]|[+-][0-9]{2}:[0-9]{2})?$`)
	case KindOccurrence:
		return str(`^` + datePattern + `([Tt ]` + timePattern + `)?$`)
	case KindTable:
		return tableSchema(k.Keys)
	}
	return map[string]any{}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
