package mailer

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

//go:embed templates
var templateFS embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.New("").ParseFS(templateFS, "templates/*.txt.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(htmltemplate.FuncMap{
		"lines": func(s string) htmltemplate.HTML {
			ls := strings.Split(s, "\n")
			for i := range ls {
				ls[i] = htmltemplate.HTMLEscapeString(ls[i])
			}
			return htmltemplate.HTML(strings.Join(ls, "<br>\n"))
		},
		"field": func(label, value string) field { return field{label, value} },
	}).ParseFS(templateFS, "templates/*.html.tmpl"))
)

// Composer builds messages from one loaded schedule and its feeds. It is
// safe for use by several goroutines.
type Composer struct {
	Schedule *schedule.Schedule
	Feeds    *feed.Set // the .ics attachments; nil attaches none
	DKIM     *DKIM     // optional

	once    sync.Once
	from    *mail.Address
	fromErr error
	mu      sync.Mutex
	ics     map[string][]byte // by occurrence key and start
	bodies  map[string]bodies // by view, with unsubscribeStandIn for its link
}

// bodies are a message's text and HTML, as its templates render them.
type bodies struct{ text, html string }

// field is a labelled value in a template: a button's text and link, a
// row of the details table.
type field struct{ Label, Value string }

// view is what the templates see.
type view struct {
	Kind, Subject, Calendar, Title string
	When, PrevWhen                 []moment // the first in the recipient's zone
	In                             string   // "in 24 hours"
	Tentative                      bool
	Join, Location                 string
	Reading, Facilitator           string
	Description                    string
	Links                          []schedule.Link
	Page                           string          // the meeting's own page
	AddTo                          []schedule.Link // "Add to calendar" links to Google's and Outlook's pages
	ICS                            string          // the meeting's own .ics
	Feed                           string
	Webcal                         htmltemplate.URL
	Site                           string // calendar.url
	Organizer                      string // calendar.organizer's address
	Unsubscribe, Confirm           string
}

func (c *Composer) sender() (*mail.Address, error) {
	c.once.Do(func() {
		from := c.Schedule.Reminders.From
		if from == "" {
			c.fromErr = fmt.Errorf("reminders.from is not set in %s", c.Schedule.File)
			return
		}
		c.from, c.fromErr = mail.ParseAddress(from)
		if c.fromErr != nil {
			c.fromErr = fmt.Errorf("reminders.from %q: %w", from, c.fromErr)
		}
	})
	return c.from, c.fromErr
}

// domain is the From address' domain: Message-IDs and List-Id use it.
func (c *Composer) domain() string {
	if a, err := c.sender(); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			return d
		}
	}
	return "convene.invalid"
}

// Row renders the message an outbox row owes, as sent at now. o is the
// occurrence the row is about as the schedule now has it; nil for a
// meeting that was removed.
func (c *Composer) Row(row store.OutboxRow, o *schedule.Occurrence, now time.Time) (*Message, error) {
	zone, err := schedule.LoadZone(row.Zone)
	if err != nil {
		zone = c.Schedule.Calendar.Zone
	}
	v := c.base(string(row.Kind), row.Unsubscribe)
	v.Title = row.Title
	starts := row.Starts
	if o != nil && row.Kind != KindCancelled {
		// The schedule as it is now wins over what the row recorded.
		v.Title, starts = o.Title, o.Start
		c.details(&v, *o)
	}
	v.When = c.when(starts, zone, now)
	switch row.Kind {
	case KindReminder:
		if o == nil {
			return nil, fmt.Errorf("reminder %s: the meeting no longer exists", row.Ident)
		}
		v.In = until(o.Start.Sub(now))
		v.Tentative = o.Status == schedule.Tentative
		v.Subject = fmt.Sprintf("Reminder: %s, %s", v.Title, short(starts, zone))
	case KindMoved:
		v.PrevWhen = c.when(row.PrevStarts, zone, now)
		v.Subject = fmt.Sprintf("Moved: %s, now %s", v.Title, short(starts, zone))
	case KindCancelled:
		v.Subject = fmt.Sprintf("Cancelled: %s, %s", v.Title, short(starts, zone))
	case KindBackOn:
		v.Subject = fmt.Sprintf("Back on: %s, %s", v.Title, short(starts, zone))
	default:
		return nil, fmt.Errorf("outbox row %s: unknown kind %q", row.Ident, row.Kind)
	}
	m, err := c.msg(row.Recipient, messageID(row.Ident, c.domain()), v, now)
	if err != nil {
		return nil, err
	}
	if row.Kind != KindCancelled && o != nil && c.Feeds != nil {
		if err := m.AttachReader("invite.ics", bytes.NewReader(c.event(*o)),
			gomail.WithFileContentType("text/calendar; charset=utf-8; method=PUBLISH")); err != nil {
			return nil, fmt.Errorf("attach event: %w", err)
		}
	}
	return c.wire(m, row.Recipient)
}

