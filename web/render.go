package web

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
)

// message is a short page: a title, some paragraphs, and at most one
// button, a zone form and a link.
type message struct {
	Name     string
	Title    string
	Text     []string
	Action   string // the button POSTs here
	Button   string
	Danger   bool // the button destroys something: it looks it
	ZoneForm *zoneForm
	Link     string
	LinkText string
	Back     bool // link to the landing page
}

type zoneForm struct {
	Action string
	Zone   string
	Zones  []string
}

func (s *Server) message(w http.ResponseWriter, status int, v *view, m message) {
	m.Name = v.sched.Calendar.Name
	s.render(w, status, "message.html", m)
}

// internalError logs err, which happened during op, and answers with the
// page every failure of ours shows: the visitor can only try again.
func (s *Server) internalError(w http.ResponseWriter, v *view, op string, err error) {
	s.log.Error(op, "err", err)
	s.message(w, http.StatusInternalServerError, v, message{Title: "Something went wrong",
		Text: []string{"Please try again later."}})
}

// crossOrigin refuses a form sent from another site (a browser says so
// in Sec-Fetch-Site or Origin).
func (s *Server) crossOrigin(w http.ResponseWriter, v *view) {
	s.message(w, http.StatusForbidden, v, message{Title: "Request refused",
		Text: []string{"The form was sent from another site."}, Back: true})
}

// sameSiteForm reads the form of a POST sent from this site's own pages,
// and the view to answer with; it answers itself, and says false, when the
// body is too large or bad or the form came from another site.
func (s *Server) sameSiteForm(w http.ResponseWriter, r *http.Request, limit int64) (*view, bool) {
	if !readForm(w, r, limit) {
		return nil, false
	}
	v := s.current()
	if err := s.cop.Check(r); err != nil {
		s.crossOrigin(w, v)
		return nil, false
	}
	return v, true
}

// notFound answers a path that names no page, meeting or year.
func (s *Server) notFound(w http.ResponseWriter, v *view, what string) {
	s.message(w, http.StatusNotFound, v, message{Title: "Not found",
		Text: []string{"There is no " + what + " here. It may have been removed from the schedule."}, Back: true})
}

func (s *Server) noPage(w http.ResponseWriter, r *http.Request) {
	s.notFound(w, s.current(), "page "+strconv.Quote(r.URL.Path))
}

func (s *Server) render(w http.ResponseWriter, status int, page string, data any) {
	body, err := s.execute(page, data)
	if err != nil {
		s.log.Error("render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// execute renders one of the pages with data.
func (s *Server) execute(page string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readForm parses a urlencoded body of at most limit bytes, answering
// 413 or 400 itself when it cannot.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad form", http.StatusBadRequest)
		}
		return false
	}
	return true
}
