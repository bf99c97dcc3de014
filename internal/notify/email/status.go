package email

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"unicode"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Status page subscribers get two kinds of mail: a confirmation request
// (double opt-in) and incident updates. They are not pages: no response
// links, no alert ids. Every update carries an unsubscribe link in its
// body and, for mail clients, in List-Unsubscribe with RFC 8058's one-click
// List-Unsubscribe-Post, which the status page answers with a POST.
var (
	statusTextTemplate = texttemplate.Must(texttemplate.New("status.txt.tmpl").ParseFS(templateFS, "templates/status.txt.tmpl"))
	statusHTMLTemplate = htmltemplate.Must(htmltemplate.New("status.html.tmpl").ParseFS(templateFS, "templates/status.html.tmpl"))
)

// isStatus reports whether k is one of the status page kinds.
func isStatus(k notify.Kind) bool {
	return k == notify.KindStatusConfirm || k == notify.KindStatusUpdate
}

// checkStatus refuses a status message that cannot be sent as it should
// be: one without its notice, a confirmation without its link, an update
// without its incident or without an unsubscribe link a header can carry.
func checkStatus(m notify.Message) error {
	n := m.Status
	switch {
	case n == nil:
		return fmt.Errorf("email: %s message without a status notice", m.Kind)
	case m.Kind == notify.KindStatusConfirm && n.ConfirmURL == "":
		return errors.New("email: subscription confirmation without a confirm link")
	case m.Kind == notify.KindStatusUpdate && n.Incident.ID == 0:
		return errors.New("email: status update without an incident")
	case m.Kind == notify.KindStatusUpdate && !headerURL(n.UnsubscribeURL):
		return errors.New("email: status update without an http(s) unsubscribe link that a header can carry")
	}
	return nil
}

// headerURL reports whether u is an http or https URL of printable ASCII
// without the characters that would end List-Unsubscribe's <...>.
func headerURL(u string) bool {
	if u == "" || len(u) > 900 || strings.ContainsAny(u, "<>\"") {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] >= 0x7f {
			return false
		}
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != ""
}

// statusHeaders are the headers a status message adds: on an update, the
// one-click unsubscribe of RFC 2369 and RFC 8058.
func statusHeaders(m notify.Message) [][2]string {
	if m.Kind != notify.KindStatusUpdate {
		return nil
	}
	return [][2]string{
		{"List-Unsubscribe", "<" + m.Status.UnsubscribeURL + ">"},
		{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
	}
}

// headline is the message's title, whatever its kind.
func headline(m notify.Message) string {
	if isStatus(m.Kind) {
		return notify.StatusTitle(m)
	}
	return notify.Title(m)
}

// statusView is what the status templates see: admin text made safe for
// its place (one line, or paragraphs of lines), times already written in
// the page's zone.
type statusView struct {
	Title          string
	Confirm        bool
	PageName       string
	PageURL        string
	ConfirmURL     string
	UnsubscribeURL string

	IncidentName string
	IncidentURL  string
	Maintenance  bool
	Status       string
	Posted       string
	// Window is a maintenance's scheduled window; empty for an incident.
	Window string
	// Message is the update's text as paragraphs of lines.
	Message  [][]string
	Affected []affectedView
}

type affectedView struct {
	Name  string
	State string
	Color htmltemplate.CSS
	// Was is the state before, when the update changed it.
	Was string
}

// stateColors are the HTML part's accents for component states, the
// colours the page uses.
var stateColors = map[klaxon.ComponentState]htmltemplate.CSS{
	klaxon.ComponentOperational:      "#15803d",
	klaxon.ComponentDegraded:         "#a16207",
	klaxon.ComponentPartialOutage:    "#c2410c",
	klaxon.ComponentMajorOutage:      "#b91c1c",
	klaxon.ComponentUnderMaintenance: "#1d4ed8",
}

func newStatusView(m notify.Message) statusView {
	n := m.Status
	v := statusView{
		Title:          oneLine(headline(m)),
		Confirm:        m.Kind == notify.KindStatusConfirm,
		PageName:       oneLine(n.Page.Name),
		PageURL:        oneLine(strings.TrimRight(n.PageURL, "/")),
		ConfirmURL:     oneLine(n.ConfirmURL),
		UnsubscribeURL: oneLine(n.UnsubscribeURL),
	}
	if v.Confirm {
		return v
	}
	inc, zone := n.Incident, n.Page.TimeZone
	v.IncidentName = oneLine(inc.Name)
	v.IncidentURL = oneLine(n.IncidentURL())
	v.Maintenance = inc.Maintenance
	v.Status = oneLine(n.UpdateStatus().Label())
	if at := n.Update.DisplayAt; !at.IsZero() {
		v.Posted = notify.StatusTime(at, zone)
	}
	if inc.Maintenance && !inc.ScheduledFor.IsZero() && !inc.ScheduledUntil.IsZero() {
		v.Window = notify.StatusTime(inc.ScheduledFor, zone) + " to " + notify.StatusTime(inc.ScheduledUntil, zone)
	}
	v.Message = paragraphs(n.Update.Body)
	for _, a := range n.Update.Affected {
		color, ok := stateColors[a.New]
		if !ok {
			color = "#4b5563"
		}
		av := affectedView{Name: oneLine(a.Name), State: oneLine(a.New.Label()), Color: color}
		if a.Old != "" && a.Old != a.New {
			av.Was = oneLine(a.Old.Label())
		}
		v.Affected = append(v.Affected, av)
	}
	return v
}

// paragraphs splits an update's text at blank lines into paragraphs of
// lines, each line free of control characters and trailing space, so that
// an admin's line breaks survive and nothing else does.
func paragraphs(s string) [][]string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n\n").Replace(s)
	var out [][]string
	var cur []string
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRightFunc(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, line), unicode.IsSpace)
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// statusBodies returns the text and HTML renderers of a status message.
func statusBodies(m notify.Message) (text, html func(*bytes.Buffer) error) {
	v := newStatusView(m)
	text = func(b *bytes.Buffer) error {
		if err := statusTextTemplate.Execute(b, v); err != nil {
			return fmt.Errorf("email: status text body: %w", err)
		}
		return nil
	}
	html = func(b *bytes.Buffer) error {
		if err := statusHTMLTemplate.Execute(b, v); err != nil {
			return fmt.Errorf("email: status html body: %w", err)
		}
		return nil
	}
	return text, html
}
