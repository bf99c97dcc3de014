package notify

import (
	"fmt"
	"strings"
)

// The words every channel uses, so that a page reads the same in an email
// subject, an SMS, a push title and a chat line.

// Title is a one-line headline: "CRITICAL: Disk full on db-1 [payments-api]"
// for one alert, "3 new alerts on payments-api" for a bundle, "Klaxon
// verification code" for a verification.
func Title(m Message) string {
	switch {
	case m.Kind == KindVerification:
		return "Klaxon verification code"
	case len(m.Alerts) == 1:
		a := m.Alerts[0]
		return fmt.Sprintf("%s: %s [%s]", strings.ToUpper(string(a.Severity)), a.Summary, m.Service)
	default:
		return fmt.Sprintf("%d new alerts on %s", len(m.Alerts), m.Service)
	}
}

// ShortText is the whole message in a few lines, for SMS and push: the
// title, then for each alert its number and summary, then how to answer by
// SMS when replies says so.
func ShortText(m Message, replies bool) string {
	if m.Kind == KindVerification {
		return fmt.Sprintf("Your Klaxon verification code is %s", m.Code)
	}
	var b strings.Builder
	if len(m.Alerts) == 1 {
		a := m.Alerts[0]
		fmt.Fprintf(&b, "Klaxon #%d %s", a.Number, Title(m))
	} else {
		b.WriteString("Klaxon: " + Title(m))
		for _, a := range m.Alerts {
			fmt.Fprintf(&b, "\n#%d %s: %s", a.Number, strings.ToUpper(string(a.Severity)), a.Summary)
		}
	}
	switch {
	case !replies || len(m.Alerts) == 0:
	case len(m.Alerts) == 1:
		n := m.Alerts[0].Number
		fmt.Fprintf(&b, "\nReply ACK %d to acknowledge, RES %d to resolve", n, n)
	default:
		b.WriteString("\nReply ACK or RES with an alert's number")
	}
	return b.String()
}
