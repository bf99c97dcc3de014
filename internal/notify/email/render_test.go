package email_test

import (
	"bytes"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
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

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const testFrom = "Klaxon Alerts <alerts@klaxon.example.com>"

var (
	fixedDate = time.Date(2026, 3, 1, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	created   = time.Date(2026, 3, 1, 9, 28, 12, 0, time.UTC)
)

func oneAlert() notify.Message {
	return notify.Message{
		IdempotencyKey: "notif-1042",
		Kind:           notify.KindAlert,
		To:             notify.Recipient{UserID: 7, Name: "Ada Lovelace", Type: klaxon.ContactEmail, Address: "ada@example.com"},
		Service:        "payments-api",
		Alerts: []notify.Alert{{
			ID: 381, Number: 4, Summary: "Disk full on db-1",
			Severity: klaxon.SeverityCritical, Status: klaxon.AlertTriggered,
			Source: "prometheus", Component: "/dev/sda1", EventCount: 3, CreatedAt: created,
			AcknowledgeURL: "https://klaxon.example.com/act/ack/4f9c2a?sig=ab12&exp=1772360000",
			ResolveURL:     "https://klaxon.example.com/act/resolve/77d0e1?sig=cd34&exp=1772360000",
		}},
		ConsoleURL: "https://klaxon.example.com/alerts/381",
	}
}

func bundle() notify.Message {
	m := oneAlert()
	m.IdempotencyKey = "notif-1043"
	m.ConsoleURL = "https://klaxon.example.com/services/12/alerts"
	m.Alerts = append(m.Alerts,
		notify.Alert{
			ID: 382, Number: 5, Summary: "p99 latency above 2s on checkout",
			Severity: klaxon.SeverityWarning, Status: klaxon.AlertAcknowledged,
			Source: "grafana", EventCount: 12, CreatedAt: created.Add(40 * time.Second),
			ResolveURL: "https://klaxon.example.com/act/resolve/0a1b2c?sig=ef56&exp=1772360000",
		},
		notify.Alert{
			ID: 383, Number: 6, Summary: "Certificate for pay.example.com expires in 6 days",
			Severity: klaxon.SeverityInfo, Status: klaxon.AlertTriggered, EventCount: 1,
			CreatedAt: created.Add(75 * time.Second),
		},
	)
	return m
}

func verification() notify.Message {
	return notify.Message{
		IdempotencyKey: "verify-ada-1",
		Kind:           notify.KindVerification,
		To:             notify.Recipient{UserID: 7, Name: "Ada Lovelace", Type: klaxon.ContactEmail, Address: "ada@example.com"},
		Code:           "482913",
	}
}

func render(t *testing.T, m notify.Message) []byte {
	t.Helper()
	msg, _, err := email.Render(m, testFrom, fixedDate)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return msg
}

func TestRenderGolden(t *testing.T) {
	for name, m := range map[string]notify.Message{"alert": oneAlert(), "bundle": bundle(), "verification": verification()} {
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

// parsed is a rendered message read back the way a mail client reads it.
type parsed struct {
	header     mail.Header
	text, html string
	partTypes  []string
}

func parse(t *testing.T, msg []byte) parsed {
	t.Helper()
	mm, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, msg)
	}
	mediaType, params, err := mime.ParseMediaType(mm.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", mm.Header.Get("Content-Type"), err)
	}
	p := parsed{header: mm.Header}
	mr := multipart.NewReader(mm.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		if cte := part.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part Content-Transfer-Encoding = %q", cte)
		}
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if cparams["charset"] != "UTF-8" {
			t.Errorf("part %s charset = %q, want UTF-8", ct, cparams["charset"])
		}
		p.partTypes = append(p.partTypes, ct)
		body, err := io.ReadAll(quotedPrintable(part))
		if err != nil {
			t.Fatalf("decoding %s: %v", ct, err)
		}
		switch ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		}
	}
	return p
}

