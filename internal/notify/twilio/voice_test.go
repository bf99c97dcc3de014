package twilio

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

func TestVoiceSendsWhatTwilioDocuments(t *testing.T) {
	f := newFakeTwilio(t)
	m := alertMessage()
	m.To.Type = klaxon.ContactVoice
	rcpt, err := f.client(t).Voice().Notify(context.Background(), m)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if rcpt.ProviderID != fmt.Sprintf("CA%032x", 1) {
		t.Errorf("ProviderID = %q, want the answer's sid", rcpt.ProviderID)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].resource != "Calls" {
		t.Fatalf("requests = %+v, want one to Calls", reqs)
	}
	form := reqs[0].form
	if form.Get("To") != m.To.Address || form.Get("From") != testFrom {
		t.Errorf("To, From = %q, %q", form.Get("To"), form.Get("From"))
	}
	if got := form.Get("StatusCallback"); got != "https://klaxon.example.com/twilio/status" {
		t.Errorf("StatusCallback = %q", got)
	}
	if got := strings.Join(form["StatusCallbackEvent"], " "); got != "initiated ringing answered completed" {
		t.Errorf("StatusCallbackEvent = %q", got)
	}
	doc := parseTwiML(t, []byte(form.Get("Twiml")))
	if len(doc.Verbs) != 3 {
		t.Fatalf("script has %d verbs, want Gather, Gather, Say:\n%s", len(doc.Verbs), form.Get("Twiml"))
	}
	for i, g := range doc.Verbs[:2] {
		if g.XMLName.Local != "Gather" || g.NumDigits != "1" || g.Method != "POST" {
			t.Errorf("verb %d = <%s numDigits=%q method=%q>, want <Gather numDigits=\"1\" method=\"POST\">",
				i, g.XMLName.Local, g.NumDigits, g.Method)
		}
		if g.Action != "https://klaxon.example.com/twilio/gather?n=job-42" {
			t.Errorf("verb %d action = %q", i, g.Action)
		}
		said := strings.Join(g.Says, " ")
		if !strings.Contains(said, "CRITICAL: Disk full on db-1, payments-api") {
			t.Errorf("verb %d says %q, not the alert", i, said)
		}
		if !strings.Contains(said, GatherInstructions) {
			t.Errorf("verb %d says %q, not the instructions", i, said)
		}
	}
	if last := doc.Verbs[2]; last.XMLName.Local != "Say" || last.Text != "Goodbye." {
		t.Errorf("last verb = <%s>%s, want <Say>Goodbye.", last.XMLName.Local, last.Text)
	}
}

func TestCallTwiMLEscapesAlertText(t *testing.T) {
	m := alertMessage()
	m.IdempotencyKey = `job/42 &"<x>`
	m.Alerts[0].Summary = `<Hangup/> & "quotes" 'apostrophes' ]]> ` + "\x00\x07ctl\nline"
	m.Service = `svc<&>`
	doc, err := CallTwiML(m, "https://klaxon.example.com/twilio/gather?tenant=a&b=c")
	if err != nil {
		t.Fatal(err)
	}
	d := parseTwiML(t, doc)
	if n := strings.Count(string(doc), "<Hangup"); n != 0 {
		t.Errorf("alert text became markup:\n%s", doc)
	}
	said := strings.Join(d.Verbs[0].Says, " ")
	// Markup characters are not read out; the rest is, escaped on the way.
	if !strings.Contains(said, `Hangup/ & "quotes" 'apostrophes' ctl line, svc &.`) {
		t.Errorf("said %q, want the summary's words read plainly", said)
	}
	action, err := url.Parse(d.Verbs[0].Action)
	if err != nil {
		t.Fatal(err)
	}
	q := action.Query()
	if q.Get("n") != m.IdempotencyKey || q.Get("tenant") != "a" || q.Get("b") != "c" {
		t.Errorf("action %q lost the key or the URL's own parameters", d.Verbs[0].Action)
	}
}

func TestCallTwiMLBundleFitsTwilioLimit(t *testing.T) {
	m := alertMessage()
	m.Alerts = nil
	for i := range 30 {
		m.Alerts = append(m.Alerts, notify.Alert{Number: i + 1, Severity: klaxon.SeverityWarning,
			Summary: strings.Repeat("&<", 300)}) // escaping makes each character four or five
	}
	doc, err := CallTwiML(m, "https://klaxon.example.com/twilio/gather")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) > MaxTwiMLChars {
		t.Fatalf("script is %d bytes, more than %d", len(doc), MaxTwiMLChars)
	}
	d := parseTwiML(t, doc)
	said := strings.Join(d.Verbs[0].Says, " ")
	if !strings.HasPrefix(said, "This is Klaxon. 30 new alerts on payments-api.") {
		t.Errorf("said %.80q, want the bundle's title first", said)
	}
}

