package email_test

import (
	"bytes"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/email"
)

// The status page's subscriber mail: the same MIME message as a page, with
// its own words, no response links, and RFC 8058 one-click unsubscribe on
// every update.

var acmePage = klaxon.StatusPage{Name: "Acme Status", TimeZone: "America/Los_Angeles", URL: "https://status.acme.example"}

const (
	unsubscribeURL = "https://status.acme.example/subscriptions/unsubscribe/NDI.Xq3v9bLk0cTz8yR2wPj6mHs1uNa4eGd7fKi5oQ"
	confirmURL     = "https://status.acme.example/subscriptions/confirm/NDI.Rk2c8vLq1tYz7wXp3mNb6hSa9uJe4dGf0oKi5C"
)

func statusUpdate() notify.Message {
	posted := time.Date(2026, 1, 23, 22, 16, 0, 0, time.UTC) // 14:16 in Los Angeles
	return notify.Message{
		IdempotencyKey: "status-77",
		Kind:           notify.KindStatusUpdate,
		To:             notify.Recipient{Type: klaxon.ContactEmail, Address: "carol@example.org"},
		Status: &notify.StatusNotice{
			Page:    acmePage,
			PageURL: "https://status.acme.example/",
			Incident: klaxon.StatusIncident{ID: 12, Name: "Checkout errors", Status: klaxon.IncidentIdentified,
				Impact: klaxon.ImpactCritical, CreatedAt: posted.Add(-20 * time.Minute), UpdatedAt: posted},
			Update: klaxon.IncidentUpdate{ID: 31, IncidentID: 12, Status: klaxon.IncidentIdentified, DisplayAt: posted, CreatedAt: posted,
				Body: "We found the cause: a bad deploy of the payment service.\r\nRolling it back now.\n\n\nNext update within 30 minutes.",
				Affected: []klaxon.AffectedComponent{
					{ComponentID: 3, Name: "Checkout", Old: klaxon.ComponentOperational, New: klaxon.ComponentMajorOutage},
					{ComponentID: 4, Name: "API", Old: klaxon.ComponentDegraded, New: klaxon.ComponentDegraded},
				}},
			UnsubscribeURL: unsubscribeURL,
		},
	}
}

func statusMaintenance() notify.Message {
	m := statusUpdate()
	m.IdempotencyKey = "status-78"
	from := time.Date(2026, 2, 3, 6, 0, 0, 0, time.UTC)
	n := *m.Status
	n.Incident = klaxon.StatusIncident{ID: 13, Name: "Database upgrade", Status: klaxon.MaintenanceInProgress, Impact: klaxon.ImpactMaintenance,
		Maintenance: true, ScheduledFor: from, ScheduledUntil: from.Add(2 * time.Hour)}
	n.Update = klaxon.IncidentUpdate{ID: 40, IncidentID: 13, Status: klaxon.MaintenanceInProgress, DisplayAt: from,
		Body: "The upgrade has begun.",
		Affected: []klaxon.AffectedComponent{{ComponentID: 5, Name: "Database", Old: klaxon.ComponentOperational,
			New: klaxon.ComponentUnderMaintenance}}}
	m.Status = &n
	return m
}

func statusConfirm() notify.Message {
	return notify.Message{
		IdempotencyKey: "status-76",
		Kind:           notify.KindStatusConfirm,
		To:             notify.Recipient{Type: klaxon.ContactEmail, Address: "carol@example.org"},
		Status:         &notify.StatusNotice{Page: acmePage, PageURL: "https://status.acme.example", ConfirmURL: confirmURL},
	}
}