func TestRenderStructure(t *testing.T) {
	m := bundle()
	msg, id, err := email.Render(m, testFrom, fixedDate)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, msg)
	if strings.Join(p.partTypes, ",") != "text/plain,text/html" {
		t.Fatalf("parts = %v, want text/plain then text/html", p.partTypes)
	}
	h := p.header
	for name, want := range map[string]string{
		"From":               `"Klaxon Alerts" <alerts@klaxon.example.com>`,
		"To":                 `"Ada Lovelace" <ada@example.com>`,
		"Subject":            "3 new alerts on payments-api",
		"Date":               "Sun, 01 Mar 2026 10:30:00 +0100",
		"Message-Id":         "<notif-1043@klaxon.example.com>",
		"Mime-Version":       "1.0",
		"Auto-Submitted":     "auto-generated",
		"X-Klaxon-Alert-Ids": "381, 382, 383",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if id != h.Get("Message-Id") {
		t.Errorf("returned id %q, header %q", id, h.Get("Message-Id"))
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixedDate) {
		t.Errorf("Date = %v (%v), want %v", d, err, fixedDate)
	}
	for _, a := range m.Alerts {
		for _, s := range []string{a.Summary, strings.ToUpper(string(a.Severity)), string(a.Status)} {
			if !strings.Contains(p.text, s) || !strings.Contains(p.html, s) {
				t.Errorf("%q missing from a part", s)
			}
		}
	}
	for _, part := range []string{p.text, p.html} {
		for _, s := range []string{"prometheus", "/dev/sda1", "2026-03-01 09:28:12 UTC", "payments-api", "confirmation page"} {
			if !strings.Contains(part, s) {
				t.Errorf("%q missing from part:\n%s", s, part)
			}
		}
	}
	ack, res := m.Alerts[0].AcknowledgeURL, m.Alerts[0].ResolveURL
	for _, u := range []string{ack, res, m.Alerts[1].ResolveURL, m.ConsoleURL} {
		if !strings.Contains(p.text, u) {
			t.Errorf("text part lacks the link %s", u)
		}
		if !strings.Contains(p.html, `href="`+strings.ReplaceAll(u, "&", "&amp;")+`"`) {
			t.Errorf("html part lacks a link to %s", u)
		}
	}
	if !regexp.MustCompile(`<a href="[^"]+"[^>]*>Acknowledge</a>`).MatchString(p.html) ||
		!regexp.MustCompile(`<a href="[^"]+"[^>]*>Resolve</a>`).MatchString(p.html) {
		t.Errorf("html part lacks Acknowledge and Resolve buttons:\n%s", p.html)
	}
	if n := strings.Count(p.html, "<li"); n != 3 {
		t.Errorf("bundle html has %d list items, want 3", n)
	}
}

func TestRenderVerification(t *testing.T) {
	p := parse(t, render(t, verification()))
	if got := p.header.Get("Subject"); got != "Klaxon verification code" {
		t.Errorf("Subject = %q", got)
	}
	if p.header.Get("X-Klaxon-Alert-Ids") != "" {
		t.Errorf("verification has alert ids %q", p.header.Get("X-Klaxon-Alert-Ids"))
	}
	if !strings.Contains(p.text, "482913") || !strings.Contains(p.html, "482913") {
		t.Errorf("code missing:\n%s\n%s", p.text, p.html)
	}
}

