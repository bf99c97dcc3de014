package api

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Response links: a GET shows what the link will do and a button; only the
// button's POST acts. Mail scanners and link previews fetch every link in a
// message, and must not acknowledge an alert by doing so. The POST spends
// the link (it works once) in the transaction that changes the alert.

var responsePageTemplate = template.Must(template.New("response").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} · Klaxon</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #111; background: #fff; }
@media (prefers-color-scheme: dark) { body { color: #eee; background: #111; } }
button { font: inherit; padding: .6rem 1.4rem; border-radius: .4rem; border: 2px solid currentColor; cursor: pointer; }
.summary { font-weight: 600; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Alert}}<p>Alert #{{.Alert.ID}} ({{.Alert.Severity}}, {{.Alert.Status}}):</p>
<p class="summary">{{.Alert.Summary}}</p>{{end}}
<p>{{.Message}}</p>
{{if .Action}}<form method="post">
<button type="submit">{{.Action}}</button>
</form>{{end}}
</main>
</body>
</html>
`))

type responsePage struct {
	Title, Message, Action string
	Alert                  *klaxon.Alert
}

var actionWords = map[notify.ReplyAction]struct{ verb, done string }{
	notify.ReplyAcknowledge: {"Acknowledge", "Acknowledged"},
	notify.ReplyResolve:     {"Resolve", "Resolved"},
	notify.ReplyEscalate:    {"Escalate", "Escalated"},
}

// link checks the token in the path; on failure it has answered.
func (s *Server) link(w http.ResponseWriter, r *http.Request) (notify.Link, bool) {
	if s.links == nil {
		s.renderResponsePage(w, http.StatusNotFound, responsePage{Title: "Link not valid", Message: notify.ErrLinkInvalid.Error()})
		return notify.Link{}, false
	}
	l, err := s.links.Parse(r.PathValue("token"), s.now())
	switch {
	case errors.Is(err, notify.ErrLinkExpired):
		s.renderResponsePage(w, http.StatusGone, responsePage{Title: "Link expired", Message: err.Error()})
		return l, false
	case err != nil:
		s.renderResponsePage(w, http.StatusNotFound, responsePage{Title: "Link not valid", Message: err.Error()})
		return l, false
	}
	return l, true
}

// responsePage shows what a response link will do, with a button to do it.
func (s *Server) responsePage(w http.ResponseWriter, r *http.Request) {
	l, ok := s.link(w, r)
	if !ok {
		return
	}
	a, err := s.store.Alert(r.Context(), l.AlertID)
	if err != nil {
		s.renderResponsePage(w, http.StatusNotFound, responsePage{Title: "Alert not found", Message: "This alert no longer exists."})
		return
	}
	words := actionWords[l.Action]
	s.renderResponsePage(w, http.StatusOK, responsePage{Title: words.verb + " this alert?", Alert: &a, Action: words.verb,
		Message: "Nothing happens until you press the button. The link works once."})
}

// respondByLink acts on the alert the link names, as the person it was
// sent to, and spends the link.
func (s *Server) respondByLink(w http.ResponseWriter, r *http.Request) {
	l, ok := s.link(w, r)
	if !ok {
		return
	}
	hash := sha256.Sum256([]byte(s.links.Token(l))) // the one canonical spelling
	resp := klaxon.Response{AlertID: l.AlertID, Actor: fmt.Sprintf("user:%d", l.UserID), OnceKey: hash[:],
		How: fmt.Sprintf("from a link in notification %d", l.NotificationID)}
	switch l.Action {
	case notify.ReplyAcknowledge:
		resp.To = klaxon.AlertAcknowledged
	case notify.ReplyResolve:
		resp.To = klaxon.AlertResolved
	default:
		resp.Escalate = true
	}
	a, err := s.store.Respond(r.Context(), resp)
	if err != nil {
		status := http.StatusInternalServerError
		switch klaxon.ErrorCodeOf(err) {
		case klaxon.ECONFLICT:
			status = http.StatusConflict
		case klaxon.ENOTFOUND:
			status = http.StatusNotFound
		}
		msg := "Klaxon could not record this; try again, or open the alert in Klaxon."
		if e, ok := klaxon.AsError(err); ok && status != http.StatusInternalServerError {
			msg = e.Message
		} else {
			s.log.Error("response link", "alert", l.AlertID, "err", err)
		}
		s.renderResponsePage(w, status, responsePage{Title: "Nothing was changed", Message: msg})
		return
	}
	words := actionWords[l.Action]
	s.renderResponsePage(w, http.StatusOK, responsePage{Title: words.done, Alert: &a,
		Message: fmt.Sprintf("%s. Thank you.", words.done)})
}

func (s *Server) renderResponsePage(w http.ResponseWriter, status int, p responsePage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL is a credential
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if err := responsePageTemplate.Execute(w, p); err != nil {
		s.log.Error("render response page", "err", err)
	}
}
