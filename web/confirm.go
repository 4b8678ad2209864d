package web

import (
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/convene/convene/store"
)

// token checks the token of a link, answering with a page when it is
// not good.
func (s *Server) token(w http.ResponseWriter, r *http.Request, v *view, k kind) ([]byte, bool) {
	nonce, err := s.tokens.open(k, r.PathValue("token"), s.cfg.Now())
	switch {
	case errors.Is(err, errExpired):
		s.message(w, http.StatusGone, v, message{Title: "This link has expired",
			Text: []string{"Sign up again on the page to get a new one."}, Back: true})
		return nil, false
	case err != nil:
		s.message(w, http.StatusBadRequest, v, message{Title: "This link is not valid",
			Text: []string{"Check that you copied the whole link from the email."}, Back: true})
		return nil, false
	}
	return nonce, true
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	v := s.current()
	if _, ok := s.token(w, r, v, confirmToken); !ok {
		return
	}
	// A GET changes nothing: mail scanners follow links.
	s.message(w, http.StatusOK, v, message{Title: "Confirm your sign-up",
		Text:   []string{"Press the button to start getting reminders before each meeting of " + v.sched.Calendar.Name + "."},
		Action: r.URL.Path, Button: "Start reminders"})
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	v, ok := s.sameSiteForm(w, r, maxUnsubscribe)
	if !ok {
		return
	}
	nonce, ok := s.token(w, r, v, confirmToken)
	if !ok {
		return
	}
	sub, err := s.cfg.Store.Confirm(r.Context(), s.cfg.Now(), base64.RawURLEncoding.EncodeToString(nonce))
	if errors.Is(err, store.ErrNotFound) {
		s.message(w, http.StatusGone, v, message{Title: "This link was already used",
			Text: []string{"Each confirmation link works once, and a newer sign-up replaces it. If you are not getting reminders, sign up again."}, Back: true})
		return
	}
	if err != nil {
		s.internalError(w, v, "confirm", err)
		return
	}
	s.log.Info("subscriber confirmed", "subscriber", sub)
	s.changed(r.Context())
	manage := s.unsubscribePath(sub)
	s.message(w, http.StatusOK, v, message{Title: "You are signed up",
		Text: []string{"Reminders will come before each meeting, with times in " + sub.Zone + ".",
			"Every reminder has a link to stop them or change your time zone."},
		Link: manage, LinkText: "Change time zone or unsubscribe", Back: true})
}
