// Package podcast renders the recordings of a schedule as a podcast feed:
// RSS 2.0 (https://www.rssboard.org/rss-specification) with Apple's
// iTunes namespace and the Podcasting 2.0 namespace
// (https://podcastindex.org/namespace/1.0), one item per recorded
// meeting, newest first.
package podcast

import (
	"bytes"
	"crypto/sha1"
	"encoding/xml"
	"fmt"
	"html"
	"sort"
	"strings"
	"time"

	"github.com/convene/convene/schedule"
)

// Path is where the web page serves the feed and where `convene feed
// --out` writes it.
const Path = "/recordings.xml"

// ContentType is the feed's media type.
const ContentType = "application/rss+xml; charset=utf-8"

type rss struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Itunes  string   `xml:"xmlns:itunes,attr"`
	Podcast string   `xml:"xmlns:podcast,attr"`
	Atom    string   `xml:"xmlns:atom,attr"`
	Channel channel  `xml:"channel"`
}

type channel struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	Self        atomLink `xml:"atom:link"`
	Description string   `xml:"description"`
	Generator   string   `xml:"generator"`
	Author      string   `xml:"itunes:author,omitempty"`
	Summary     string   `xml:"itunes:summary,omitempty"`
	Explicit    string   `xml:"itunes:explicit"`
	Type        string   `xml:"itunes:type"`
	GUID        string   `xml:"podcast:guid"`
	Medium      string   `xml:"podcast:medium"`
	Items       []item   `xml:"item"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type item struct {
	Title       string      `xml:"title"`
	Link        string      `xml:"link,omitempty"`
	Description string      `xml:"description"`
	PubDate     string      `xml:"pubDate"`
	GUID        guid        `xml:"guid"`
	Enclosure   enclosure   `xml:"enclosure"`
	Duration    string      `xml:"itunes:duration,omitempty"`
	EpisodeType string      `xml:"itunes:episodeType"`
	Alternates  []alternate `xml:"podcast:alternateEnclosure"`
}

type guid struct {
	Permalink bool   `xml:"isPermaLink,attr"`
	ID        string `xml:",chardata"`
}

type enclosure struct {
	URL    string `xml:"url,attr"`
	Length int64  `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

// alternate is a Podcasting 2.0 podcast:alternateEnclosure: the same
// meeting in another file, such as its video.
type alternate struct {
	Type    string `xml:"type,attr"`
	Length  int64  `xml:"length,attr"`
	Default bool   `xml:"default,attr,omitempty"`
	Source  source `xml:"podcast:source"`
}

type source struct {
	URI string `xml:"uri,attr"`
}

// Recorded returns the meetings of s that have recordings, newest first.
// Recordings belong to sessions and to changed occurrences of a series,
// so only those are looked at, never every occurrence of a series.
func Recorded(s *schedule.Schedule) []schedule.Occurrence {
	var out []schedule.Occurrence
	for i := range s.Sessions {
		if len(s.Sessions[i].Recordings) > 0 {
			out = append(out, s.Single(s.Sessions[i]))
		}
	}
	for i := range s.Series {
		for _, o := range s.Changed(&s.Series[i]) {
			if len(o.Recordings) > 0 {
				out = append(out, o)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.After(out[j].Start)
		}
		return out[i].Key() < out[j].Key()
	})
	return out
}

// Render returns the feed of the recordings of s, whose page is at base
// (calendar.url, without a trailing slash).
func Render(s *schedule.Schedule, base string) []byte {
	cal := s.Calendar
	desc := cal.Description
	if desc == "" {
		desc = "Recordings of the meetings of " + cal.Name + "."
	}
	ch := channel{
		Title:       cal.Name,
		Link:        base + "/",
		Self:        atomLink{Href: base + Path, Rel: "self", Type: "application/rss+xml"},
		Description: desc,
		Generator:   "convene",
		Author:      cal.Organizer.Name,
		Summary:     desc,
		Explicit:    "false",
		Type:        "episodic",
		GUID:        feedGUID(base + Path),
		Medium:      "podcast",
	}
	for _, o := range Recorded(s) {
		ch.Items = append(ch.Items, itemOf(o, base))
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	err := enc.Encode(rss{Version: "2.0", Channel: ch,
		Itunes:  "http://www.itunes.com/dtds/podcast-1.0.dtd",
		Podcast: "https://podcastindex.org/namespace/1.0",
		Atom:    "http://www.w3.org/2005/Atom"})
	if err != nil {
		// Only strings and numbers above, whose text encoding/xml
		// escapes: this cannot happen.
		panic("podcast: " + err.Error())
	}
	b.WriteString("\n")
	return b.Bytes()
}

// Paragraphs returns what an item says about o: its reading, its
// facilitator and its description, a paragraph each.
func Paragraphs(o schedule.Occurrence) []string {
	var text []string
	if o.Reading != "" {
		text = append(text, "Reading: "+o.Reading)
	}
	if o.Facilitator != "" {
		text = append(text, "Facilitator: "+o.Facilitator)
	}
	if o.Description != "" {
		text = append(text, strings.Split(o.Description, "\n\n")...)
	}
	return text
}

// describe returns the paragraphs as HTML, which is what apps (and feed
// parsers) take an item's description to be: plain text with a < or an
// & in it would otherwise be read as markup.
func describe(paragraphs []string) string {
	var b strings.Builder
	for _, p := range paragraphs {
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(strings.TrimSpace(p)), "\n", "<br>") + "</p>")
	}
	return b.String()
}

func itemOf(o schedule.Occurrence, base string) item {
	it := item{
		Title:       o.Title,
		Link:        base + schedule.MeetingPath(o.Key()),
		Description: describe(Paragraphs(o)),
		PubDate:     o.Start.UTC().Format(time.RFC1123Z),
		GUID:        guid{ID: o.Key()},
		EpisodeType: "full",
	}
	main := Main(o.Recordings)
	r := o.Recordings[main]
	it.Enclosure = enclosure{URL: r.URL, Length: r.Length, Type: r.Type}
	if r.Duration > 0 {
		it.Duration = fmt.Sprint(int64(r.Duration.Round(time.Second) / time.Second))
	}
	if len(o.Recordings) > 1 {
		for i, r := range o.Recordings {
			it.Alternates = append(it.Alternates, alternate{Type: r.Type, Length: r.Length, Default: i == main,
				Source: source{URI: r.URL}})
		}
	}
	return it
}

// Main returns the index of the recording a podcast app plays: the first
// audio file, since most listen, or else the first.
func Main(rs []schedule.Recording) int {
	for i, r := range rs {
		if strings.HasPrefix(r.Type, "audio/") {
			return i
		}
	}
	return 0
}

// feedGUID is the Podcasting 2.0 podcast:guid of the feed at url: a
// version 5 UUID of the URL without its scheme, in the namespace the
// specification names.
func feedGUID(url string) string {
	ns := [16]byte{0xea, 0xd4, 0xc2, 0x36, 0xbf, 0x58, 0x58, 0xc6, 0xa2, 0xc6, 0xa6, 0xb2, 0x8d, 0x12, 0x8c, 0xb6}
	_, rest, ok := strings.Cut(url, "://")
	if !ok {
		rest = url
	}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(strings.TrimSuffix(rest, "/")))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
