/*
 * Reads an iCalendar file with libical (the library Evolution uses) and
 * prints what it understood, for feed/interop_test.go. Built by the test
 * with: gcc libical.c $(pkg-config --cflags --libs libical).
 *
 *   libical expand FILE UNTIL
 *     one JSON line per occurrence whose original start is before UNTIL
 *     (Unix seconds): each master's recurrence set (RRULE, EXDATE)
 *     expanded with icalrecur_iterator in the master's zone, RDATE
 *     instances added (as Evolution's e-cal-recur does), RECURRENCE-ID
 *     overrides put in place of the instance they name (matched by
 *     instant, as icaltime_compare does), and every non-recurring event.
 *     TZIDs resolve against the VTIMEZONEs in FILE, never libical's own
 *     zone database.
 *   libical zones FILE QUERIES
 *     each QUERIES line is "TZID YYYYMMDDTHHMMSS UNIX"; prints per line
 *     "LOCAL2UTC OFFSET": the Unix time libical gives the local time in
 *     the VTIMEZONE called TZID, and the UTC offset it gives the instant.
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n + 1);
    if (fread(buf, 1, n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

static icalcomponent *root;

/* zone returns the VTIMEZONE of the file that prop's TZID names, NULL for
 * UTC or floating times, and exits if the TZID has no VTIMEZONE. */
static icaltimezone *zone(icalproperty *prop)
{
    icalparameter *p = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
    if (!p) {
        return NULL;
    }
    const char *tzid = icalparameter_get_tzid(p);
    icaltimezone *z = icalcomponent_get_timezone(root, tzid);
    if (!z) {
        fprintf(stderr, "no VTIMEZONE for TZID %s\n", tzid);
        exit(3);
    }
    return z;
}

static time_t unix_of(struct icaltimetype t, icaltimezone *z)
{
    if (icaltime_is_utc(t) || !z) {
        return icaltime_as_timet_with_zone(t, icaltimezone_get_utc_timezone());
    }
    return icaltime_as_timet_with_zone(t, z);
}

/* instant returns the Unix time of the first property of kind in c. */
static int instant(icalcomponent *c, icalproperty_kind kind, time_t *out, icaltimezone **zp)
{
    icalproperty *p = icalcomponent_get_first_property(c, kind);
    if (!p) {
        return 0;
    }
    icaltimezone *z = zone(p);
    struct icaltimetype t = kind == ICAL_RECURRENCEID_PROPERTY ? icalproperty_get_recurrenceid(p)
                            : kind == ICAL_DTEND_PROPERTY      ? icalproperty_get_dtend(p)
                                                                : icalproperty_get_dtstart(p);
    *out = unix_of(t, z);
    if (zp) {
        *zp = z;
    }
    return 1;
}

static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\') {
            printf("\\%c", *c);
        } else if (*c == '\n') {
            fputs("\\n", stdout);
        } else if (*c == '\t') {
            fputs("\\t", stdout);
        } else if (*c < 0x20) {
            printf("\\u%04x", *c);
        } else {
            putchar(*c);
        }
    }
    putchar('"');
}

static void utc(time_t t)
{
    char buf[32];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("\"%s\"", buf);
}

static void line(icalcomponent *ev, int has_rid, time_t rid, time_t start, time_t end)
{
    icalproperty *st = icalcomponent_get_first_property(ev, ICAL_STATUS_PROPERTY);
    printf("{\"uid\":");
    json_string(icalcomponent_get_uid(ev));
    printf(",\"rid\":");
    if (has_rid) {
        utc(rid);
    } else {
        printf("\"\"");
    }
    printf(",\"start\":");
    utc(start);
    printf(",\"end\":");
    utc(end);
    printf(",\"status\":");
    json_string(st ? icalproperty_status_to_string(icalproperty_get_status(st)) : "");
    printf(",\"summary\":");
    json_string(icalcomponent_get_summary(ev));
    printf(",\"description\":");
    json_string(icalcomponent_get_description(ev));
    printf(",\"location\":");
    json_string(icalcomponent_get_location(ev));
    printf("}\n");
}

/* override returns the override of uid whose RECURRENCE-ID is at. */
static icalcomponent *override(const char *uid, time_t at)
{
    for (icalcomponent *c = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); c;
         c = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
        time_t rid;
        if (strcmp(icalcomponent_get_uid(c), uid) == 0 && instant(c, ICAL_RECURRENCEID_PROPERTY, &rid, NULL) &&
            rid == at) {
            return c;
        }
    }
    return NULL;
}

/* recurs reports whether ev is a master: it has an RRULE or an RDATE. */
static int recurs(icalcomponent *ev)
{
    return icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY) ||
           icalcomponent_get_first_property(ev, ICAL_RDATE_PROPERTY);
}

/* instance prints the instance of master ev at `at`, unless an EXDATE
 * removes it, or its override in its place. */