// TestRenderWireFormat checks every fixture for CRLF line endings and line
// lengths: 78 for headers (RFC 5322), 76 for quoted-printable bodies.
func TestRenderWireFormat(t *testing.T) {
	long := oneAlert()
	long.Alerts[0].Summary = strings.Repeat("Ünïcödé disk pressure on db-1 ", 20)
	for name, m := range map[string]notify.Message{"alert": oneAlert(), "bundle": bundle(), "verification": verification(), "long": long} {
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
			if inHeader {
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

func TestRenderHeaderInjection(t *testing.T) {
	m := oneAlert()
	m.Alerts[0].Summary = "Disk full\r\nBcc: victim@example.net\r\n\r\n<b>body</b>"
	m.Service = "api\nX-Evil: 1"
	m.To.Name = "Ada\r\nCc: other@example.net"
	msg := render(t, m)
	p := parse(t, msg)
	for _, name := range []string{"Bcc", "Cc", "X-Evil"} {
		if v := p.header.Get(name); v != "" {
			t.Errorf("injected header %s: %q", name, v)
		}
	}
	wantSubject := "CRITICAL: Disk full Bcc: victim@example.net <b>body</b> [api X-Evil: 1]"
	if got := p.header.Get("Subject"); got != wantSubject {
		t.Errorf("Subject = %q, want %q", got, wantSubject)
	}
	to, err := mail.ParseAddress(p.header.Get("To"))
	if err != nil || to.Address != "ada@example.com" || to.Name != "Ada Cc: other@example.net" {
		t.Errorf("To = %q (%v)", p.header.Get("To"), err)
	}
	if strings.Contains(p.html, "<b>body</b>") {
		t.Errorf("alert text reached the HTML unescaped")
	}
}

func TestRenderNonASCIISubject(t *testing.T) {
	m := oneAlert()
	m.Alerts[0].Summary = "Festplatte voll auf db-1 – Größe 100 % 💾"
	m.Service = "zahlungs-api"
	msg := render(t, m)
	raw := string(msg[:bytes.Index(msg, []byte("\r\n\r\n"))])
	if !strings.Contains(raw, "Subject: =?UTF-8?B?") {
		t.Errorf("subject not RFC 2047 encoded:\n%s", raw)
	}
	subject := parse(t, msg).header.Get("Subject")
	got, err := new(mime.WordDecoder).DecodeHeader(subject)
	if err != nil {
		t.Fatal(err)
	}
	if want := notify.Title(m); got != want {
		t.Errorf("decoded Subject = %q, want %q", got, want)
	}
}

func TestRenderSubjectLooksEncoded(t *testing.T) {
	m := oneAlert()
	m.Alerts[0].Summary = "=?UTF-8?B?ZXZpbA==?= spoof"
	subject := parse(t, render(t, m)).header.Get("Subject")
	got, _ := new(mime.WordDecoder).DecodeHeader(subject)
	if got != notify.Title(m) {
		t.Errorf("decoded Subject = %q, want the literal title %q", got, notify.Title(m))
	}
}

func TestRenderLongSubjectIsCut(t *testing.T) {
	m := oneAlert()
	m.Alerts[0].Summary = strings.Repeat("word ", 200)
	subject := parse(t, render(t, m)).header.Get("Subject")
	if len(subject) > 253 || !strings.HasPrefix(subject, "CRITICAL: word word") || !strings.HasSuffix(subject, "...") {
		t.Errorf("Subject has %d bytes: %q", len(subject), subject)
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	m := oneAlert()
	m.Alerts[0].Summary = `<script>alert("x")</script>`
	m.Alerts[0].AcknowledgeURL = "javascript:alert(1)"
	p := parse(t, render(t, m))
	if strings.Contains(p.html, "<script>") || !strings.Contains(p.html, "&lt;script&gt;") {
		t.Errorf("summary not escaped in HTML:\n%s", p.html)
	}
	if strings.Contains(p.html, `href="javascript:`) {
		t.Errorf("javascript: link survived in HTML")
	}
}

func TestMessageID(t *testing.T) {
	msgID := regexp.MustCompile(`^<[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*@[a-z0-9.-]+>$`)
	tests := []struct{ key, want string }{
		{"notif-1042", "<notif-1042@example.com>"},
		{"job 7/<x>@y.z", "<job=207=2F=3Cx=3E=40y=2Ez@example.com>"},
		{"a=b", "<a=3Db@example.com>"},
		{"ü", "<=C3=BC@example.com>"},
		{"\r\nBcc: x", "<=0D=0ABcc=3A=20x@example.com>"},
	}
	for _, tt := range tests {
		if got := email.MessageID(tt.key, "example.com"); got != tt.want {
			t.Errorf("MessageID(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	long := strings.Repeat("k", 300)
	for _, key := range []string{long, long + "x", "plain", "with space"} {
		id := email.MessageID(key, "example.com")
		if !msgID.MatchString(id) || len(id) > 200 {
			t.Errorf("MessageID(%.20q...) = %q is not a valid short msg-id", key, id)
		}
	}
	if email.MessageID(long, "d") == email.MessageID(long+"x", "d") {
		t.Errorf("long keys collide")
	}

	// A retry renders at another time but keeps the Message-ID.
	_, first, _ := email.Render(oneAlert(), testFrom, fixedDate)
	_, retry, _ := email.Render(oneAlert(), testFrom, fixedDate.Add(time.Minute))
	other := oneAlert()
	other.IdempotencyKey = "notif-1043"
	_, next, _ := email.Render(other, testFrom, fixedDate)
	if first != retry || first == next {
		t.Errorf("Message-IDs: first %s, retry %s, next job %s", first, retry, next)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*notify.Message)
		from    string
		wantErr string
	}{
		{"bad from", func(*notify.Message) {}, "not an address", "from address"},
		{"bad recipient", func(m *notify.Message) { m.To.Address = "ada at example.com" }, testFrom, "recipient address"},
		{"recipient with CRLF", func(m *notify.Message) { m.To.Address = "ada@example.com\r\nBcc: x@y.z" }, testFrom, "recipient address"},
		{"no key", func(m *notify.Message) { m.IdempotencyKey = "" }, testFrom, "idempotency key"},
		{"no alerts", func(m *notify.Message) { m.Alerts = nil }, testFrom, "without alerts"},
		{"unknown kind", func(m *notify.Message) { m.Kind = "fax" }, testFrom, "unknown message kind"},
		{"verification without code", func(m *notify.Message) { m.Kind = notify.KindVerification }, testFrom, "without a code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := oneAlert()
			tt.edit(&m)
			_, _, err := email.Render(m, tt.from, fixedDate)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Render error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
