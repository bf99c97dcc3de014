package api_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/fake"
	"github.com/klaxonhq/klaxon/internal/notify/twilio"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// SMS and voice end to end: the API and the engine over one store, the
// engine's SMS and voice channels pointed at a fake Twilio account, and
// Twilio's callbacks played back signed as Twilio signs them. Klaxon's
// public URL is not the test server's: the signature must be checked
// against the URL Twilio was given, as behind a proxy.

const publicURL = "https://klaxon.example.com"

type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movableClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type phones struct {
	*env
	tw       *fake.Twilio
	eng      *engine.Engine
	clk      *movableClock
	svc      klaxon.Service
	ada, bob klaxon.User
	adaToken string // a token of Ada's own, with the viewer role
}

func newPhones(t *testing.T, open storetest.Opener) *phones {
	t.Helper()
	clk := &movableClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	tw := fake.NewTwilio(t)
	e := newEnv(t, open, store.Options{Clock: clk}, api.Config{Clock: clk, PublicURL: publicURL, TwilioAuthToken: tw.Token})
	cfg := tw.Config()
	cfg.StatusCallbackURL, cfg.GatherURL = publicURL+api.TwilioStatusPath, publicURL+api.TwilioVoicePath
	client, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &phones{env: e, tw: tw, clk: clk}
	p.eng = engine.New(e.store, engine.Config{Clock: clk, Logger: slog.New(slog.DiscardHandler), BundleWindow: -1,
		Channels: map[klaxon.ContactType]notify.Notifier{klaxon.ContactSMS: client.SMS(), klaxon.ContactVoice: client.Voice()}})
	ctx := context.Background()
	p.ada = klaxon.User{Name: "Ada", Email: "ada@example.com", TimeZone: "UTC", Role: klaxon.RoleResponder}
	p.bob = klaxon.User{Name: "Bob", Email: "bob@example.com", TimeZone: "UTC", Role: klaxon.RoleResponder}
	mustDo(t, e.store.CreateUser(ctx, "test", &p.ada))
	mustDo(t, e.store.CreateUser(ctx, "test", &p.bob))
	p.adaToken = klaxon.NewAPIToken()
	mustDo(t, e.store.CreateAPIToken(ctx, "test", &klaxon.APIToken{Name: "ada", Role: klaxon.RoleViewer, UserID: p.ada.ID}, p.adaToken))
	pol := klaxon.EscalationPolicy{Name: "Payments", Steps: []klaxon.EscalationStep{
		{DelayMinutes: 30, Targets: []klaxon.Target{{Type: klaxon.TargetUser, ID: p.ada.ID}}},
		{DelayMinutes: 30, Targets: []klaxon.Target{{Type: klaxon.TargetUser, ID: p.bob.ID}}},
	}}
	mustDo(t, e.store.CreateEscalationPolicy(ctx, "test", &pol))
	p.svc = klaxon.Service{Name: "payments", EscalationPolicyID: pol.ID}
	mustDo(t, e.store.CreateService(ctx, "test", &p.svc))
	return p
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (p *phones) tick(t *testing.T) {
	t.Helper()
	mustDo(t, p.eng.Tick(context.Background()))
}

// alert triggers an alert on the service and returns its id.
func (p *phones) alert(t *testing.T, key string) int64 {
	t.Helper()
	res, err := p.store.Ingest(context.Background(), []klaxon.Event{{ServiceID: p.svc.ID, IntegrationID: 1,
		Action: klaxon.ActionTrigger, DedupKey: key, Summary: "disk full on " + key, Severity: klaxon.SeverityCritical}})
	mustDo(t, err)
	return res[0].AlertID
}

// phone adds a contact method for the user through the API, verifies it
// with the code that reaches the fake Twilio account, and pages it at once
// for high urgency. It returns the method's id.
func (p *phones) phone(t *testing.T, u klaxon.User, typ klaxon.ContactType, number string) int64 {
	t.Helper()
	cm := p.ok(t, http.StatusCreated, "POST", "/api/v1/users/"+idStr(u.ID)+"/contact-methods", map[string]any{"type": typ, "address": number})
	if cm["verified"] != false {
		t.Fatalf("a new %s method is verified: %v", typ, cm)
	}
	cmID := str(t, cm, "id")
	p.ok(t, http.StatusAccepted, "POST", "/api/v1/users/"+idStr(u.ID)+"/contact-methods/"+cmID+"/send-verification", nil)
	p.tick(t)
	code := p.lastCode(t, typ, number)
	m := p.ok(t, http.StatusOK, "POST", "/api/v1/users/"+idStr(u.ID)+"/contact-methods/"+cmID+"/verify", map[string]any{"code": code})
	if m["verified"] != true {
		t.Fatalf("after the right code: %v", m)
	}
	n, _ := strconv.ParseInt(cmID, 10, 64)
	mustDo(t, p.store.CreateNotificationRule(context.Background(), "test", &klaxon.NotificationRule{UserID: u.ID,
		ContactMethodID: n, Urgency: klaxon.UrgencyHigh}))
	return n
}

var codeText = regexp.MustCompile(`^Your Klaxon verification code is ([0-9]{6})$`)

// lastCode reads the code of the last verification sent to number: the
// text of an SMS, or the digits a call reads out.
func (p *phones) lastCode(t *testing.T, typ klaxon.ContactType, number string) string {
	t.Helper()
	if typ == klaxon.ContactSMS {
		ms := p.tw.Messages()
		if len(ms) == 0 || ms[len(ms)-1].Form.Get("To") != number {
			t.Fatalf("no text to %s: %+v", number, ms)
		}
		m := codeText.FindStringSubmatch(ms[len(ms)-1].Form.Get("Body"))
		if m == nil {
			t.Fatalf("text %q carries no code", ms[len(ms)-1].Form.Get("Body"))
		}
		return m[1]
	}
	calls := p.tw.Calls()
	if len(calls) == 0 || calls[len(calls)-1].Form.Get("To") != number {
		t.Fatalf("no call to %s: %+v", number, calls)
	}
	says := twimlSays(t, calls[len(calls)-1].Form.Get("Twiml"))
	m := regexp.MustCompile(`code is ((?:[0-9], ){5}[0-9])\.`).FindStringSubmatch(strings.Join(says, " "))
	if m == nil {
		t.Fatalf("call says %q: no code", says)
	}
	return strings.ReplaceAll(m[1], ", ", "")
}

// twiml is a script as Twilio reads it.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Says    []string `xml:"Say"`
	Message []string `xml:"Message"`
	Gathers []struct {
		Action string   `xml:"action,attr"`
		Says   []string `xml:"Say"`
	} `xml:"Gather"`
}