static void instance(icalcomponent *ev, time_t at, time_t length)
{
    for (icalproperty *ex = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY); ex;
         ex = icalcomponent_get_next_property(ev, ICAL_EXDATE_PROPERTY)) {
        if (unix_of(icalproperty_get_exdate(ex), zone(ex)) == at) {
            return;
        }
    }
    icalcomponent *o = override(icalcomponent_get_uid(ev), at);
    if (o) {
        time_t os, oe;
        instant(o, ICAL_DTSTART_PROPERTY, &os, NULL);
        if (!instant(o, ICAL_DTEND_PROPERTY, &oe, NULL)) {
            oe = os + icaldurationtype_as_int(icalcomponent_get_duration(o));
        }
        line(o, 1, at, os, oe);
    } else {
        line(ev, 1, at, at, at + length);
    }
}

static void expand(time_t until)
{
    icalcomponent **evs = NULL;
    int n = 0;
    for (icalcomponent *c = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); c;
         c = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
        evs = realloc(evs, (n + 1) * sizeof *evs);
        evs[n++] = c;
    }
    for (int i = 0; i < n; i++) {
        icalcomponent *ev = evs[i];
        time_t start, end, rid;
        icaltimezone *z = NULL;
        if (!instant(ev, ICAL_DTSTART_PROPERTY, &start, &z)) {
            fprintf(stderr, "VEVENT without DTSTART\n");
            exit(3);
        }
        if (!instant(ev, ICAL_DTEND_PROPERTY, &end, NULL)) {
            end = start + icaldurationtype_as_int(icalcomponent_get_duration(ev));
        }
        icalproperty *rrule = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY);
        int has_rid = instant(ev, ICAL_RECURRENCEID_PROPERTY, &rid, NULL);
        if (has_rid) {
            /* An override stands alone when no master recurs at rid. */
            int matched = 0;
            for (int j = 0; j < n && !matched; j++) {
                if (evs[j] != ev && strcmp(icalcomponent_get_uid(evs[j]), icalcomponent_get_uid(ev)) == 0 &&
                    recurs(evs[j])) {
                    matched = 1;
                }
            }
            if (!matched) {
                line(ev, 1, rid, start, end);
            }
            continue;
        }
        if (!recurs(ev)) {
            line(ev, 0, 0, start, end);
            continue;
        }
        /* Collected first: instance() walks the EXDATEs, and a
         * component has one property iterator. */
        time_t rdates[4096];
        int nr = 0;
        for (icalproperty *rd = icalcomponent_get_first_property(ev, ICAL_RDATE_PROPERTY); rd && nr < 4096;
             rd = icalcomponent_get_next_property(ev, ICAL_RDATE_PROPERTY)) {
            rdates[nr++] = unix_of(icalproperty_get_rdate(rd).time, zone(rd));
        }
        for (int r = 0; r < nr; r++) {
            instance(ev, rdates[r], end - start);
        }
        if (!rrule) {
            instance(ev, start, end - start);
            continue;
        }
        struct icaltimetype dtstart = icalcomponent_get_dtstart(ev);
        struct icalrecurrencetype recur = icalproperty_get_rrule(rrule);
        icalrecur_iterator *it = icalrecur_iterator_new(recur, dtstart);
        if (!it) {
            fprintf(stderr, "bad RRULE %s\n", icalrecurrencetype_as_string(&recur));
            exit(3);
        }
        for (struct icaltimetype t = icalrecur_iterator_next(it); !icaltime_is_null_time(t);
             t = icalrecur_iterator_next(it)) {
            time_t at = unix_of(t, z);
            if (at >= until) {
                break;
            }
            instance(ev, at, end - start);
        }
        icalrecur_iterator_free(it);
    }
    free(evs);
}

static void zones(const char *queries)
{
    FILE *f = fopen(queries, "r");
    if (!f) {
        perror(queries);
        exit(2);
    }
    char tzid[256], wall[32];
    long long secs;
    while (fscanf(f, "%255s %31s %lld", tzid, wall, &secs) == 3) {
        icaltimezone *z = icalcomponent_get_timezone(root, tzid);
        if (!z) {
            fprintf(stderr, "no VTIMEZONE %s\n", tzid);
            exit(3);
        }
        struct icaltimetype local = icaltime_from_string(wall);
        time_t l2u = icaltime_as_timet_with_zone(local, z);
        struct icaltimetype at = icaltime_from_timet_with_zone((time_t)secs, 0, icaltimezone_get_utc_timezone());
        int dst;
        int off = icaltimezone_get_utc_offset_of_utc_time(z, &at, &dst);
        printf("%lld %d\n", (long long)l2u, off);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: libical expand FILE UNTIL | zones FILE QUERIES\n");
        return 2;
    }
    char *data = slurp(argv[2]);
    root = icalparser_parse_string(data);
    if (!root || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
        fprintf(stderr, "%s: not a VCALENDAR\n", argv[2]);
        return 3;
    }
    if (strcmp(argv[1], "expand") == 0) {
        expand((time_t)atoll(argv[3]));
    } else if (strcmp(argv[1], "zones") == 0) {
        zones(argv[3]);
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    icalcomponent_free(root);
    free(data);
    return 0;
}
