package chat

import (
	"fmt"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Mattermost's incoming webhooks take "text" (Markdown), an optional
// "username" to post as, and Slack-style message "attachments" with a
// colour bar, a title and Markdown text:
// https://developers.mattermost.com/integrate/webhooks/incoming/
// A successful post is answered 200 with the body "ok".

type mattermostMessage struct {
	Text        string                 `json:"text"`
	Username    string                 `json:"username"`
	Attachments []mattermostAttachment `json:"attachments,omitempty"`
}

type mattermostAttachment struct {
	Fallback string `json:"fallback"` // plain text, for notifications
	Color    string `json:"color"`
	Title    string `json:"title"` // plain text
	Text     string `json:"text"`  // Markdown
}

func mattermostPayload(m notify.Message) mattermostMessage {
	msg := mattermostMessage{Username: "Klaxon"}
	if m.Kind == notify.KindVerification {
		msg.Text = fmt.Sprintf("Your Klaxon verification code is **%s**", markdownEscape(oneLine(m.Code, 64)))
		return msg
	}
	msg.Text = "**" + markdownEscape(oneLine(notify.Title(m), maxSummaryBytes)) + "**"
	if m.ConsoleURL != "" {
		msg.Text += " · " + markdownLink("Open in Klaxon", m.ConsoleURL)
	}
	bundle := len(m.Alerts) > 1
	for i, a := range m.Alerts {
		if i == maxAlerts {
			msg.Text += fmt.Sprintf("\n…and %d more alerts", len(m.Alerts)-maxAlerts)
			break
		}
		summary := oneLine(a.Summary, maxSummaryBytes)
		text := markdownEscape(facts(a, m.Service))
		var links []string
		if a.AcknowledgeURL != "" {
			links = append(links, markdownLink(label("Acknowledge", a, bundle), a.AcknowledgeURL))
		}
		if a.ResolveURL != "" {
			links = append(links, markdownLink(label("Resolve", a, bundle), a.ResolveURL))
		}
		if len(links) > 0 {
			text += "\n" + strings.Join(links, " · ")
		}
		msg.Attachments = append(msg.Attachments, mattermostAttachment{
			Fallback: defuseMentions(fmt.Sprintf("#%d %s: %s", a.Number, strings.ToUpper(string(a.Severity)), summary)),
			Color:    severityColor(a.Severity),
			Title:    defuseMentions(fmt.Sprintf("#%d %s", a.Number, summary)),
			Text:     text,
		})
	}
	return msg
}

// severityColor is the attachment's colour bar.
func severityColor(s klaxon.Severity) string {
	switch s {
	case klaxon.SeverityCritical:
		return "#B00020"
	case klaxon.SeverityError:
		return "#E53935"
	case klaxon.SeverityWarning:
		return "#FFB300"
	}
	return "#1E88E5"
}

// markdownEscape makes user text literal in Mattermost's Markdown: it
// backslash-escapes the characters that start inline formatting or a link
// (\ ` * _ ~ [ ]), which is enough because user text never starts a line
// here, and it defuses @-mentions.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_~[]", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return defuseMentions(b.String())
}

// defuseMentions puts a zero-width space after every '@', so that an alert
// whose summary says "@channel" or "@all" does not notify the whole
// channel, and "@alice" does not ping Alice. It reads the same.
func defuseMentions(s string) string {
	return strings.ReplaceAll(s, "@", "@\u200b")
}

// markdownLink renders [text](url) with the characters that would end the
// link target early percent-encoded.
func markdownLink(text, url string) string {
	return "[" + markdownEscape(text) + "](" + linkTarget(url) + ")"
}

func linkTarget(url string) string {
	var b strings.Builder
	for i := 0; i < len(url); i++ {
		switch c := url[i]; c {
		case ' ', '(', ')', '<', '>', '[', ']', '\\', '`', '"':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			if c < ' ' || c == 0x7f {
				fmt.Fprintf(&b, "%%%02X", c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
