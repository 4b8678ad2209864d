package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	v, ok := s.sameSiteForm(w, r, maxForm)
	if !ok {
		return
	}
	if !s.csrfOK(r) {
		s.message(w, http.StatusForbidden, v, message{Title: "Please try again",
			Text: []string{"The form had expired or your browser did not send its cookie. Reload the page and sign up again."},
			Back: true})
		return
	}
	now := s.cfg.Now()
	if client := s.cfg.ClientIP(r); !s.ips.allow(client, now) {
		s.refused(LimitClient, "client", client)
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.IPEvery/time.Second)))
		s.message(w, http.StatusTooManyRequests, v, message{Title: "Too many sign-ups",
			Text: []string{"Too many sign-ups came from your network. Please wait a few minutes and try again."}})
		return
	}
	form := signupForm{Email: r.PostFormValue("email"), Zone: r.PostFormValue("zone"), Series: map[string]bool{}}
	series := r.PostForm["series"]
	for _, id := range series {
		form.Series[id] = true
	}
	email, err := ParseAddress(form.Email)
	var zone string
	if err == nil {
		var loc *time.Location
		loc, err = schedule.LoadZone(form.Zone)
		if err != nil {
			err = fmt.Errorf("%q is not a time zone we know; pick one from the list, such as Europe/London", form.Zone)
		} else {
			zone = loc.String()
		}
	}
	for _, id := range series {
		if err == nil && !v.series[id] {
			err = fmt.Errorf("there is no series %q", id)
		}
	}
	if err != nil {
		form.Error = err.Error()
		s.signupPage(w, r, http.StatusBadRequest, v, form)
		return
	}
	nonce := make([]byte, nonceLen)
	rand.Read(nonce)
	expires := now.Add(s.cfg.ConfirmFor)
	send, err := s.cfg.Store.SignUp(r.Context(), now, store.SignUp{Email: email, Zone: zone, Series: series,
		Nonce: base64.RawURLEncoding.EncodeToString(nonce), Expires: expires}, s.cfg.AddressLimit)
	if err != nil {
		s.internalError(w, v, "sign-up", err)
		return
	}
	if send {
		// Queued, not sent: where mail goes is said once, at start.
		s.log.Info("sign-up", "confirmation", "queued")
		s.mail(r.Context(), email, v.base+"/confirm/"+s.tokens.make(confirmToken, nonce, expires))
	} else {
		s.refused(LimitAddress)
	}
	// The same answer whether the address is new, known or limited.
	http.Redirect(w, r, "/subscribe/sent", http.StatusSeeOther)
}

// refused logs (without the address) and counts a sign-up that limit
// turned away. Many refusals with one client behind a reverse proxy mean
// serve sees the proxy, not the people: set --client-ip-header.
func (s *Server) refused(limit Limit, attrs ...any) {
	s.log.Info("sign-up refused", append([]any{"limit", string(limit)}, attrs...)...)
	if s.cfg.Refused != nil {
		s.cfg.Refused(limit)
	}
}

// mail sends a confirmation without holding up the answer, so that its
// timing tells nothing either.
func (s *Server) mail(ctx context.Context, to, link string) {
	if s.cfg.Mailer == nil {
		s.log.Warn("no mailer configured: confirmation mail not sent")
		return
	}
	s.sent.Add(1)
	go func() {
		defer s.sent.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := s.cfg.Mailer.SendConfirmation(ctx, to, link); err != nil {
			s.log.Warn("confirmation mail not sent", "err", strings.ReplaceAll(err.Error(), to, "<address>"))
		}
	}()
}

// ParseAddress accepts a bare address (no display name, no comments, no
// quoted local part) and returns it with its domain in lower case.
func ParseAddress(s string) (string, error) {
	bad := fmt.Errorf("%q is not an email address", s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("please give an email address")
	}
	if len(s) > maxEmail || strings.ContainsAny(s, " \t\r\n\"(),:;<>[\\]") {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return "", bad
	}
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

func (s *Server) subscribeSent(w http.ResponseWriter, r *http.Request) {
	s.message(w, http.StatusOK, s.current(), message{Title: "Check your inbox",
		Text: []string{
			"If the address can receive mail, a message with a confirmation link is on its way to it.",
			"Reminders start only after you follow that link. It works for two days. If nothing arrives, look in your spam folder.",
		}, Back: true})
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request, status int, v *view, form signupForm) {
	data, _ := build(indexAt(v.idx, v.sched, s.cfg.Now()), v.base, s.cfg.Now(), zoneList)
	data.Form = form
	data.CSRF = s.csrf(w, r, v)
	s.render(w, status, "signup.html", data)
}
