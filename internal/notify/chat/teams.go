package chat

import (
	"fmt"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Teams Workflows webhooks ("When a Teams webhook request is received")
// take a message whose attachments are Adaptive Cards; they support
// Adaptive Cards only, not the old connectors' MessageCard:
// https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
// A flow answers 202 Accepted (some 200) when the request is queued.

type teamsMessage struct {
	Type        string            `json:"type"` // message
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"` // always null, as documented
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string        `json:"$schema"`
	Type    string        `json:"type"` // AdaptiveCard
	Version string        `json:"version"`
	Body    []teamsText   `json:"body"`
	Actions []teamsAction `json:"actions,omitempty"`
}

// teamsText is an Adaptive Card TextBlock.
type teamsText struct {
	Type     string `json:"type"` // TextBlock
	Text     string `json:"text"`
	Wrap     bool   `json:"wrap"`
	Weight   string `json:"weight,omitempty"`
	Size     string `json:"size,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Spacing  string `json:"spacing,omitempty"`
}

type teamsAction struct {
	Type  string `json:"type"` // Action.OpenUrl
	Title string `json:"title"`
	URL   string `json:"url"`
}

const (
	adaptiveCardType   = "application/vnd.microsoft.card.adaptive"
	adaptiveCardSchema = "http://adaptivecards.io/schemas/adaptive-card.json"
	// Version 1.4 is what Teams renders fully on desktop, web and mobile.
	adaptiveCardVersion = "1.4"
	// maxTeamsAlerts keeps a bundle's card well under Teams' message size.
	maxTeamsAlerts = 10
)

func teamsPayload(m notify.Message) teamsMessage {
	card := teamsCard{Schema: adaptiveCardSchema, Type: "AdaptiveCard", Version: adaptiveCardVersion}
	heading := teamsText{Type: "TextBlock", Text: teamsEscape(oneLine(notify.Title(m), maxSummaryBytes)), Wrap: true, Weight: "Bolder", Size: "Medium"}
	if m.Kind == notify.KindVerification {
		card.Body = []teamsText{heading, {Type: "TextBlock", Wrap: true,
			Text: fmt.Sprintf("Your Klaxon verification code is **%s**", teamsEscape(oneLine(m.Code, 64)))}}
		return wrapCard(card)
	}
	worst := m.Alerts[0].Severity
	for _, a := range m.Alerts[1:] {
		if a.Severity.Rank() > worst.Rank() {
			worst = a.Severity
		}
	}
	if worst.Rank() >= klaxon.SeverityError.Rank() {
		heading.Color = "Attention"
	} else if worst == klaxon.SeverityWarning {
		heading.Color = "Warning"
	}
	card.Body = append(card.Body, heading)
	bundle := len(m.Alerts) > 1
	for i, a := range m.Alerts {
		if i == maxTeamsAlerts {
			card.Body = append(card.Body, teamsText{Type: "TextBlock", Wrap: true, IsSubtle: true,
				Text: fmt.Sprintf("…and %d more alerts", len(m.Alerts)-maxTeamsAlerts)})
			break
		}
		card.Body = append(card.Body,
			teamsText{Type: "TextBlock", Wrap: true, Text: fmt.Sprintf("**#%d** %s", a.Number, teamsEscape(oneLine(a.Summary, maxSummaryBytes)))},
			teamsText{Type: "TextBlock", Wrap: true, IsSubtle: true, Spacing: "None", Text: teamsEscape(facts(a, m.Service))})
		if !bundle {
			continue
		}
		// A card's action bar is short; in a bundle each alert's links go
		// under it instead.
		var links []string
		if a.AcknowledgeURL != "" {
			links = append(links, "["+label("Acknowledge", a, true)+"]("+linkTarget(a.AcknowledgeURL)+")")
		}
		if a.ResolveURL != "" {
			links = append(links, "["+label("Resolve", a, true)+"]("+linkTarget(a.ResolveURL)+")")
		}
		if len(links) > 0 {
			card.Body = append(card.Body, teamsText{Type: "TextBlock", Wrap: true, Spacing: "None", Text: strings.Join(links, " · ")})
		}
	}
	if !bundle {
		a := m.Alerts[0]
		if a.AcknowledgeURL != "" {
			card.Actions = append(card.Actions, teamsAction{"Action.OpenUrl", "Acknowledge", a.AcknowledgeURL})
		}
		if a.ResolveURL != "" {
			card.Actions = append(card.Actions, teamsAction{"Action.OpenUrl", "Resolve", a.ResolveURL})
		}
	}
	if m.ConsoleURL != "" {
		card.Actions = append(card.Actions, teamsAction{"Action.OpenUrl", "Open in Klaxon", m.ConsoleURL})
	}
	return wrapCard(card)
}

func wrapCard(card teamsCard) teamsMessage {
	return teamsMessage{Type: "message", Attachments: []teamsAttachment{{ContentType: adaptiveCardType, Content: card}}}
}

// teamsEscape makes user text literal in an Adaptive Card TextBlock, whose
// Markdown subset is bold, italic, lists and links: it backslash-escapes
// \ * _ [ ], which is enough because user text never starts a line here,
// and puts a zero-width space after each '{' so that text like
// {{DATE(...)}} is not taken for a date function.
func teamsEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\*_[]", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		if r == '{' {
			b.WriteRune('\u200b')
		}
	}
	return b.String()
}
