package chat

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

var diskFull = notify.Alert{
	ID: 42, Number: 4, Summary: "Disk full on db-1", Severity: klaxon.SeverityCritical,
	Status: klaxon.AlertTriggered, Source: "db-1", EventCount: 3,
	CreatedAt:      time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	AcknowledgeURL: "https://klaxon.example.com/a/ack-token",
	ResolveURL:     "https://klaxon.example.com/a/res-token",
}

var slowQueries = notify.Alert{
	ID: 43, Number: 5, Summary: "Slow queries", Severity: klaxon.SeverityWarning, Status: klaxon.AlertTriggered,
	AcknowledgeURL: "https://klaxon.example.com/a/ack-2", ResolveURL: "https://klaxon.example.com/a/res-2",
}

func alertMessage(addr string, alerts ...notify.Alert) notify.Message {
	return notify.Message{
		IdempotencyKey: "job-1", Kind: notify.KindAlert, Service: "payments-api",
		To:         notify.Recipient{UserID: 7, Name: "Ops", Type: klaxon.ContactChat, Address: addr},
		Alerts:     alerts,
		ConsoleURL: "https://klaxon.example.com/alerts/42",
	}
}

// hostile is a summary that tries every trick: mentions, links, markup,
// entities, Adaptive Card functions and a line break.
const hostile = "<!channel> @all & <https://evil.example|click> *bold* _it_ ~s~ `code` [x](https://evil.example) {{DATE(2026-01-01T00:00:00Z)}}\nsecond line"

func send(t *testing.T, f *fakeServer, prefix string, m notify.Message) map[string]any {
	t.Helper()
	m.To.Address = prefix + start(t, f)
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Notify(t.Context(), m); err != nil || r != (notify.Receipt{}) {
		t.Fatalf("Notify = %+v, %v", r, err)
	}
	return f.last(t)
}

func sameJSON(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("posted\n%s\nwant\n%s", g, want)
	}
}

func TestSlackOneAlert(t *testing.T) {
	got := send(t, fakeSlack(), "slack+", alertMessage("", diskFull))
	sameJSON(t, got, `{
		"text": "CRITICAL: Disk full on db-1 [payments-api]",
		"blocks": [
			{"type": "header", "text": {"type": "plain_text", "text": "CRITICAL: Disk full on db-1 [payments-api]"}},
			{"type": "section", "text": {"type": "mrkdwn", "text": "*#4* Disk full on db-1\nSeverity: CRITICAL · Status: triggered · Service: payments-api · Source: db-1"}},
			{"type": "actions", "elements": [
				{"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": "https://klaxon.example.com/a/ack-token", "action_id": "ack-42", "style": "primary"},
				{"type": "button", "text": {"type": "plain_text", "text": "Resolve"}, "url": "https://klaxon.example.com/a/res-token", "action_id": "resolve-42"},
				{"type": "button", "text": {"type": "plain_text", "text": "Open in Klaxon"}, "url": "https://klaxon.example.com/alerts/42", "action_id": "open"}
			]}
		]}`)
}

func TestSlackBundleAndLimits(t *testing.T) {
	var alerts []notify.Alert
	for i := range 30 {
		a := diskFull
		a.ID, a.Number = int64(100+i), i+1
		// Longer than a section allows once escaped.
		a.Summary, a.Source = strings.Repeat("&", 1024), strings.Repeat("<", 1024)
		alerts = append(alerts, a)
	}
	m := alertMessage("", alerts...)
	m.Service = strings.Repeat(">", 300)
	got := send(t, fakeSlack(), "slack+", m) // the fake checks the limits
	blocks := got["blocks"].([]any)
	if n := len(blocks); n != 1+2*maxAlerts+2 {
		t.Errorf("%d blocks, want a header, a section and buttons for %d alerts, a count of the rest and an Open button", n, maxAlerts)
	}
	more := blocks[len(blocks)-2].(map[string]any)["elements"].([]any)[0].(map[string]any)["text"]
	if more != "…and 10 more alerts" {
		t.Errorf("count of the rest = %v", more)
	}
	ack := blocks[2].(map[string]any)["elements"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"]
	if ack != "Acknowledge #1" {
		t.Errorf("bundle button says %v, want the alert's number", ack)
	}
}

func TestSlackVerification(t *testing.T) {
	got := send(t, fakeSlack(), "slack+", notify.Message{Kind: notify.KindVerification, Code: "481516"})
	sameJSON(t, got, `{
		"text": "Your Klaxon verification code is 481516",
		"blocks": [
			{"type": "header", "text": {"type": "plain_text", "text": "Klaxon verification code"}},
			{"type": "section", "text": {"type": "mrkdwn", "text": "Your Klaxon verification code is *481516*"}}
		]}`)
}

func TestSlackEscapesUserText(t *testing.T) {
	a := diskFull
	a.Summary = hostile
	m := alertMessage("", a)
	m.Service = "pay<ments>&co"
	got := send(t, fakeSlack(), "slack+", m)
	section := got["blocks"].([]any)[1].(map[string]any)["text"].(map[string]any)["text"].(string)
	want := "*#4* &lt;!channel&gt; @all &amp; &lt;https://evil.example|click&gt; *bold* _it_ ~s~ `code` [x](https://evil.example) {{DATE(2026-01-01T00:00:00Z)}} second line\n" +
		"Severity: CRITICAL · Status: triggered · Service: pay&lt;ments&gt;&amp;co · Source: db-1"
	if section != want {
		t.Errorf("section text\n%q\nwant\n%q", section, want)
	}
	if text := got["text"].(string); strings.ContainsAny(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(text, "&amp;", ""), "&lt;", ""), "&gt;", ""), "<>&") {
		t.Errorf("fallback text %q has unescaped characters", text)
	}
}