// Reminder renders the reminder r as sent at now (for preview).
func (c *Composer) Reminder(r Reminder, now time.Time) (*Message, error) {
	o := r.Occurrence
	row := store.OutboxRow{
		Ident: r.Ident(), Kind: KindReminder, Occurrence: o.Key(), Offset: r.Offset, Recipient: r.Recipient.Address,
		Zone: zoneName(r.Recipient.Zone, c.Schedule.Calendar.Zone), Unsubscribe: r.Recipient.UnsubscribeURL,
		Title: o.Title, Starts: o.Start, Due: r.Due,
	}
	return c.Row(row, &o, now)
}

// Confirmation renders the double opt-in email asking to to open
// confirmURL.
func (c *Composer) Confirmation(to, confirmURL string, now time.Time) (*Message, error) {
	v := c.base("confirm", "")
	v.Confirm = confirmURL
	v.Subject = "Confirm your reminders from " + c.Schedule.Calendar.Name
	m, err := c.msg(to, messageID("confirm|"+strings.ToLower(to)+"|"+confirmURL, c.domain()), v, now)
	if err != nil {
		return nil, err
	}
	return c.wire(m, to)
}

// Test renders a test message to to.
func (c *Composer) Test(to string, now time.Time) (*Message, error) {
	v := c.base("test", "")
	v.When = c.when(now, c.Schedule.Calendar.Zone, now)
	v.Subject = "Test message from " + c.Schedule.Calendar.Name
	m, err := c.msg(to, messageID(fmt.Sprintf("test|%s|%d", to, now.UnixNano()), c.domain()), v, now)
	if err != nil {
		return nil, err
	}
	return c.wire(m, to)
}

// Message is a message rendered for the wire.
type Message struct {
	ID       string // the Message-ID, without angle brackets
	From, To string // the envelope's sender and recipient
	Data     []byte // the message, CRLF lines, DKIM-signed when the Composer signs
}

// wire renders m, to to, and signs it.
func (c *Composer) wire(m *gomail.Msg, to string) (*Message, error) {
	from, err := c.sender()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("render message: %w", err)
	}
	out := &Message{ID: strings.Trim(m.GetMessageID(), "<>"), From: from.Address, To: to, Data: b.Bytes()}
	if c.DKIM != nil {
		if out.Data, err = c.DKIM.Sign(out.Data); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Composer) base(kind, unsubscribe string) view {
	cal := c.Schedule.Calendar
	v := view{Kind: kind, Calendar: cal.Name, Unsubscribe: unsubscribe, Organizer: cal.Organizer.Email}
	if base := strings.TrimSuffix(cal.URL, "/"); base != "" {
		if u, err := url.Parse(base + "/calendar.ics"); err == nil && u.Host != "" {
			v.Site = base
			v.Feed = u.String()
			v.Webcal = htmltemplate.URL(feed.Webcal(v.Feed))
		}
	}
	return v
}

func (c *Composer) details(v *view, o schedule.Occurrence) {
	if o.JoinURL() != "" {
		v.Join = o.Location
	} else {
		v.Location = o.Location
	}
	v.Reading, v.Facilitator, v.Description, v.Links = o.Reading, o.Facilitator, o.Description, o.Links
	v.AddTo = addToCalendar(o)
	if v.Site != "" {
		kind := "sessions"
		if o.Series {
			kind = "series"
		}
		v.ICS = v.Site + "/" + kind + "/" + o.ID + ".ics"
		v.Page = v.Site + schedule.MeetingPath(o.Key())
	}
}