func TestCallTwiMLBundleNamesEachAlert(t *testing.T) {
	m := alertMessage()
	m.Alerts = append(m.Alerts, notify.Alert{Number: 9, Severity: klaxon.SeverityWarning, Summary: "Slow queries"})
	doc, err := CallTwiML(m, "https://klaxon.example.com/twilio/gather")
	if err != nil {
		t.Fatal(err)
	}
	said := strings.Join(parseTwiML(t, doc).Verbs[0].Says, " ")
	for _, want := range []string{"2 new alerts on payments-api", "Alert 4: CRITICAL: Disk full on db-1",
		"Alert 9: WARNING: Slow queries", "all 2 alerts"} {
		if !strings.Contains(said, want) {
			t.Errorf("said %q, want %q", said, want)
		}
	}
}

func TestCallTwiMLWithoutGatherURL(t *testing.T) {
	doc, err := CallTwiML(alertMessage(), "")
	if err != nil {
		t.Fatal(err)
	}
	d := parseTwiML(t, doc)
	if len(d.Verbs) != 1 || d.Verbs[0].XMLName.Local != "Say" {
		t.Fatalf("script = %s, want one Say", doc)
	}
	if n := strings.Count(d.Verbs[0].Text, "Disk full on db-1"); n != 2 {
		t.Errorf("alert read %d times, want 2: %q", n, d.Verbs[0].Text)
	}
}

func TestCallTwiMLVerificationSpellsCodeTwice(t *testing.T) {
	m := notify.Message{Kind: notify.KindVerification, Code: "428913",
		To: notify.Recipient{Type: klaxon.ContactVoice, Address: "+14155550123"}}
	doc, err := CallTwiML(m, "https://klaxon.example.com/twilio/gather")
	if err != nil {
		t.Fatal(err)
	}
	d := parseTwiML(t, doc)
	if len(d.Verbs) != 1 || d.Verbs[0].XMLName.Local != "Say" {
		t.Fatalf("script = %s, want one Say and no Gather", doc)
	}
	if n := strings.Count(d.Verbs[0].Text, "4, 2, 8, 9, 1, 3"); n != 2 {
		t.Errorf("code spelt %d times, want 2: %q", n, d.Verbs[0].Text)
	}
	m.Code = ""
	if _, err := CallTwiML(m, ""); err == nil {
		t.Error("verification without a code: want an error")
	}
}

func TestCallTwiMLRefusesEmptyAlertMessage(t *testing.T) {
	m := alertMessage()
	m.Alerts = nil
	if _, err := CallTwiML(m, ""); err == nil {
		t.Error("want an error")
	}
	f := newFakeTwilio(t)
	if _, err := f.client(t).Voice().Notify(context.Background(), m); !notify.IsPermanent(err) {
		t.Errorf("Notify = %v, want a permanent error", err)
	}
}

func TestSayTwiML(t *testing.T) {
	doc := SayTwiML("Alert 4 acknowledged. Goodbye. <&>")
	d := parseTwiML(t, doc)
	if len(d.Verbs) != 1 || d.Verbs[0].XMLName.Local != "Say" || d.Verbs[0].Text != "Alert 4 acknowledged. Goodbye. <&>" {
		t.Errorf("SayTwiML = %s", doc)
	}
}

func TestGatherTwiMLAsksAgain(t *testing.T) {
	doc := GatherTwiML("Sorry, that key does nothing.", "https://k.example/g?n=a&x=1")
	d := parseTwiML(t, doc)
	if len(d.Verbs) != 3 || d.Verbs[0].Action != "https://k.example/g?n=a&x=1" {
		t.Fatalf("GatherTwiML = %s", doc)
	}
	if got := d.Verbs[1].Says; len(got) != 2 || got[0] != "Sorry, that key does nothing." || got[1] != GatherInstructions {
		t.Errorf("second Gather says %q", got)
	}
}

func FuzzCallTwiML(f *testing.F) {
	f.Add("Disk full on db-1", "payments-api", "job-42", 1)
	f.Add(`<&>"']]>`+"\x00\x1b", "svc]", "k&n=1", 7)
	f.Fuzz(func(t *testing.T, summary, service, key string, alerts int) {
		m := alertMessage()
		m.Service, m.IdempotencyKey = service, key
		m.Alerts = nil
		for i := range 1 + abs(alerts)%12 {
			m.Alerts = append(m.Alerts, notify.Alert{Number: i + 1, Severity: klaxon.SeverityInfo, Summary: summary})
		}
		doc, err := CallTwiML(m, "https://klaxon.example.com/twilio/gather")
		if len(key) > maxKeyBytes {
			if err == nil {
				t.Fatalf("CallTwiML took a %d-byte key that ParseGather would refuse", len(key))
			}
			return
		}
		if err != nil {
			t.Fatalf("CallTwiML: %v", err)
		}
		if len(doc) > MaxTwiMLChars {
			t.Fatalf("script is %d bytes", len(doc))
		}
		if err := wellFormed(string(doc)); err != nil {
			t.Fatalf("script does not parse: %v\n%s", err, doc)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}
