# Reads a podcast feed with feedparser (Debian's python3-feedparser) and
# prints what it understood as JSON, for podcast_test.go.
import json, sys
import feedparser

d = feedparser.parse(sys.argv[1])
items = []
for e in d.entries:
    items.append({
        "title": e.get("title"),
        "link": e.get("link"),
        "description": e.get("summary"),
        "published": e.get("published"),
        "published_utc": list(e.published_parsed[:6]) if e.get("published_parsed") else None,
        "id": e.get("id"),
        "duration": e.get("itunes_duration"),
        "enclosures": [{"url": x.get("href"), "length": x.get("length"), "type": x.get("type")} for x in e.get("enclosures", [])],
    })
print(json.dumps({
    "bozo": bool(d.bozo), "bozo_exception": str(d.get("bozo_exception", "")),
    "version": d.version, "title": d.feed.get("title"), "link": d.feed.get("link"),
    "namespaces": d.namespaces, "items": items,
}))
