// Reads an iCalendar file with ical.js (the parser Thunderbird uses) and
// prints what it understood, for feed/interop_test.go.
//
//   node icaljs.mjs expand FILE UNTIL
//     one JSON line per occurrence whose original start is before UNTIL
//     (Unix seconds): the master's recurrence set (RRULE, EXDATE) with
//     RECURRENCE-ID overrides applied, and every non-recurring event.
//   node icaljs.mjs zones FILE QUERIES
//     FILE holds VTIMEZONEs; each QUERIES line is "TZID YYYYMMDDTHHMMSS
//     UNIX". Prints per line the Unix time ical.js gives the local time
//     and the UTC offset it gives the instant UNIX, as "LOCAL2UTC OFFSET".
import fs from 'node:fs';
import ICAL from 'ical.js';

const [mode, file, arg] = process.argv.slice(2);
const root = new ICAL.Component(ICAL.parse(fs.readFileSync(file, 'utf8')));
for (const vtz of root.getAllSubcomponents('vtimezone')) {
  ICAL.TimezoneService.register(vtz);
}

function utc(t) {
  return new Date(t.toUnixTime() * 1000).toISOString().replace('.000Z', 'Z');
}

function line(ev, rid, start, end) {
  const c = ev.component;
  return JSON.stringify({
    uid: ev.uid,
    rid: rid ? utc(rid) : '',
    start: utc(start),
    end: utc(end),
    status: c.getFirstPropertyValue('status') || '',
    summary: c.getFirstPropertyValue('summary') || '',
    description: c.getFirstPropertyValue('description') || '',
    location: c.getFirstPropertyValue('location') || '',
  });
}

function expand(until) {
  const out = [];
  const masters = new Map();
  const overrides = [];
  for (const vevent of root.getAllSubcomponents('vevent')) {
    // Exceptions are related by UID below. Left to itself, new
    // ICAL.Event(vevent) relates every VEVENT with a RECURRENCE-ID in
    // the calendar, whatever its UID, keyed by local time alone.
    const ev = new ICAL.Event(vevent, { strictExceptions: true, exceptions: [] });
    if (vevent.hasProperty('recurrence-id')) {
      overrides.push(ev);
    } else {
      masters.set(ev.uid, ev);
    }
  }
  const related = new Set();
  for (const ex of overrides) {
    const m = masters.get(ex.uid);
    if (m && m.isRecurring()) {
      m.relateException(ex);
      related.add(ex);
    }
  }
  for (const ev of masters.values()) {
    if (!ev.isRecurring()) {
      out.push(line(ev, null, ev.startDate, ev.endDate));
      continue;
    }
    const it = ev.iterator();
    for (let next = it.next(); next; next = it.next()) {
      if (next.toUnixTime() >= until) {
        break;
      }
      const d = ev.getOccurrenceDetails(next);
      out.push(line(d.item, d.item === ev ? next : d.item.recurrenceId, d.startDate, d.endDate));
    }
  }
  // An override whose master is missing or does not recur stands alone.
  for (const ex of overrides) {
    if (!related.has(ex)) {
      out.push(line(ex, ex.recurrenceId, ex.startDate, ex.endDate));
    }
  }
  process.stdout.write(out.map((l) => l + '\n').join(''));
}

function zones(queries) {
  const out = [];
  for (const q of fs.readFileSync(queries, 'utf8').split('\n')) {
    if (!q) {
      continue;
    }
    const [tzid, wall, unix] = q.split(' ');
    const zone = ICAL.TimezoneService.get(tzid);
    if (!zone) {
      throw new Error(`no VTIMEZONE ${tzid}`);
    }
    const local = ICAL.Time.fromDateTimeString(
      `${wall.slice(0, 4)}-${wall.slice(4, 6)}-${wall.slice(6, 8)}T${wall.slice(9, 11)}:${wall.slice(11, 13)}:${wall.slice(13, 15)}`);
    local.zone = zone;
    const at = new ICAL.Time();
    at.fromUnixTime(Number(unix));
    const shown = at.convertToZone(zone);
    const offset = Math.round(Date.UTC(shown.year, shown.month - 1, shown.day, shown.hour, shown.minute, shown.second) / 1000) - Number(unix);
    out.push(`${local.toUnixTime()} ${offset}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

if (mode === 'expand') {
  expand(Number(arg));
} else if (mode === 'zones') {
  zones(arg);
} else {
  throw new Error('usage: icaljs.mjs expand FILE UNTIL | zones FILE QUERIES');
}