// addToCalendar returns links that add o to Google Calendar and
// Outlook.com.
func addToCalendar(o schedule.Occurrence) []schedule.Link {
	const stamp = "20060102T150405Z"
	start, end := o.Start.UTC(), o.End.UTC()
	about := ""
	if o.Reading != "" {
		about = "Reading: " + o.Reading
	}
	if o.Description != "" {
		about = strings.TrimSpace(about + "\n\n" + o.Description)
	}
	g := url.Values{"action": {"TEMPLATE"}, "text": {o.Title}, "dates": {start.Format(stamp) + "/" + end.Format(stamp)},
		"details": {about}, "location": {o.Location}}
	ol := url.Values{"path": {"/calendar/action/compose"}, "rru": {"addevent"}, "subject": {o.Title},
		"startdt": {start.Format(time.RFC3339)}, "enddt": {end.Format(time.RFC3339)}, "body": {about}, "location": {o.Location}}
	return []schedule.Link{
		{Title: "Google", URL: "https://calendar.google.com/calendar/render?" + g.Encode()},
		{Title: "Outlook", URL: "https://outlook.live.com/calendar/0/action/compose?" + ol.Encode()},
	}
}

func (c *Composer) event(o schedule.Occurrence) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := o.Key() + "@" + o.Start.UTC().Format(time.RFC3339)
	if b, ok := c.ics[k]; ok {
		return b
	}
	if c.ics == nil {
		c.ics = map[string][]byte{}
	}
	b := c.Feeds.Event(o)
	c.ics[k] = b
	return b
}

