"""Reads an iCalendar file with python vobject (Radicale's parser, which
builds each VTIMEZONE into a tzinfo through dateutil's tzical) and prints
what it understood, for feed/interop_test.go.

    /usr/bin/python3 pyvobject.py expand FILE UNTIL
        one JSON line per occurrence whose original start is before UNTIL
        (Unix seconds): each master's recurrence set (RRULE, RDATE,
        EXDATE) from vobject's getrruleset, RECURRENCE-ID overrides put in
        place of the instance they name (matched by instant), and every
        non-recurring event.
    /usr/bin/python3 pyvobject.py zones FILE QUERIES
        each QUERIES line is "TZID YYYYMMDDTHHMMSS UNIX"; prints per line
        "LOCAL2UTC OFFSET": the Unix time vobject gives the local time in
        the VTIMEZONE called TZID, and the UTC offset it gives the instant;
        or "error MESSAGE" where dateutil raises.
"""
import datetime
import json
import sys

import vobject

UTC = datetime.timezone.utc


def unix(dt):
    if not isinstance(dt, datetime.datetime):
        raise SystemExit("%r is a DATE, not a DATE-TIME" % (dt,))
    if dt.tzinfo is None:
        raise SystemExit("%r is floating, not UTC or zoned" % (dt,))
    return int(dt.timestamp())


def utc(t):
    return datetime.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text(ev, name):
    c = ev.contents.get(name)
    return str(c[0].value) if c else ""


def span(ev):
    start = unix(ev.dtstart.value)
    if "dtend" in ev.contents:
        return start, unix(ev.dtend.value)
    return start, start + int(ev.duration.value.total_seconds())


def line(ev, rid, start, end):
    print(json.dumps({
        "uid": text(ev, "uid"),
        "rid": utc(rid) if rid is not None else "",
        "start": utc(start),
        "end": utc(end),
        "status": text(ev, "status"),
        "summary": text(ev, "summary"),
        "description": text(ev, "description"),
        "location": text(ev, "location"),
    }, ensure_ascii=False))


def expand(cal, until):
    events = list(cal.contents.get("vevent", []))
    overrides = {}
    for ev in events:
        if "recurrence-id" in ev.contents:
            overrides[(text(ev, "uid"), unix(ev.recurrence_id.value))] = ev
    masters = {text(ev, "uid") for ev in events if "rrule" in ev.contents or "rdate" in ev.contents}
    for ev in events:
        uid = text(ev, "uid")
        start, end = span(ev)
        if "recurrence-id" in ev.contents:
            if uid not in masters:
                line(ev, unix(ev.recurrence_id.value), start, end)
            continue
        rs = ev.getrruleset(addRDate=True)
        if rs is None:
            line(ev, None, start, end)
            continue
        for dt in rs:
            at = unix(dt)
            if at >= until:
                break
            o = overrides.get((uid, at))
            if o is not None:
                line(o, at, *span(o))
            else:
                line(ev, at, at, at + (end - start))


def zones(cal, queries):
    # The tzinfo vobject builds from each VTIMEZONE (through dateutil's
    # tzical), as reading events with that TZID would; built once each.
    tzs = {}
    for c in cal.contents.get("vtimezone", []):
        tzs[c.tzid.value] = vobject.icalendar.TimezoneComponent.gettzinfo(c)
    with open(queries) as f:
        for q in f:
            tzid, wall, secs = q.split()
            tz = tzs[tzid]
            try:
                local = datetime.datetime.strptime(wall, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
                at = datetime.datetime.fromtimestamp(int(secs), UTC).astimezone(tz)
                print(int(local.timestamp()), int(at.utcoffset().total_seconds()))
            except ValueError as e:
                # dateutil refuses some zones' changes outright.
                print("error", json.dumps(str(e)))


def main():
    mode, path, arg = sys.argv[1:4]
    with open(path, encoding="utf-8", newline="") as f:
        data = f.read()
    if mode == "expand":
        expand(vobject.readOne(data), int(arg))
    elif mode == "zones":
        zones(vobject.readOne(data, transform=False), arg)
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