func parseTwiMLDoc(t *testing.T, doc string) twiml {
	t.Helper()
	var d twiml
	if err := xml.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("not TwiML: %v: %s", err, doc)
	}
	return d
}

func twimlSays(t *testing.T, doc string) []string {
	t.Helper()
	d := parseTwiMLDoc(t, doc)
	says := d.Says
	for _, g := range d.Gathers {
		says = append(says, g.Says...)
	}
	return says
}

func idStr(n int64) string { return strconv.FormatInt(n, 10) }

// callback posts a form to path as Twilio would: signed over the public URL.
func (p *phones) callback(t *testing.T, path string, form url.Values) resp {
	t.Helper()
	return p.signed(t, path, form, p.tw.Token, publicURL+path)
}

// signed posts form to path with the signature of signedURL under token.
func (p *phones) signed(t *testing.T, path string, form url.Values, token, signedURL string) resp {
	t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if token != "" {
		h.Set(twilio.SignatureHeader, twilio.Sign(token, signedURL, form))
	}
	return p.post(t, path, form, h)
}

func (p *phones) post(t *testing.T, path string, form url.Values, h http.Header) resp {
	t.Helper()
	req, err := http.NewRequest("POST", p.srv.URL+path, strings.NewReader(form.Encode()))
	mustDo(t, err)
	req.Header = h
	res, err := p.client.Do(req)
	mustDo(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	mustDo(t, err)
	return resp{status: res.StatusCode, header: res.Header, body: body}
}

// sms sends an incoming text and returns the text Klaxon answers with.
func (p *phones) sms(t *testing.T, from, body string) string {
	t.Helper()
	r := p.callback(t, api.TwilioSMSPath, url.Values{"MessageSid": {fake.MessageSID()}, "From": {from}, "To": {p.tw.From}, "Body": {body}})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") {
		t.Fatalf("incoming sms %q: %s", body, r)
	}
	d := parseTwiMLDoc(t, string(r.body))
	if len(d.Message) != 1 {
		t.Fatalf("answer %s: want one Message", r.body)
	}
	return d.Message[0]
}

