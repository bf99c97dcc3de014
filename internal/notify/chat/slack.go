package chat

import (
	"fmt"
	"strings"

	"github.com/klaxonhq/klaxon/internal/notify"
)

// Slack's incoming webhooks take a message with a "text" fallback (shown
// in notifications and where blocks cannot be) and Block Kit "blocks":
// https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks
// Block Kit limits: 50 blocks a message, 150 characters of header text,
// 3,000 of section text, 25 elements in an actions block, 75 characters of
// button text, action_id unique in the message.

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string     `json:"type"` // header, section, actions, context
	Text     *slackText `json:"text,omitempty"`
	Elements []any      `json:"elements,omitempty"` // slackButton in actions, slackText in context
}

type slackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

type slackButton struct {
	Type     string    `json:"type"` // button
	Text     slackText `json:"text"`
	URL      string    `json:"url"`
	ActionID string    `json:"action_id"`
	Style    string    `json:"style,omitempty"`
}

func slackPayload(m notify.Message) slackMessage {
	title := notify.Title(m)
	msg := slackMessage{
		Text:   slackEscape(title),
		Blocks: []slackBlock{{Type: "header", Text: &slackText{"plain_text", oneLine(title, 140)}}},
	}
	if m.Kind == notify.KindVerification {
		msg.Text = slackEscape(notify.ShortText(m, false))
		msg.Blocks = append(msg.Blocks, slackSection(fmt.Sprintf("Your Klaxon verification code is *%s*", slackEscape(oneLine(m.Code, 64)))))
		return msg
	}
	bundle := len(m.Alerts) > 1
	for i, a := range m.Alerts {
		if i == maxAlerts {
			msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []any{
				slackText{"mrkdwn", fmt.Sprintf("…and %d more alerts", len(m.Alerts)-maxAlerts)},
			}})
			break
		}
		msg.Blocks = append(msg.Blocks, slackSection(fmt.Sprintf("*#%d* %s\n%s",
			a.Number, slackEscape(oneLine(a.Summary, maxSummaryBytes)), slackEscape(facts(a, m.Service)))))
		var buttons []any
		if a.AcknowledgeURL != "" {
			buttons = append(buttons, slackButton{"button", slackText{"plain_text", label("Acknowledge", a, bundle)}, a.AcknowledgeURL, fmt.Sprintf("ack-%d", a.ID), "primary"})
		}
		if a.ResolveURL != "" {
			buttons = append(buttons, slackButton{"button", slackText{"plain_text", label("Resolve", a, bundle)}, a.ResolveURL, fmt.Sprintf("resolve-%d", a.ID), ""})
		}
		if !bundle && m.ConsoleURL != "" {
			buttons = append(buttons, openButton(m.ConsoleURL))
		}
		if len(buttons) > 0 {
			msg.Blocks = append(msg.Blocks, slackBlock{Type: "actions", Elements: buttons})
		}
	}
	if bundle && m.ConsoleURL != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "actions", Elements: []any{openButton(m.ConsoleURL)}})
	}
	return msg
}

func slackSection(mrkdwn string) slackBlock {
	return slackBlock{Type: "section", Text: &slackText{"mrkdwn", mrkdwn}}
}

func openButton(url string) slackButton {
	return slackButton{"button", slackText{"plain_text", "Open in Klaxon"}, url, "open", ""}
}

// slackEscape makes user text literal in mrkdwn. Slack documents exactly
// three characters to escape: & < > as HTML entities, so "<!channel>" or
// "<https://evil|click>" in a summary shows as text instead of pinging
// the channel or hiding a link. *bold* and _italic_ have no escape in
// mrkdwn; they can only restyle the text, not add to it.
func slackEscape(s string) string {
	return slackEscaper.Replace(s)
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