func TestRenderStatusGolden(t *testing.T) {
	for name, m := range map[string]notify.Message{
		"status-update": statusUpdate(), "status-maintenance": statusMaintenance(), "status-confirm": statusConfirm(),
	} {
		t.Run(name, func(t *testing.T) {
			got := render(t, m)
			path := filepath.Join("testdata", name+".eml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Render differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

func TestRenderStatusUpdate(t *testing.T) {
	m := statusUpdate()
	msg, id, err := email.Render(m, testFrom, fixedDate)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, msg)
	if strings.Join(p.partTypes, ",") != "text/plain,text/html" {
		t.Fatalf("parts = %v, want text/plain then text/html", p.partTypes)
	}
	for name, want := range map[string]string{
		"To":                    "<carol@example.org>",
		"Subject":               "[Acme Status] Checkout errors: Identified",
		"Message-Id":            "<status-77@klaxon.example.com>",
		"List-Unsubscribe":      "<" + unsubscribeURL + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Auto-Submitted":        "auto-generated",
		"X-Klaxon-Alert-Ids":    "",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if id != "<status-77@klaxon.example.com>" {
		t.Errorf("Message-ID %q", id)
	}
	for _, part := range []string{p.text, p.html} {
		for _, s := range []string{
			"Acme Status", "Checkout errors", "Identified", "Jan 23, 2026 - 14:16 PST",
			"We found the cause: a bad deploy of the payment service.", "Rolling it back now.", "Next update within 30 minutes.",
			"Checkout", "Major Outage", "Operational", "API", "Degraded Performance",
		} {
			if !strings.Contains(part, s) {
				t.Errorf("%q missing from part:\n%s", s, part)
			}
		}
		for _, s := range []string{"Acknowledge", "Resolve", "confirmation page", "Klaxon #", "Confirm"} {
			if strings.Contains(part, s) {
				t.Errorf("a status update says %q:\n%s", s, part)
			}
		}
	}
	for _, u := range []string{"https://status.acme.example/incidents/12", unsubscribeURL} {
		if !strings.Contains(p.text, u) {
			t.Errorf("text part lacks the link %s", u)
		}
		if !strings.Contains(p.html, `href="`+u+`"`) {
			t.Errorf("html part lacks a link to %s", u)
		}
	}
	// The new state, and the old one only where the update changed it.
	if !strings.Contains(p.text, "Checkout: Major Outage (was Operational)") || !regexp.MustCompile(`(?m)^ *API: Degraded Performance\r?$`).MatchString(p.text) {
		t.Errorf("text part lists the components wrongly:\n%s", p.text)
	}
	// The admin's line break is kept, and the blank lines make two
	// paragraphs, not three.
	if !strings.Contains(p.html, "payment service.<br>Rolling it back now.</p>") || strings.Count(p.html, `<p style="margin:0 0 12px">`) != 2 {
		t.Errorf("html part loses the message's shape:\n%s", p.html)
	}
	if !strings.Contains(p.text, "payment service.\r\nRolling it back now.\r\n\r\nNext update") {
		t.Errorf("text part loses the message's shape:\n%q", p.text)
	}
}

func TestRenderStatusMaintenance(t *testing.T) {
	p := parse(t, render(t, statusMaintenance()))
	if got := p.header.Get("Subject"); got != "[Acme Status] Database upgrade: In progress" {
		t.Errorf("Subject = %q", got)
	}
	for _, part := range []string{p.text, p.html} {
		for _, s := range []string{"Feb 2, 2026 - 22:00 PST to Feb 3, 2026 - 00:00 PST", "Database", "Under Maintenance",
			"View this maintenance", "https://status.acme.example/incidents/13"} {
			if !strings.Contains(part, s) {
				t.Errorf("%q missing from part:\n%s", s, part)
			}
		}
	}
}

func TestRenderStatusConfirm(t *testing.T) {
	p := parse(t, render(t, statusConfirm()))
	if got := p.header.Get("Subject"); got != "Confirm your subscription to Acme Status" {
		t.Errorf("Subject = %q", got)
	}
	for _, h := range []string{"List-Unsubscribe", "List-Unsubscribe-Post", "X-Klaxon-Alert-Ids"} {
		if v := p.header.Get(h); v != "" {
			t.Errorf("confirmation has %s: %q", h, v)
		}
	}
	if !strings.Contains(p.text, confirmURL) || !strings.Contains(p.html, `href="`+confirmURL+`"`) {
		t.Errorf("confirm link missing:\n%s\n%s", p.text, p.html)
	}
	if !regexp.MustCompile(`<a href="[^"]+"[^>]*>Confirm subscription</a>`).MatchString(p.html) {
		t.Errorf("html part lacks the confirm button:\n%s", p.html)
	}
	for _, part := range []string{p.text, p.html} {
		if !strings.Contains(part, "If you did not ask for this") || strings.Contains(part, "nsubscribe") {
			t.Errorf("confirmation wording:\n%s", part)
		}
	}
}

// Everything an admin or a visitor typed is text: it cannot add headers,
// reach the HTML as markup, or make a link run script.
func TestRenderStatusEscapes(t *testing.T) {
	m := statusUpdate()
	m.Status.Page.Name = "Acme\r\nBcc: victim@example.net"
	m.Status.Incident.Name = `<script>alert("x")</script>`
	m.Status.Update.Body = "<b>bold</b> & <a href=\"javascript:alert(1)\">click</a>\x00\x1b[31m"
	m.Status.Update.Affected[0].Name = "<i>Checkout</i>"
	msg := render(t, m)
	p := parse(t, msg)
	if v := p.header.Get("Bcc"); v != "" {
		t.Errorf("injected Bcc: %q", v)
	}
	if got, want := p.header.Get("Subject"), `[Acme Bcc: victim@example.net] <script>alert("x")</script>: Identified`; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	for _, s := range []string{"<script>", "<b>bold", "<i>Checkout", `href="javascript:`, "\x00", "\x1b"} {
		if strings.Contains(p.html, s) {
			t.Errorf("html part holds %q:\n%s", s, p.html)
		}
	}
	for _, s := range []string{"&lt;script&gt;", "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=", "&lt;i&gt;Checkout&lt;/i&gt;"} {
		if !strings.Contains(p.html, s) {
			t.Errorf("html part lacks the escaped %q:\n%s", s, p.html)
		}
	}
	if strings.ContainsAny(p.text, "\x00\x1b") {
		t.Errorf("text part holds control characters: %q", p.text)
	}

	c := statusConfirm()
	c.Status.ConfirmURL = "javascript:alert(1)"
	if p := parse(t, render(t, c)); strings.Contains(p.html, `href="javascript:`) {
		t.Errorf("javascript: confirm link survived in HTML")
	}
}

func TestRenderStatusNonASCII(t *testing.T) {
	m := statusUpdate()
	m.Status.Page.Name = "Zahlungsstatus"
	m.Status.Incident.Name = "Störung beim Bezahlen – Größe 💳"
	msg := render(t, m)
	subject := parse(t, msg).header.Get("Subject")
	got, err := new(mime.WordDecoder).DecodeHeader(subject)
	if err != nil || got != "[Zahlungsstatus] Störung beim Bezahlen – Größe 💳: Identified" {
		t.Errorf("decoded Subject = %q (%v)", got, err)
	}
}

// TestRenderStatusWireFormat: CRLF only, ASCII headers, quoted-printable
// lines within 76, header lines within 78 except the unsubscribe URL,
// which is not folded inside its brackets (RFC 8058 receivers read it
// whole) and stays far within RFC 5322's 998.
func TestRenderStatusWireFormat(t *testing.T) {
	long := statusUpdate()
	long.Status.Incident.Name = strings.Repeat("Ünïcödé checkout errors ", 20)
	long.Status.Update.Body = strings.Repeat("A long line without breaks. ", 40)
	for name, m := range map[string]notify.Message{"update": statusUpdate(), "maintenance": statusMaintenance(), "confirm": statusConfirm(), "long": long} {
		msg := render(t, m)
		if bytes.Count(msg, []byte("\n")) != bytes.Count(msg, []byte("\r\n")) || bytes.Count(msg, []byte("\r")) != bytes.Count(msg, []byte("\r\n")) {
			t.Errorf("%s: bare CR or LF in the message", name)
		}
		inHeader := true
		for i, line := range strings.Split(string(msg), "\r\n") {
			if line == "" {
				inHeader = false
			}
			limit := 76
			switch {
			case inHeader && line == " <"+unsubscribeURL+">":
				limit = 998
			case inHeader:
				limit = 78
			}
			if len(line) > limit {
				t.Errorf("%s: line %d has %d characters (limit %d): %q", name, i+1, len(line), limit, line)
			}
			if inHeader && strings.IndexFunc(line, func(r rune) bool { return r >= 0x80 }) >= 0 {
				t.Errorf("%s: non-ASCII header line %q", name, line)
			}
		}
	}
}

func TestRenderStatusErrors(t *testing.T) {
	tests := []struct {
		name    string
		m       func() notify.Message
		wantErr string
	}{
		{"update without notice", func() notify.Message { m := statusUpdate(); m.Status = nil; return m }, "without a status notice"},
		{"confirm without notice", func() notify.Message { m := statusConfirm(); m.Status = nil; return m }, "without a status notice"},
		{"confirm without link", func() notify.Message { m := statusConfirm(); m.Status.ConfirmURL = ""; return m }, "without a confirm link"},
		{"update without incident", func() notify.Message { m := statusUpdate(); m.Status.Incident.ID = 0; return m }, "without an incident"},
		{"update without unsubscribe", func() notify.Message { m := statusUpdate(); m.Status.UnsubscribeURL = ""; return m }, "unsubscribe link"},
		{"relative unsubscribe", func() notify.Message {
			m := statusUpdate()
			m.Status.UnsubscribeURL = "/subscriptions/unsubscribe/x"
			return m
		}, "unsubscribe link"},
		{"unsubscribe breaking out of <>", func() notify.Message {
			m := statusUpdate()
			m.Status.UnsubscribeURL = "https://status.acme.example/x>, <mailto:evil@example.net"
			return m
		}, "unsubscribe link"},
		{"unsubscribe with CRLF", func() notify.Message {
			m := statusUpdate()
			m.Status.UnsubscribeURL = "https://status.acme.example/x\r\nBcc: evil@example.net"
			return m
		}, "unsubscribe link"},
		{"javascript unsubscribe", func() notify.Message { m := statusUpdate(); m.Status.UnsubscribeURL = "javascript:alert(1)"; return m }, "unsubscribe link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := email.Render(tt.m(), testFrom, fixedDate)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Render error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// The Sender takes status mail like any other: one SMTP session, the
// rendered message, the Message-ID as receipt; and refuses a broken one
// for good without connecting.
func TestNotifyStatus(t *testing.T) {
	ts := startServer(t, serverConfig{})
	s := newSender(t, "smtp://"+ts.addr, nil)
	m := statusUpdate()
	receipt, err := notifyWithin(t, s, m, 5*time.Second)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	r := one(t, ts)
	if len(r.To) != 1 || r.To[0] != "carol@example.org" || string(r.Data) != string(render(t, m)) {
		t.Errorf("server received to %v:\n%s", r.To, r.Data)
	}
	if receipt.ProviderID != "<status-77@klaxon.example.com>" {
		t.Errorf("ProviderID %q", receipt.ProviderID)
	}
	bad := statusUpdate()
	bad.Status.UnsubscribeURL = ""
	if _, err := notifyWithin(t, s, bad, 5*time.Second); !notify.IsPermanent(err) {
		t.Errorf("broken status mail: %v, want a permanent error", err)
	}
	if n := len(ts.received()); n != 1 {
		t.Errorf("server received %d messages, want 1", n)
	}
}