func (p *phones) alertNow(t *testing.T, alertID int64) klaxon.Alert {
	t.Helper()
	a, err := p.store.Alert(context.Background(), alertID)
	mustDo(t, err)
	return a
}

// responses are the alert's log entries that record people's answers.
func (p *phones) responses(t *testing.T, alertID int64) []klaxon.AlertLogEntry {
	t.Helper()
	log, err := p.store.AlertLog(context.Background(), alertID)
	mustDo(t, err)
	var out []klaxon.AlertLogEntry
	for _, e := range log {
		switch e.Kind {
		case "acknowledged", "resolved", "escalated":
			out = append(out, e)
		}
	}
	return out
}

func (p *phones) notification(t *testing.T, alertID int64, typ klaxon.ContactType, userID int64) klaxon.Notification {
	t.Helper()
	ns, err := p.store.ListNotifications(context.Background(), alertID, 0, klaxon.Page{})
	mustDo(t, err)
	slices.Reverse(ns) // the first page of that type, not a failover made later
	for _, n := range ns {
		if n.ContactType == typ && n.UserID == userID {
			return n
		}
	}
	t.Fatalf("no %s notification to user %d about alert %d in %+v", typ, userID, alertID, ns)
	return klaxon.Notification{}
}

func eachStoreAPI(t *testing.T, test func(t *testing.T, p *phones)) {
	for _, tc := range []struct {
		name string
		open storetest.Opener
	}{{"sqlite", storetest.OpenSQLite}, {"postgres", storetest.OpenPostgres}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			test(t, newPhones(t, tc.open))
		})
	}
}

func TestSMSReplyActsOnTheRightAlertAsTheRightPerson(t *testing.T) {
	eachStoreAPI(t, func(t *testing.T, p *phones) {
		const adaPhone, bobPhone = "+14155550100", "+14155550199"
		p.phone(t, p.ada, klaxon.ContactSMS, adaPhone)
		bobSMS := p.phone(t, p.bob, klaxon.ContactSMS, bobPhone)
		a1 := p.alert(t, "db-1")
		p.clk.add(time.Second)
		a2 := p.alert(t, "db-2")
		p.tick(t)
		var texts []string
		for _, m := range p.tw.Messages() {
			if m.Form.Get("To") == adaPhone {
				texts = append(texts, m.Form.Get("Body"))
			}
		}
		slices.Sort(texts[1:]) // sent concurrently
		if len(texts) != 3 || !strings.HasPrefix(texts[1], "Klaxon #1 CRITICAL: disk full on db-1") || !strings.Contains(texts[1], "Reply ACK 1 ") ||
			!strings.HasPrefix(texts[2], "Klaxon #2 CRITICAL: disk full on db-2") {
			t.Fatalf("texts to Ada %q: want the code, then pages numbered 1 and 2", texts)
		}
		// Bob is paged about a2 only (as step 2 would): to him it is alert 1.
		mustDo(t, p.store.AddNotifications(context.Background(), []klaxon.Notification{{IdempotencyKey: "bob-a2", AlertID: a2,
			ServiceID: p.svc.ID, UserID: p.bob.ID, ContactMethodID: bobSMS, Firing: "e0.r0.s1", DueAt: p.clk.Now()}}))
		p.tick(t)
		last := p.tw.Messages()[len(p.tw.Messages())-1]
		if last.Form.Get("To") != bobPhone || !strings.HasPrefix(last.Form.Get("Body"), "Klaxon #1 CRITICAL: disk full on db-2") {
			t.Fatalf("Bob's page %v", last.Form)
		}

		if got := p.sms(t, bobPhone, "ack 1"); got != "Alert 1 acknowledged: disk full on db-2" {
			t.Errorf("Bob's ACK 1 answered %q", got)
		}
		if p.alertNow(t, a1).Status != klaxon.AlertTriggered || p.alertNow(t, a2).Status != klaxon.AlertAcknowledged {
			t.Fatalf("Bob's ACK 1 acted on the wrong alert")
		}
		log := p.responses(t, a2)
		if len(log) != 1 || log[0].Actor != "user:"+idStr(p.bob.ID) || log[0].Message != "by SMS reply" {
			t.Fatalf("a2's log %+v", log)
		}
		if got := p.sms(t, adaPhone, " ACK  #1 "); got != "Alert 1 acknowledged: disk full on db-1" {
			t.Errorf("Ada's ACK 1 answered %q", got)
		}
		if got := p.sms(t, adaPhone, "ACK 2"); got != "Alert 2 is acknowledged already: disk full on db-2" {
			t.Errorf("Ada's ACK 2 answered %q", got)
		}
		if got := p.sms(t, adaPhone, "RES 1"); got != "Alert 1 resolved: disk full on db-1" {
			t.Errorf("Ada's RES 1 answered %q", got)
		}
		if got := p.sms(t, adaPhone, "ESC 1"); got != "Alert 1 is resolved, and only a triggered alert can be escalated; nothing changed: disk full on db-1" {
			t.Errorf("Ada's ESC 1 answered %q", got)
		}
		log = p.responses(t, a1)
		if len(log) != 2 || log[0].Kind != "acknowledged" || log[1].Kind != "resolved" || log[1].Actor != "user:"+idStr(p.ada.ID) {
			t.Fatalf("a1's log %+v", log)
		}
		// Twilio retries a webhook it got no answer to: the same message
		// (same MessageSid) acts once.
		a3 := p.alert(t, "db-3")
		p.tick(t)
		msgs := p.tw.Messages()
		var number int
		if _, err := fmt.Sscanf(msgs[len(msgs)-1].Form.Get("Body"), "Klaxon #%d", &number); err != nil {
			t.Fatalf("the page about db-3: %v", msgs[len(msgs)-1].Form)
		}
		esc := url.Values{"MessageSid": {fake.MessageSID()}, "From": {adaPhone}, "To": {p.tw.From}, "Body": {fmt.Sprintf("ESC %d", number)}}
		for i, want := range []string{"escalated to the next step", "was answered already; nothing changed"} {
			r := p.callback(t, api.TwilioSMSPath, esc)
			if d := parseTwiMLDoc(t, string(r.body)); len(d.Message) != 1 || !strings.Contains(d.Message[0], want) {
				t.Fatalf("delivery %d of one ESC: %s, want %q", i+1, r.body, want)
			}
		}
		if log := p.responses(t, a3); len(log) != 1 || log[0].Kind != "escalated" {
			t.Fatalf("a3's log after one ESC delivered twice: %+v", log)
		}
	})
}

