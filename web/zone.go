package web

import (
	"fmt"
	"net/http"

	"github.com/convene/convene/schedule"
)

func (s *Server) changeZone(w http.ResponseWriter, r *http.Request) {
	v, ok := s.sameSiteForm(w, r, maxForm)
	if !ok {
		return
	}
	sub, ok := s.subscriber(w, r, v)
	if !ok {
		return
	}
	loc, err := schedule.LoadZone(r.PostFormValue("zone"))
	if err != nil {
		s.message(w, http.StatusBadRequest, v, message{Title: "Unknown time zone",
			Text: []string{fmt.Sprintf("%q is not a time zone we know; pick one from the list, such as Europe/London.", r.PostFormValue("zone"))},
			Link: "/unsubscribe/" + r.PathValue("token"), LinkText: "Back"})
		return
	}
	if err := s.cfg.Store.SetZone(r.Context(), sub.Key, loc.String()); err != nil {
		s.internalError(w, v, "change zone", err)
		return
	}
	s.log.Info("subscriber changed zone", "subscriber", sub)
	s.changed(r.Context())
	s.message(w, http.StatusOK, v, message{Title: "Time zone changed",
		Text: []string{"Reminders will show times in " + loc.String() + "."},
		Link: "/unsubscribe/" + r.PathValue("token"), LinkText: "Back to your settings"})
}

// zoneList is offered in the form's list of zones when the browser cannot
// list its own (Intl.supportedValuesOf); any IANA name is accepted.
var zoneList = []string{
	"UTC",
	"Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos", "Africa/Nairobi",
	"America/Anchorage", "America/Argentina/Buenos_Aires", "America/Bogota", "America/Chicago",
	"America/Denver", "America/Halifax", "America/Los_Angeles", "America/Mexico_City",
	"America/New_York", "America/Phoenix", "America/Santiago", "America/Sao_Paulo",
	"America/St_Johns", "America/Toronto", "America/Vancouver",
	"Asia/Bangkok", "Asia/Dhaka", "Asia/Dubai", "Asia/Hong_Kong", "Asia/Jakarta",
	"Asia/Jerusalem", "Asia/Karachi", "Asia/Kathmandu", "Asia/Kolkata", "Asia/Manila",
	"Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Taipei", "Asia/Tehran", "Asia/Tokyo",
	"Atlantic/Reykjavik", "Australia/Adelaide", "Australia/Brisbane", "Australia/Perth", "Australia/Sydney",
	"Europe/Amsterdam", "Europe/Athens", "Europe/Berlin", "Europe/Dublin", "Europe/Helsinki",
	"Europe/Istanbul", "Europe/Kyiv", "Europe/Lisbon", "Europe/London", "Europe/Madrid",
	"Europe/Moscow", "Europe/Paris", "Europe/Rome", "Europe/Stockholm", "Europe/Warsaw",
	"Pacific/Auckland", "Pacific/Honolulu",
}