func TestMattermostOneAlert(t *testing.T) {
	got := send(t, fakeMattermost(), "", alertMessage("", diskFull))
	sameJSON(t, got, `{
		"text": "**CRITICAL: Disk full on db-1 \\[payments-api\\]** · [Open in Klaxon](https://klaxon.example.com/alerts/42)",
		"username": "Klaxon",
		"attachments": [{
			"fallback": "#4 CRITICAL: Disk full on db-1",
			"color": "#B00020",
			"title": "#4 Disk full on db-1",
			"text": "Severity: CRITICAL · Status: triggered · Service: payments-api · Source: db-1\n[Acknowledge](https://klaxon.example.com/a/ack-token) · [Resolve](https://klaxon.example.com/a/res-token)"
		}]}`)
}

func TestMattermostBundleAndVerification(t *testing.T) {
	f := fakeMattermost()
	got := send(t, f, "mattermost+", alertMessage("", diskFull, slowQueries))
	atts := got["attachments"].([]any)
	if len(atts) != 2 || !strings.Contains(atts[1].(map[string]any)["text"].(string), "[Acknowledge #5](https://klaxon.example.com/a/ack-2)") {
		t.Errorf("bundle attachments %v", atts)
	}
	if c := atts[1].(map[string]any)["color"]; c != "#FFB300" {
		t.Errorf("warning colour %v", c)
	}
	got = send(t, fakeMattermost(), "", notify.Message{Kind: notify.KindVerification, Code: "481516"})
	sameJSON(t, got, `{"text": "Your Klaxon verification code is **481516**", "username": "Klaxon"}`)
}

func TestMattermostEscapesUserText(t *testing.T) {
	a := diskFull
	a.Summary = hostile
	a.AcknowledgeURL = "https://klaxon.example.com/a/x) [evil](https://evil.example"
	got := send(t, fakeMattermost(), "", alertMessage("", a))
	text := got["text"].(string)
	want := "**CRITICAL: <!channel> @\u200ball & <https://evil.example|click> \\*bold\\* \\_it\\_ \\~s\\~ \\`code\\` \\[x\\](https://evil.example) {{DATE(2026-01-01T00:00:00Z)}} second line \\[payments-api\\]** · [Open in Klaxon](https://klaxon.example.com/alerts/42)"
	if text != want {
		t.Errorf("text\n%q\nwant\n%q", text, want)
	}
	att := got["attachments"].([]any)[0].(map[string]any)
	if title := att["title"].(string); strings.Contains(title, "@all") || strings.Contains(title, "\n") {
		t.Errorf("title %q can mention the channel or break the line", title)
	}
	if links := att["text"].(string); !strings.Contains(links, "[Acknowledge](https://klaxon.example.com/a/x%29%20%5Bevil%5D%28https://evil.example)") {
		t.Errorf("link target not encoded: %q", links)
	}
}

func TestTeamsOneAlert(t *testing.T) {
	got := send(t, fakeTeams(), "teams+", alertMessage("", diskFull))
	sameJSON(t, got, `{
		"type": "message",
		"attachments": [{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl": null,
			"content": {
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type": "AdaptiveCard",
				"version": "1.4",
				"body": [
					{"type": "TextBlock", "text": "CRITICAL: Disk full on db-1 \\[payments-api\\]", "wrap": true, "weight": "Bolder", "size": "Medium", "color": "Attention"},
					{"type": "TextBlock", "text": "**#4** Disk full on db-1", "wrap": true},
					{"type": "TextBlock", "text": "Severity: CRITICAL · Status: triggered · Service: payments-api · Source: db-1", "wrap": true, "isSubtle": true, "spacing": "None"}
				],
				"actions": [
					{"type": "Action.OpenUrl", "title": "Acknowledge", "url": "https://klaxon.example.com/a/ack-token"},
					{"type": "Action.OpenUrl", "title": "Resolve", "url": "https://klaxon.example.com/a/res-token"},
					{"type": "Action.OpenUrl", "title": "Open in Klaxon", "url": "https://klaxon.example.com/alerts/42"}
				]
			}
		}]}`)
}