func TestSMSReplyMistakesChangeNothing(t *testing.T) {
	eachStoreAPI(t, func(t *testing.T, p *phones) {
		const adaPhone = "+14155550100"
		p.phone(t, p.ada, klaxon.ContactSMS, adaPhone)
		// Bob's number is not verified: his texts are a stranger's.
		p.ok(t, http.StatusCreated, "POST", "/api/v1/users/"+idStr(p.bob.ID)+"/contact-methods", map[string]any{"type": "sms", "address": "+14155550199"})
		a1 := p.alert(t, "db-1")
		p.tick(t)
		for _, tc := range []struct{ name, from, body, want string }{
			{"unknown sender", "+447700900123", "ACK 1", "Klaxon does not know this number"},
			{"unverified sender", "+14155550199", "ACK 1", "Klaxon does not know this number"},
			{"unknown number", adaPhone, "ACK 7", "Klaxon has sent you no alert numbered 7"},
			{"bad syntax", adaPhone, "yes, on it", notify.ErrReplySyntax.Error()},
			{"extra words", adaPhone, "ACK 1 please", notify.ErrReplySyntax.Error()},
			{"empty", adaPhone, "", notify.ErrReplySyntax.Error()},
		} {
			if got := p.sms(t, tc.from, tc.body); !strings.HasPrefix(got, tc.want) {
				t.Errorf("%s: answered %q, want %q…", tc.name, got, tc.want)
			}
		}
		if a := p.alertNow(t, a1); a.Status != klaxon.AlertTriggered || len(p.responses(t, a1)) != 0 {
			t.Fatalf("a mistaken reply changed the alert: %+v %+v", a, p.responses(t, a1))
		}
	})
}