// msg assembles the message: headers, text and HTML bodies.
func (c *Composer) msg(to, id string, v view, now time.Time) (*gomail.Msg, error) {
	from, err := c.sender()
	if err != nil {
		return nil, err
	}
	text, html, err := c.render(v)
	if err != nil {
		return nil, err
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(from)
	if err := m.To(to); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", to, err)
	}
	m.SetGenHeaderPreformatted(gomail.HeaderSubject, subjectValue(v.Subject))
	m.SetMessageIDWithValue(id)
	m.SetDateWithValue(now)
	m.SetUserAgent("convene")
	m.SetGenHeaderPreformatted("List-Id", listID(c.Schedule.Calendar.Name, c.domain()))
	m.SetGenHeaderPreformatted("Auto-Submitted", "auto-generated")
	if v.Unsubscribe != "" {
		m.SetGenHeaderPreformatted(gomail.HeaderListUnsubscribe, "<"+v.Unsubscribe+">")
		m.SetGenHeaderPreformatted(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m, nil
}

// unsubscribeStandIn stands for a message's unsubscribe link in the
// bodies a Composer keeps; plainURL matches the links it can stand for,
// which both templates write as they are.
const unsubscribeStandIn = "https://convene.invalid/unsubscribe/stand-in"

var plainURL = regexp.MustCompile(`^https?://[A-Za-z0-9._~:/@-]+$`)

// keptBodies is how many rendered views a Composer keeps at most: the
// reminders due at one time, each zone's.
const keptBodies = 256

// render returns the bodies of v. The reminders of one meeting differ
// between recipients only by zone and unsubscribe link: each view is
// rendered once, with a stand-in for the link, which each message's link
// then replaces.
func (c *Composer) render(v view) (text, html string, err error) {
	link := v.Unsubscribe
	if link != "" && !plainURL.MatchString(link) {
		return render(v)
	}
	if link != "" {
		v.Unsubscribe = unsubscribeStandIn
	}
	key := fmt.Sprintf("%#v", v)
	c.mu.Lock()
	b, ok := c.bodies[key]
	c.mu.Unlock()
	if !ok {
		if b.text, b.html, err = render(v); err != nil {
			return "", "", err
		}
		if link != "" && (strings.Count(b.text, unsubscribeStandIn) != 1 || strings.Count(b.html, unsubscribeStandIn) != 1) {
			// The stand-in is also in the meeting's own text.
			v.Unsubscribe = link
			return render(v)
		}
		c.mu.Lock()
		if len(c.bodies) >= keptBodies || c.bodies == nil {
			c.bodies = map[string]bodies{}
		}
		c.bodies[key] = b
		c.mu.Unlock()
	}
	if link == "" {
		return b.text, b.html, nil
	}
	return strings.Replace(b.text, unsubscribeStandIn, link, 1), strings.Replace(b.html, unsubscribeStandIn, link, 1), nil
}

// render executes the text and HTML templates of v.Kind.
func render(v view) (text, html string, err error) {
	var tb, hb strings.Builder
	if err := textTemplates.ExecuteTemplate(&tb, v.Kind, v); err != nil {
		return "", "", fmt.Errorf("text template %s: %w", v.Kind, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&hb, v.Kind, v); err != nil {
		return "", "", fmt.Errorf("html template %s: %w", v.Kind, err)
	}
	return tb.String(), hb.String(), nil
}

var notAtom = regexp.MustCompile(`[^a-z0-9]+`)

// listID is the List-Id (RFC 2919): the calendar's name as phrase, and a
// dot-atom made of the name and the sender's domain.
func listID(name, domain string) string {
	slug := strings.Trim(notAtom.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if slug == "" {
		slug = "reminders"
	}
	return fmt.Sprintf("%q <%s.%s>", name, slug, domain)
}

// moment is an instant as read in one zone.
type moment struct {
	Day   string // "Sunday 16 July", with the year when it is not now's
	Clock string // "20:00 EDT"
	Place string // "New York"; empty for UTC
	Note  string // "next day" or "previous day" beside the first moment
}

// String reads "Sunday 16 July, 20:00 EDT in New York (next day)".
func (m moment) String() string {
	s := m.Day + ", " + m.Clock
	if m.Place != "" {
		s += " in " + m.Place
	}
	if m.Note != "" {
		s += " (" + m.Note + ")"
	}
	return s
}

// when returns t in zone, then in the calendar's zone and in UTC where
// those differ, with "next day" or "previous day" where a date differs
// from the first.
func (c *Composer) when(t time.Time, zone *time.Location, now time.Time) []moment {
	if zone == nil {
		zone = c.Schedule.Calendar.Zone
	}
	first := t.In(zone)
	out := []moment{momentOf(first, now)}
	seen := map[string]bool{zone.String(): true}
	for _, z := range []*time.Location{c.Schedule.Calendar.Zone, time.UTC} {
		if z == nil || seen[z.String()] {
			continue
		}
		seen[z.String()] = true
		m := momentOf(t.In(z), now)
		switch days(first, t.In(z)) {
		case 1:
			m.Note = "next day"
		case -1:
			m.Note = "previous day"
		}
		out = append(out, m)
	}
	return out
}

// momentOf reads t in its location, on the 24-hour clock.
func momentOf(t time.Time, now time.Time) moment {
	day := "Monday 2 January"
	if t.Year() != now.In(t.Location()).Year() {
		day += " 2006"
	}
	m := moment{Day: t.Format(day), Clock: t.Format("15:04 MST")}
	if p := city(t.Location().String()); p != "UTC" {
		m.Place = p
	}
	return m
}

// short is the time for a subject line: "Sun 16 Jul, 20:00 EDT".
func short(t time.Time, z *time.Location) string {
	return t.In(z).Format("Mon 2 Jan, 15:04 MST")
}

func city(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ReplaceAll(name, "_", " ")
}

// days is the number of calendar days from a's date to b's date.
func days(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// until says how far away a start is: "in 24 hours", "in 2 days".
func until(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "in 1 " + unit
		}
		return fmt.Sprintf("in %d %ss", n, unit)
	}
	switch {
	case d < 0:
		return "now"
	case d < 59*time.Minute+30*time.Second:
		return plural(max(1, int((d+30*time.Second)/time.Minute)), "minute")
	case d <= 36*time.Hour:
		return plural(int((d+30*time.Minute)/time.Hour), "hour")
	}
	return plural(int((d+12*time.Hour)/(24*time.Hour)), "day")
}

// SenderDomain returns the domain of s's [reminders].from: DKIM signs
// for it, and Message-IDs and the List-Id use it.
func SenderDomain(s *schedule.Schedule) (string, error) {
	c := &Composer{Schedule: s}
	if _, err := c.sender(); err != nil {
		return "", err
	}
	return c.domain(), nil
}
