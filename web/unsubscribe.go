package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// UnsubscribeURL returns the link that lets sub unsubscribe (and change
// zone), for the reminders planned from sched to carry. It works for
// UnsubscribeFor, and is the same all day, so that planning reminders
// again does not change it.
func (s *Server) UnsubscribeURL(sched *schedule.Schedule, sub store.Subscriber) string {
	base := sched.Calendar.URL
	if base == "" {
		base = s.cfg.BaseURL
	}
	return base + s.unsubscribePath(sub)
}

func (s *Server) unsubscribePath(sub store.Subscriber) string {
	key, err := base64.RawURLEncoding.DecodeString(sub.Key)
	if err != nil || len(key) != nonceLen {
		return "/unsubscribe/-"
	}
	day := s.cfg.Now().UTC().Truncate(24 * time.Hour)
	return "/unsubscribe/" + s.tokens.make(unsubscribeToken, key, day.Add(UnsubscribeFor))
}

func (s *Server) subscriber(w http.ResponseWriter, r *http.Request, v *view) (store.Subscriber, bool) {
	nonce, ok := s.token(w, r, v, unsubscribeToken)
	if !ok {
		return store.Subscriber{}, false
	}
	sub, err := s.cfg.Store.SubscriberByKey(r.Context(), base64.RawURLEncoding.EncodeToString(nonce))
	if errors.Is(err, store.ErrNotFound) {
		s.message(w, http.StatusGone, v, message{Title: "You are not subscribed",
			Text: []string{"This address gets no reminders from this page: it has already unsubscribed."}, Back: true})
		return sub, false
	}
	if err != nil {
		s.internalError(w, v, "unsubscribe", err)
		return sub, false
	}
	return sub, true
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	sub, ok := s.subscriber(w, r, v)
	if !ok {
		return
	}
	s.message(w, http.StatusOK, v, message{Title: "Stop the reminders?",
		Text:   []string{"Press the button to stop all reminders from " + v.sched.Calendar.Name + ". Your address is then deleted."},
		Action: r.URL.Path, Button: "Unsubscribe", Danger: true,
		ZoneForm: &zoneForm{Action: "/zone/" + r.PathValue("token"), Zone: sub.Zone, Zones: zoneList}})
}

// unsubscribe answers the button on the page and the RFC 8058 one-click
// POST (body List-Unsubscribe=One-Click) from mail clients alike: the
// token is the whole authority, so no cookie or CSRF value is needed.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r, maxUnsubscribe) {
		return
	}
	v := s.current()
	sub, ok := s.subscriber(w, r, v)
	if !ok {
		return
	}
	if err := s.cfg.Store.Unsubscribe(r.Context(), sub.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, v, "unsubscribe", err)
		return
	}
	s.log.Info("unsubscribed", "subscriber", sub, "one_click", r.PostFormValue("List-Unsubscribe") == "One-Click")
	s.changed(r.Context())
	s.message(w, http.StatusOK, v, message{Title: "You are unsubscribed",
		Text: []string{"You will get no more reminders, and your address has been deleted."}, Back: true})
}