func TestTwilioCallbacksNeedTwiliosSignature(t *testing.T) {
	eachStoreAPI(t, func(t *testing.T, p *phones) {
		const adaPhone = "+14155550100"
		p.phone(t, p.ada, klaxon.ContactSMS, adaPhone)
		a1 := p.alert(t, "db-1")
		p.tick(t)
		n := p.notification(t, a1, klaxon.ContactSMS, p.ada.ID)
		delivered := url.Values{"MessageSid": {n.ProviderID}, "MessageStatus": {"delivered"}, "AccountSid": {p.tw.SID}}
		ack := url.Values{"MessageSid": {fake.MessageSID()}, "From": {adaPhone}, "To": {p.tw.From}, "Body": {"ACK 1"}}
		form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		for _, tc := range []struct {
			name string
			r    func(path string, f url.Values) resp
		}{
			{"no signature", func(path string, f url.Values) resp { return p.post(t, path, f, form) }},
			{"another account's token", func(path string, f url.Values) resp {
				return p.signed(t, path, f, "0123456789abcdef0123456789abcdef", publicURL+path)
			}},
			{"signed for another URL", func(path string, f url.Values) resp {
				return p.signed(t, path, f, p.tw.Token, p.srv.URL+path) // not the URL Twilio was given
			}},
			{"signed for other parameters", func(path string, f url.Values) resp {
				h := form.Clone()
				other := url.Values{}
				for k, v := range f {
					other[k] = v
				}
				other.Set("Body", "RES 1")
				other.Set("MessageStatus", "failed")
				h.Set(twilio.SignatureHeader, twilio.Sign(p.tw.Token, publicURL+path, other))
				return p.post(t, path, f, h)
			}},
		} {
			if r := tc.r(api.TwilioStatusPath, delivered); r.status != http.StatusForbidden {
				t.Errorf("%s: status callback answered %s", tc.name, r)
			}
			if r := tc.r(api.TwilioSMSPath, ack); r.status != http.StatusForbidden {
				t.Errorf("%s: incoming sms answered %s", tc.name, r)
			}
			if r := tc.r(api.TwilioVoicePath+"?n="+n.IdempotencyKey, url.Values{"CallSid": {fake.CallSID()}, "Digits": {"6"}}); r.status != http.StatusForbidden {
				t.Errorf("%s: gather answered %s", tc.name, r)
			}
		}
		if got := p.notification(t, a1, klaxon.ContactSMS, p.ada.ID); got.Status != klaxon.NotificationSent || got.DeliveredAt != nil {
			t.Errorf("a forged delivery report changed the notification: %+v", got)
		}
		if a := p.alertNow(t, a1); a.Status != klaxon.AlertTriggered {
			t.Errorf("a forged reply changed the alert: %+v", a)
		}
		// Signed properly, the same requests work.
		if r := p.callback(t, api.TwilioStatusPath, delivered); r.status != http.StatusNoContent {
			t.Fatalf("signed status callback: %s", r)
		}
		if got := p.sms(t, adaPhone, "ACK 1"); !strings.HasPrefix(got, "Alert 1 acknowledged") {
			t.Fatalf("signed reply answered %q", got)
		}
		// A body over the limit is refused before anything is read.
		big := url.Values{"Body": {strings.Repeat("x", 70<<10)}}
		if r := p.callback(t, api.TwilioSMSPath, big); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("a 70 KiB callback: %s", r)
		}
	})
}

