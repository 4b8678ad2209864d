"""Validate TOML files against a JSON Schema with python3-jsonschema.

usage: validate.py SCHEMA FILE...

TOML dates and times become the strings that the schema's patterns read
(RFC 3339 text: 2023-07-16T20:00:00, 2023-07-17T00:00:00+00:00,
2023-08-27). Prints one JSON line per file: {"file": ..., "errors": [...]}.
"""
import datetime
import json
import sys
import tomllib

import jsonschema


def to_json(v):
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    return v


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for path in sys.argv[2:]:
        try:
            with open(path, "rb") as f:
                doc = to_json(tomllib.load(f))
            errors = ["/".join(map(str, e.absolute_path)) + ": " + e.message
                      for e in validator.iter_errors(doc)]
        except tomllib.TOMLDecodeError as e:
            errors = ["TOML: " + str(e)]
        print(json.dumps({"file": path, "errors": sorted(errors)}))


main()