func TestBundleSizes(t *testing.T) {
	var alerts []notify.Alert
	for i := range 100 {
		a := diskFull
		a.ID, a.Number = int64(100+i), i+1
		a.Summary, a.Source = strings.Repeat("*", 1024), strings.Repeat("_", 1024)
		alerts = append(alerts, a)
	}
	m := alertMessage("", alerts...)
	m.Service = strings.Repeat("[", 300)
	for name, payload := range map[string]any{"Slack": slackPayload(m), "Mattermost": mattermostPayload(m), "Teams": teamsPayload(m)} {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, len(b))
		if len(b) > 28<<10 && name == "Teams" || len(b) > 64<<10 {
			t.Errorf("%s: a 100-alert bundle of long alerts is %d bytes", name, len(b))
		}
	}
	card := teamsPayload(m).Attachments[0].Content
	if last := card.Body[len(card.Body)-1].Text; last != "…and 90 more alerts" {
		t.Errorf("Teams bundle ends with %q", last)
	}
}

func TestTeamsBundleAndVerification(t *testing.T) {
	got := send(t, fakeTeams(), "teams+", alertMessage("", slowQueries, slowQueries))
	card := got["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
	body := card["body"].([]any)
	if len(body) != 1+3*2 {
		t.Fatalf("bundle card body has %d items, want a heading and three per alert", len(body))
	}
	if h := body[0].(map[string]any); h["color"] != "Warning" || h["text"] != "2 new alerts on payments-api" {
		t.Errorf("heading %v", h)
	}
	if links := body[3].(map[string]any)["text"]; links != "[Acknowledge #5](https://klaxon.example.com/a/ack-2) · [Resolve #5](https://klaxon.example.com/a/res-2)" {
		t.Errorf("bundle links %v", links)
	}
	if acts := card["actions"].([]any); len(acts) != 1 || acts[0].(map[string]any)["title"] != "Open in Klaxon" {
		t.Errorf("bundle actions %v, want only Open in Klaxon", acts)
	}

	got = send(t, fakeTeams(), "teams+", notify.Message{Kind: notify.KindVerification, Code: "481516"})
	card = got["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
	if fmt.Sprint(card["body"]) != fmt.Sprint([]any{
		map[string]any{"type": "TextBlock", "text": "Klaxon verification code", "wrap": true, "weight": "Bolder", "size": "Medium"},
		map[string]any{"type": "TextBlock", "text": "Your Klaxon verification code is **481516**", "wrap": true},
	}) || card["actions"] != nil {
		t.Errorf("verification card %v", card)
	}
}

func TestTeamsEscapesUserText(t *testing.T) {
	a := diskFull
	a.Summary = hostile
	got := send(t, fakeTeams(), "teams+", alertMessage("", a))
	body := got["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)["body"].([]any)
	text := body[1].(map[string]any)["text"].(string)
	want := "**#4** <!channel> @all & <https://evil.example|click> \\*bold\\* \\_it\\_ ~s~ `code` \\[x\\](https://evil.example) {\u200b{\u200bDATE(2026-01-01T00:00:00Z)}} second line"
	if text != want {
		t.Errorf("text\n%q\nwant\n%q", text, want)
	}
}

// FuzzEscape holds each escaper to its promise on any text: Slack's output
// has no raw & < > and unescapes to the input; the Markdown escapers leave
// no formatting character unescaped, no mention live and no line break.
func FuzzEscape(f *testing.F) {
	f.Add(hostile)
	f.Add(`\*\\*_[]{{@`)
	f.Fuzz(func(t *testing.T, s string) {
		slack := slackEscape(s)
		bare := strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(slack)
		if strings.ContainsAny(bare, "<>&") {
			t.Fatalf("slackEscape(%q) = %q", s, slack)
		}
		if back := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(slack); back != s {
			t.Fatalf("slackEscape(%q) = %q does not unescape to the input", s, slack)
		}
		checkBackslashed(t, "markdownEscape", s, markdownEscape(s), "\\`*_~[]")
		if strings.Contains(strings.ReplaceAll(markdownEscape(s), "@\u200b", ""), "@") {
			t.Fatalf("markdownEscape(%q) leaves a live @", s)
		}
		teams := teamsEscape(s)
		checkBackslashed(t, "teamsEscape", s, teams, "\\*_[]")
		if strings.Contains(teams, "{{") {
			t.Fatalf("teamsEscape(%q) = %q keeps {{", s, teams)
		}
		if line := oneLine(s, maxSummaryBytes); strings.ContainsAny(line, "\r\n\u2028\u2029") || len(line) > maxSummaryBytes+len("…") {
			t.Fatalf("oneLine(%q) = %q", s, line)
		}
	})
}

// checkBackslashed checks that every special character in out is escaped
// by a backslash that is not itself escaped.
func checkBackslashed(t *testing.T, name, in, out, specials string) {
	t.Helper()
	escaped := false
	for _, r := range out {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case strings.ContainsRune(specials, r):
			t.Fatalf("%s(%q) = %q leaves %q unescaped", name, in, out, r)
		}
	}
	if escaped {
		t.Fatalf("%s(%q) = %q ends in a lone backslash", name, in, out)
	}
}