func TestTwilioDeliveryReports(t *testing.T) {
	eachStoreAPI(t, func(t *testing.T, p *phones) {
		p.phone(t, p.ada, klaxon.ContactSMS, "+14155550100")
		p.phone(t, p.ada, klaxon.ContactVoice, "+14155550101")
		a1, a2 := p.alert(t, "db-1"), p.alert(t, "db-2")
		p.tick(t)
		status := func(form url.Values) {
			t.Helper()
			if r := p.callback(t, api.TwilioStatusPath, form); r.status != http.StatusNoContent {
				t.Fatalf("status callback %v: %s", form, r)
			}
		}
		text := p.notification(t, a1, klaxon.ContactSMS, p.ada.ID)
		status(url.Values{"MessageSid": {text.ProviderID}, "MessageStatus": {"sent"}})
		if n := p.notification(t, a1, klaxon.ContactSMS, p.ada.ID); n.Status != klaxon.NotificationSent {
			t.Fatalf("after sent: %+v", n)
		}
		status(url.Values{"MessageSid": {text.ProviderID}, "MessageStatus": {"delivered"}})
		if n := p.notification(t, a1, klaxon.ContactSMS, p.ada.ID); n.Status != klaxon.NotificationDelivered || n.DeliveredAt == nil {
			t.Fatalf("after delivered: %+v", n)
		}
		failed := p.notification(t, a2, klaxon.ContactSMS, p.ada.ID)
		status(url.Values{"MessageSid": {failed.ProviderID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}})
		if n := p.notification(t, a2, klaxon.ContactSMS, p.ada.ID); n.Status != klaxon.NotificationFailed || n.Reason != "Twilio reported undelivered (error 30003)" {
			t.Fatalf("after undelivered: %+v", n)
		}
		// Undelivered, she is paged on her next method at once.
		all, err := p.store.ListNotifications(context.Background(), a2, 0, klaxon.Page{})
		mustDo(t, err)
		if all[0].Reason != "failover" || all[0].IdempotencyKey != failed.IdempotencyKey+".f"+strconv.FormatInt(all[0].ContactMethodID, 10) {
			t.Fatalf("no failover after the undelivered report: %+v", all[0])
		}
		call := p.notification(t, a1, klaxon.ContactVoice, p.ada.ID)
		status(url.Values{"CallSid": {call.ProviderID}, "CallStatus": {"ringing"}})
		status(url.Values{"CallSid": {call.ProviderID}, "CallStatus": {"in-progress"}})
		if n := p.notification(t, a1, klaxon.ContactVoice, p.ada.ID); n.Status != klaxon.NotificationDelivered {
			t.Fatalf("an answered call: %+v", n)
		}
		unanswered := p.notification(t, a2, klaxon.ContactVoice, p.ada.ID)
		status(url.Values{"CallSid": {unanswered.ProviderID}, "CallStatus": {"no-answer"}})
		if n := p.notification(t, a2, klaxon.ContactVoice, p.ada.ID); n.Status != klaxon.NotificationFailed {
			t.Fatalf("an unanswered call: %+v", n)
		}
		// Unknown SIDs are ignored; malformed reports are refused.
		status(url.Values{"MessageSid": {fake.MessageSID()}, "MessageStatus": {"delivered"}})
		if r := p.callback(t, api.TwilioStatusPath, url.Values{"MessageSid": {"nope"}, "MessageStatus": {"delivered"}}); r.status != http.StatusBadRequest {
			t.Errorf("malformed SID: %s", r)
		}
	})
}

