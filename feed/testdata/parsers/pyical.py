"""Reads an iCalendar file with python icalendar and recurring-ical-events
and prints what they understood, for feed/interop_test.go.

    /usr/bin/python3 pyical.py FILE FROM TO

prints one JSON line per occurrence that overlaps [FROM, TO) (Unix
seconds), as recurring_ical_events.of(calendar).between() yields them:
RRULE and EXDATE expanded, RECURRENCE-ID overrides in place.
"""
import datetime
import json
import sys

import icalendar
import recurring_ical_events


def utc(value):
    dt = value.dt
    if not isinstance(dt, datetime.datetime):
        raise SystemExit("%r is a DATE, not a DATE-TIME" % (value.to_ical(),))
    if dt.tzinfo is None:
        raise SystemExit("%r is floating, not UTC or zoned" % (value.to_ical(),))
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    path, start, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, "rb") as f:
        cal = icalendar.Calendar.from_ical(f.read())
    span = [datetime.datetime.fromtimestamp(t, datetime.timezone.utc) for t in (start, stop)]
    for ev in recurring_ical_events.of(cal).between(*span):
        rid = ev.get("RECURRENCE-ID")
        print(json.dumps({
            "uid": str(ev.get("UID", "")),
            "rid": utc(rid) if rid is not None else "",
            "start": utc(ev["DTSTART"]),
            "end": utc(ev["DTEND"]),
            "status": str(ev.get("STATUS", "")),
            "summary": str(ev.get("SUMMARY", "")),
            "description": str(ev.get("DESCRIPTION", "")),
            "location": str(ev.get("LOCATION", "")),
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
