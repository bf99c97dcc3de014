package email

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// The two bodies are templates, embedded so that the binary carries them and
// so that wording can change without touching Go. The HTML one goes through
// html/template: alert text is escaped, and a link whose scheme is not
// http(s) or mailto is neutralised.
var (
	//go:embed templates
	templateFS   embed.FS
	textTemplate = texttemplate.Must(texttemplate.New("message.txt.tmpl").
			Funcs(texttemplate.FuncMap{"inc": func(i int) int { return i + 1 }}).
			ParseFS(templateFS, "templates/message.txt.tmpl"))
	htmlTemplate = htmltemplate.Must(htmltemplate.New("message.html.tmpl").
			Funcs(htmltemplate.FuncMap{"inc": func(i int) int { return i + 1 }}).
			ParseFS(templateFS, "templates/message.html.tmpl"))
)

// view is what the templates see: every string already one line, every
// value already formatted, so that the templates only lay out.
type view struct {
	Title        string
	Service      string
	Verification bool
	Code         string
	Bundle       bool
	Alerts       []alertView
	// Links says some alert has an acknowledge or resolve link, so the note
	// about confirmation pages is shown once.
	Links      bool
	ConsoleURL string
}

type alertView struct {
	Number         int
	ID             int64
	Summary        string
	Severity       string
	Color          htmltemplate.CSS
	Status         string
	Service        string
	Source         string
	Component      string
	EventCount     int
	Created        string
	AcknowledgeURL string
	ResolveURL     string
}

// severityColors are the HTML part's accents; anything else is grey.
var severityColors = map[klaxon.Severity]htmltemplate.CSS{
	klaxon.SeverityCritical: "#b91c1c",
	klaxon.SeverityError:    "#c2410c",
	klaxon.SeverityWarning:  "#a16207",
	klaxon.SeverityInfo:     "#1d4ed8",
}

func newView(m notify.Message) view {
	v := view{
		Title:        oneLine(notify.Title(m)),
		Service:      oneLine(m.Service),
		Verification: m.Kind == notify.KindVerification,
		Code:         oneLine(m.Code),
		Bundle:       len(m.Alerts) > 1,
		ConsoleURL:   oneLine(m.ConsoleURL),
	}
	for _, a := range m.Alerts {
		color, ok := severityColors[a.Severity]
		if !ok {
			color = "#4b5563"
		}
		av := alertView{
			Number:         a.Number,
			ID:             a.ID,
			Summary:        oneLine(a.Summary),
			Severity:       strings.ToUpper(oneLine(string(a.Severity))),
			Color:          color,
			Status:         oneLine(string(a.Status)),
			Service:        v.Service,
			Source:         oneLine(a.Source),
			Component:      oneLine(a.Component),
			EventCount:     a.EventCount,
			AcknowledgeURL: oneLine(a.AcknowledgeURL),
			ResolveURL:     oneLine(a.ResolveURL),
		}
		if !a.CreatedAt.IsZero() {
			av.Created = a.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		v.Links = v.Links || av.AcknowledgeURL != "" || av.ResolveURL != ""
		v.Alerts = append(v.Alerts, av)
	}
	return v
}

func renderText(b *bytes.Buffer, v view) error {
	if err := textTemplate.Execute(b, v); err != nil {
		return fmt.Errorf("email: text body: %w", err)
	}
	return nil
}

func renderHTML(b *bytes.Buffer, v view) error {
	if err := htmlTemplate.Execute(b, v); err != nil {
		return fmt.Errorf("email: html body: %w", err)
	}
	return nil
}