func TestVoiceKeysAnswerTheCall(t *testing.T) {
	eachStoreAPI(t, func(t *testing.T, p *phones) {
		p.phone(t, p.ada, klaxon.ContactVoice, "+14155550101")
		p.phone(t, p.bob, klaxon.ContactSMS, "+14155550199")
		calls := len(p.tw.Calls())
		a1, a2, a3 := p.alert(t, "db-1"), p.alert(t, "db-2"), p.alert(t, "db-3")
		p.tick(t)
		made := p.tw.Calls()[calls:]
		if len(made) != 3 {
			t.Fatalf("%d calls, want 3", len(made))
		}
		// press answers the call about alert with key.
		press := func(alertID int64, key string) string {
			t.Helper()
			n := p.notification(t, alertID, klaxon.ContactVoice, p.ada.ID)
			var c *fake.Created
			for i := range made {
				if made[i].SID == n.ProviderID {
					c = &made[i]
				}
			}
			if c == nil {
				t.Fatalf("no call for %+v", n)
			}
			d := parseTwiMLDoc(t, c.Form.Get("Twiml"))
			if len(d.Gathers) == 0 || !strings.HasPrefix(d.Gathers[0].Action, publicURL+api.TwilioVoicePath+"?n=") {
				t.Fatalf("call script %s", c.Form.Get("Twiml"))
			}
			action, _ := url.Parse(d.Gathers[0].Action)
			r := p.callback(t, action.RequestURI(), url.Values{"CallSid": {c.SID}, "Digits": {key}, "AccountSid": {p.tw.SID}})
			if r.status != http.StatusOK {
				t.Fatalf("gather %s: %s", key, r)
			}
			return strings.Join(twimlSays(t, string(r.body)), " ")
		}
		if got := press(a1, "4"); got != "Alert 1 acknowledged. Goodbye." {
			t.Errorf("4 said %q", got)
		}
		if got := press(a2, "6"); got != "Alert 2 resolved. Goodbye." {
			t.Errorf("6 said %q", got)
		}
		if got := press(a3, "5"); !strings.Contains(got, "that key does nothing") {
			t.Errorf("5 said %q", got)
		}
		if got := press(a3, "8"); got != "Alert 3 escalated to the next step. Goodbye." {
			t.Errorf("8 said %q", got)
		}
		if got := press(a2, "4"); got != "Alert 2 is resolved; nothing changed. Goodbye." {
			t.Errorf("4 on a resolved alert said %q", got)
		}
		if a := p.alertNow(t, a1); a.Status != klaxon.AlertAcknowledged {
			t.Errorf("a1 is %s", a.Status)
		}
		if a := p.alertNow(t, a2); a.Status != klaxon.AlertResolved {
			t.Errorf("a2 is %s", a.Status)
		}
		log := p.responses(t, a3)
		if len(log) != 1 || log[0].Kind != "escalated" || log[0].Actor != "user:"+idStr(p.ada.ID) || log[0].Message != "by a key pressed on a call" {
			t.Fatalf("a3's log %+v", log)
		}
		// Escalated, a3 pages step 2 (Bob) now.
		p.tick(t)
		last := p.tw.Messages()[len(p.tw.Messages())-1]
		if last.Form.Get("To") != "+14155550199" || !strings.Contains(last.Form.Get("Body"), "db-3") {
			t.Errorf("after the escalation the last text is %v", last.Form)
		}

		// A key for a call that is not the notification's, or an unknown
		// notification, does nothing.
		n := p.notification(t, a3, klaxon.ContactVoice, p.ada.ID)
		r := p.callback(t, api.TwilioVoicePath+"?n="+url.QueryEscape(n.IdempotencyKey), url.Values{"CallSid": {fake.CallSID()}, "Digits": {"6"}})
		if got := strings.Join(twimlSays(t, string(r.body)), " "); !strings.HasPrefix(got, "This call takes no answer") {
			t.Errorf("another call's key said %q", got)
		}
		r = p.callback(t, api.TwilioVoicePath+"?n=nope", url.Values{"CallSid": {fake.CallSID()}, "Digits": {"6"}})
		if got := strings.Join(twimlSays(t, string(r.body)), " "); !strings.HasPrefix(got, "Klaxon cannot find the page") {
			t.Errorf("an unknown key said %q", got)
		}
		if a := p.alertNow(t, a3); a.Status != klaxon.AlertTriggered {
			t.Errorf("a3 is %s", a.Status)
		}
	})
}

func TestPhoneVerification(t *testing.T) {
	eachStoreAPI(t, func(t *testing.T, p *phones) {
		base := "/api/v1/users/" + idStr(p.ada.ID) + "/contact-methods/"
		cm := p.ok(t, http.StatusCreated, "POST", strings.TrimSuffix(base, "/"), map[string]any{"type": "voice", "address": "+14155550101"})
		cmID := str(t, cm, "id")
		mail := str(t, p.ok(t, http.StatusCreated, "POST", strings.TrimSuffix(base, "/"), map[string]any{"type": "email", "address": "ada@example.com"}), "id")

		// Ada's own token may; Bob's business it is not.
		bobToken := klaxon.NewAPIToken()
		mustDo(t, p.store.CreateAPIToken(context.Background(), "test", &klaxon.APIToken{Name: "bob", Role: klaxon.RoleResponder, UserID: p.bob.ID}, bobToken))
		if r := p.call(t, "POST", base+cmID+"/send-verification", bobToken, nil); r.status != http.StatusForbidden {
			t.Fatalf("Bob's token: %s", r)
		}
		r := p.call(t, "POST", base+cmID+"/send-verification", p.adaToken, nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("send: %s", r)
		}
		conforms(t, p.env, "VerificationSent", r.obj(t))
		if got := r.obj(t)["expires_at"]; got != "2026-03-10T12:10:00Z" {
			t.Errorf("expires_at %v", got)
		}
		if r := p.call(t, "POST", base+cmID+"/send-verification", p.adaToken, nil); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "30" {
			t.Errorf("a second code at once: %s %v", r, r.header)
		}
		p.tick(t)
		code := p.lastCode(t, klaxon.ContactVoice, "+14155550101")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		verify := func(code string) resp {
			t.Helper()
			return p.call(t, "POST", base+cmID+"/verify", p.adaToken, map[string]any{"code": code})
		}
		wantCodeError := func(r resp, status int, text string) {
			t.Helper()
			if r.status != status {
				t.Fatalf("got %s, want %d", r, status)
			}
			e := r.obj(t)["error"].(map[string]any)
			if e["field"] != "code" || !strings.Contains(e["message"].(string), text) {
				t.Fatalf("error %v, want field code saying %q", e, text)
			}
		}
		wantCodeError(verify(wrong), http.StatusBadRequest, "is wrong; 4 attempts left")
		if r := p.call(t, "POST", base+cmID+"/verify", p.adaToken, map[string]any{"code": code, "extra": 1}); r.status != http.StatusBadRequest {
			t.Errorf("unknown field: %s", r)
		}
		wantCodeError(p.call(t, "POST", base+cmID+"/verify", p.adaToken, map[string]any{}), http.StatusBadRequest, "is required")

		// Expired after ten minutes.
		p.clk.add(10 * time.Minute)
		wantCodeError(verify(code), http.StatusBadRequest, "has expired")

		// A new code; five wrong tries use it up.
		p.ok(t, http.StatusAccepted, "POST", base+cmID+"/send-verification", nil)
		p.tick(t)
		code = p.lastCode(t, klaxon.ContactVoice, "+14155550101")
		wrong = "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range 4 {
			wantCodeError(verify(wrong), http.StatusBadRequest, "is wrong")
		}
		wantCodeError(verify(wrong), http.StatusBadRequest, "last attempt")
		wantCodeError(verify(code), http.StatusTooManyRequests, "request a new code")

		// The right code in time.
		p.clk.add(time.Minute)
		p.ok(t, http.StatusAccepted, "POST", base+cmID+"/send-verification", nil)
		p.tick(t)
		r = verify(p.lastCode(t, klaxon.ContactVoice, "+14155550101"))
		if r.status != http.StatusOK || r.obj(t)["verified"] != true {
			t.Fatalf("the right code: %s", r)
		}
		conforms(t, p.env, "ContactMethod", r.obj(t))
		list := p.ok(t, http.StatusOK, "GET", strings.TrimSuffix(base, "/"), nil)
		for _, m := range list["contact_methods"].([]any) {
			if m.(map[string]any)["verified"] != true {
				t.Errorf("listed unverified: %v", m)
			}
		}
		if r := p.call(t, "POST", base+cmID+"/send-verification", p.adaToken, nil); r.status != http.StatusConflict {
			t.Errorf("a code for a verified number: %s", r)
		}
		if r := p.call(t, "POST", base+mail+"/send-verification", p.adaToken, nil); r.status != http.StatusConflict {
			t.Errorf("a code for an email address: %s", r)
		}
		if r := p.call(t, "POST", "/api/v1/users/"+idStr(p.bob.ID)+"/contact-methods/"+cmID+"/send-verification", p.owner, nil); r.status != http.StatusNotFound {
			t.Errorf("Ada's method under Bob: %s", r)
		}
		// No code shows in the notification log or the audit log.
		var codes []string
		for _, c := range p.tw.Calls() {
			if m := regexp.MustCompile(`code is ((?:[0-9], ){5}[0-9])\.`).FindStringSubmatch(strings.Join(twimlSays(t, c.Form.Get("Twiml")), " ")); m != nil {
				codes = append(codes, strings.ReplaceAll(m[1], ", ", ""))
			}
		}
		if len(codes) != 3 {
			t.Fatalf("%d codes were called out, want 3", len(codes))
		}
		for _, path := range []string{"/api/v1/users/" + idStr(p.ada.ID) + "/notifications", "/api/v1/audit"} {
			r := p.call(t, "GET", path, p.owner, nil)
			for _, code := range codes {
				if strings.Contains(string(r.body), code) {
					t.Errorf("%s shows the code %s: %s", path, code, r)
				}
			}
		}
	})
}

func TestTwilioRoutesOffWithoutAnAccount(t *testing.T) {
	e := sqliteEnv(t)
	for _, path := range []string{api.TwilioStatusPath, api.TwilioSMSPath, api.TwilioVoicePath} {
		r := e.send(t, request{method: "POST", path: path, body: "MessageSid=x"})
		if r.status != http.StatusNotFound {
			t.Errorf("%s without Twilio: %s", path, r)
		}
	}
}
