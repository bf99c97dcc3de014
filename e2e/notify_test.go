package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The paging path, end to end: an event in, an escalation policy and a
// schedule resolved to a person, a notification job, an email out through
// a real SMTP session, and the response links in that email acting on the
// alert. The SMTP peer is harness.MailServer, in this process.

// TestEmailPageAndAcknowledge follows one page on both stores: a critical
// event on a service whose policy's first step is a schedule with one
// person on call sends that person one multipart email (text and HTML)
// whose subject names the summary and the service; its Acknowledge link
// shows a confirmation page on GET and changes nothing, refuses a
// cross-site browser POST, acknowledges on POST as that person (logged as
// user:<id>), and refuses a second POST with 409; the notification log
// shows one sent notification whose provider id is the email's Message-ID;
// an acknowledged alert cannot be escalated, and a further event folding
// into it pages nobody.
func TestEmailPageAndAcknowledge(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		emailPageAndAcknowledge(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{DataDir: t.TempDir(), Args: args})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := storetest.PostgresURL(t)
		emailPageAndAcknowledge(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{Args: append([]string{"--db", db}, args...)})
		})
	})
}

func emailPageAndAcknowledge(t *testing.T, start func(args ...string) *harness.Server) {
	mail := startMailServer(t)
	srv := start(mailArgs(mail)...)
	p := setUpPaging(t, srv, "ada@example.com")

	ev := sendOne(t, srv.URL, p.key, map[string]any{"action": "trigger", "dedup_key": "disk-db-1",
		"summary": "Disk full on db-1", "severity": "critical", "source": "db-1"})
	msg, err := mail.Next(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	page := parseMail(t, msg)
	if !slices.Equal(msg.To, []string{p.email}) {
		t.Errorf("envelope recipients %q, want [%s]", msg.To, p.email)
	}
	if to := page.Header.Get("To"); !strings.Contains(to, "<"+p.email+">") {
		t.Errorf("To: %q does not name %s", to, p.email)
	}
	if !slices.Equal(page.Parts, []string{"text/plain", "text/html"}) {
		t.Errorf("email parts %q, want text/plain then text/html", page.Parts)
	}
	if !strings.Contains(page.Subject, "Disk full on db-1") || !strings.Contains(page.Subject, "payments-api") {
		t.Errorf("subject %q does not name the summary and the service", page.Subject)
	}
	if got := page.Header.Get("X-Klaxon-Alert-Ids"); got != fmt.Sprint(ev.alertID) {
		t.Errorf("X-Klaxon-Alert-Ids %q, want %d", got, ev.alertID)
	}
	ack, resolve := responseLink(t, page.Text, "Acknowledge"), responseLink(t, page.Text, "Resolve")
	if !strings.HasPrefix(ack, srv.URL+"/r/") || !strings.HasPrefix(resolve, srv.URL+"/r/") || ack == resolve {
		t.Errorf("links are not distinct links under the public URL %s: %q %q", srv.URL, ack, resolve)
	}
	for _, link := range []string{ack, resolve} {
		if !strings.Contains(page.HTML, `href="`+link+`"`) {
			t.Errorf("the HTML part has no link to %s", link)
		}
	}

	// Opening the link (as a mail scanner would) changes nothing.
	status, body := fetch(t, "GET", ack, nil)
	if status != http.StatusOK || !strings.Contains(body, "<form") || !strings.Contains(body, "Disk full on db-1") {
		t.Errorf("GET acknowledge link: %d, want 200 with a confirmation form naming the alert:\n%.600s", status, body)
	}
	if a := alertState(t, srv, ev.alertID); a.Status != "triggered" {
		t.Fatalf("after GET on the acknowledge link the alert is %s; a GET must change nothing", a.Status)
	}
	// A cross-site form post from some other page in the person's browser.
	status, body = fetch(t, "POST", ack, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if status != http.StatusForbidden {
		t.Errorf("cross-site POST to the acknowledge link: %d, want 403:\n%.300s", status, body)
	}
	if a := alertState(t, srv, ev.alertID); a.Status != "triggered" {
		t.Fatalf("after a refused cross-site POST the alert is %s", a.Status)
	}

	status, body = fetch(t, "POST", ack, nil)
	if status != http.StatusOK || !strings.Contains(body, "Acknowledged") {
		t.Fatalf("POST acknowledge link: %d, want 200 \"Acknowledged\":\n%.600s", status, body)
	}
	a := alertState(t, srv, ev.alertID)
	if a.Status != "acknowledged" {
		t.Fatalf("after POST on the acknowledge link the alert is %s", a.Status)
	}
	if e, ok := logEntry(a, "acknowledged"); !ok || e.Actor != "user:"+p.userID {
		t.Errorf("log entry \"acknowledged\" %+v (found %v), want actor user:%s; log: %+v", e, ok, p.userID, a.Log)
	}
	if e, ok := logEntry(a, "paged"); !ok || !strings.Contains(e.Message, "Ada") {
		t.Errorf("log entry \"paged\" %+v (found %v) does not name Ada; log: %+v", e, ok, a.Log)
	}
	if status, body = fetch(t, "POST", ack, nil); status != http.StatusConflict {
		t.Errorf("second POST of the acknowledge link: %d, want 409:\n%.300s", status, body)
	}

	// The email reaches the relay before Klaxon hears the relay's answer
	// and records the notification sent: wait (bounded) for the record.
	ns := notifications(t, srv, ev.alertID)
	for deadline := time.Now().Add(5 * time.Second); len(ns) == 1 && ns[0].Status == "pending" && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		ns = notifications(t, srv, ev.alertID)
	}
	if len(ns) != 1 {
		t.Fatalf("notifications of alert %d: %+v, want exactly one", ev.alertID, ns)
	}
	n := ns[0]
	if n.Status != "sent" || n.ProviderID == "" || n.Attempts != 1 || n.Type != "email" ||
		n.ContactMethodID != p.contactID || n.UserID != p.userID || n.Step == "" || n.SentAt == nil {
		t.Errorf("notification %+v: want sent once by email to contact method %s of user %s, with a provider id and a step",
			n, p.contactID, p.userID)
	}
	if id := page.Header.Get("Message-Id"); n.ProviderID != id {
		t.Errorf("provider_id %q is not the email's Message-ID %q", n.ProviderID, id)
	}

	// Acknowledged means someone has it: no escalation, and an event
	// folding into it pages nobody.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Do(ctx, "POST", fmt.Sprintf("/api/v1/alerts/%d/escalate", ev.alertID), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("escalating an acknowledged alert: %v, want 409", err)
	}
	again := sendOne(t, srv.URL, p.key, map[string]any{"action": "trigger", "dedup_key": "disk-db-1",
		"summary": "Disk full on db-1", "severity": "critical"})
	if again.alertID != ev.alertID {
		t.Fatalf("the repeated trigger went to alert %d, not to the acknowledged alert %d", again.alertID, ev.alertID)
	}
	if extra, err := mail.Next(time.Second); err == nil {
		t.Errorf("an email arrived after the alert was acknowledged:\n%s", extra.Data)
	}
	if ns := notifications(t, srv, ev.alertID); len(ns) != 1 {
		t.Errorf("after a trigger folded into the acknowledged alert, it has %d notifications, want 1: %+v", len(ns), ns)
	}
}

// TestNotificationSurvivesKill9 proves that a page is durable: while the
// mail relay refuses every recipient (451, a temporary failure), the job
// stays pending with its attempts and last error recorded; the server is
// then SIGKILLed, the relay recovers, and a new server on the same store
// sends the email once, when the retry falls due (first backoff 5 s ±20%),
// and records it sent with every attempt the relay saw counted. (A relay
// that answers 451 stands in for one that is down, without giving its port
// up to a race between tests.)
func TestNotificationSurvivesKill9(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		notificationSurvivesKill9(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{DataDir: dir, Args: args})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := storetest.PostgresURL(t)
		notificationSurvivesKill9(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{Args: append([]string{"--db", db}, args...)})
		})
	})
}

func notificationSurvivesKill9(t *testing.T, start func(args ...string) *harness.Server) {
	mail := startMailServer(t)
	mail.SetRefusing(true)
	srv := start(mailArgs(mail)...)
	p := setUpPaging(t, srv, "grace@example.com")
	ev := sendOne(t, srv.URL, p.key, map[string]any{"action": "trigger", "dedup_key": "api-5xx",
		"summary": "API 5xx above 5%", "severity": "error"})

	var failed notificationJSON
	waitFor(t, 10*time.Second, "the first attempt to fail and be recorded", func() bool {
		ns := notifications(t, srv, ev.alertID)
		if len(ns) == 1 && ns[0].Status == "pending" && ns[0].Attempts >= 1 && ns[0].LastError != "" {
			failed = ns[0]
			return true
		}
		return false
	})
	failedAt := time.Now()
	if !strings.Contains(failed.LastError, "451") {
		t.Errorf("last_error %q does not carry the relay's 451", failed.LastError)
	}
	srv.Kill()
	refused := mail.Refused()
	t.Logf("killed with notification pending after %d attempt(s): %s", failed.Attempts, failed.LastError)
	if refused != failed.Attempts {
		t.Errorf("the relay refused %d time(s) but the notification records %d attempt(s)", refused, failed.Attempts)
	}

	mail.SetRefusing(false)
	srv = start(mailArgs(mail)...)
	msg, err := mail.Next(30 * time.Second)
	if err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	t.Logf("delivered %s after the failure was seen, %s after the retry fell due",
		msg.At.Sub(failedAt).Round(10*time.Millisecond), msg.At.Sub(failed.DueAt).Round(10*time.Millisecond))
	if late := msg.At.Sub(failed.DueAt); late > 3*time.Second {
		t.Errorf("the retry went out %s after it fell due; the engine should wake for it", late.Round(10*time.Millisecond))
	}
	page := parseMail(t, msg)
	if !strings.Contains(page.Subject, "API 5xx above 5%") {
		t.Errorf("subject %q does not name the alert", page.Subject)
	}
	// A second copy would come at once if it came at all: the job is due.
	if extra, err := mail.Next(1500 * time.Millisecond); err == nil {
		t.Errorf("the page was delivered twice; the second copy:\n%s", extra.Data)
	}
	var sent notificationJSON
	waitFor(t, 5*time.Second, "the notification to be recorded sent", func() bool {
		ns := notifications(t, srv, ev.alertID)
		if len(ns) == 1 && ns[0].Status != "pending" {
			sent = ns[0]
			return true
		}
		return false
	})
	if sent.Status != "sent" || sent.Attempts < 2 || sent.ProviderID != page.Header.Get("Message-Id") {
		t.Errorf("notification after delivery %+v: want sent, ≥ 2 attempts, provider_id %s", sent, page.Header.Get("Message-Id"))
	}
	if total := mail.Refused() + len(mail.Messages()); sent.Attempts != total {
		t.Errorf("the relay saw %d attempt(s) (%d refused, %d accepted) but the notification records %d",
			total, mail.Refused(), len(mail.Messages()), sent.Attempts)
	}
}

// TestForgedResponseLink proves that the link is the whole credential and
// cannot be bent: a token with one character of its signature changed, a
// token whose payload names another alert, an acknowledge signature on a
// resolve payload, and a truncated token all get a 404 page on GET and on
// POST and change nothing; the genuine link still works afterwards, once;
// and a spent link written differently (same bytes, another base64
// spelling) does not work again.
func TestForgedResponseLink(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		forgedResponseLink(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{DataDir: t.TempDir(), Args: args})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := storetest.PostgresURL(t)
		forgedResponseLink(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{Args: append([]string{"--db", db}, args...)})
		})
	})
}

func forgedResponseLink(t *testing.T, start func(args ...string) *harness.Server) {
	mail := startMailServer(t)
	srv := start(mailArgs(mail)...)
	p := setUpPaging(t, srv, "alan@example.com")
	ev := sendOne(t, srv.URL, p.key, map[string]any{"action": "trigger", "dedup_key": "queue-lag",
		"summary": "Queue lag 10 min", "severity": "critical"})
	msg, err := mail.Next(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	page := parseMail(t, msg)
	ack, resolve := responseLink(t, page.Text, "Acknowledge"), responseLink(t, page.Text, "Resolve")
	base, ackToken := splitLink(t, ack)
	_, resolveToken := splitLink(t, resolve)
	ackPayload, ackSig, _ := strings.Cut(ackToken, ".")
	resolvePayload, _, _ := strings.Cut(resolveToken, ".")

	enc := base64.RawURLEncoding
	raw, err := enc.DecodeString(ackPayload)
	if err != nil || len(raw) < 3 {
		t.Fatalf("acknowledge token payload %q does not decode as base64url: %x %v", ackPayload, raw, err)
	}
	// The payload is version, action, then the alert id as a varint (one
	// byte for a small id): changing that byte names another alert. Should
	// the layout change, this is still a one-byte change of the payload.
	altered, what := append([]byte(nil), raw...), "payload naming another alert"
	if raw[2] != byte(ev.alertID) {
		what = "payload with one byte changed"
	}
	altered[2]++
	forgeries := map[string]string{
		"one signature character changed": ackPayload + "." + changeChar(ackSig, len(ackSig)/2),
		what:                              enc.EncodeToString(altered) + "." + ackSig,
		"resolve payload, ack signature":  resolvePayload + "." + ackSig,
		"truncated":                       ackToken[:len(ackToken)-1],
		"no signature":                    ackPayload,
	}
	for name, token := range forgeries {
		if token == ackToken || token == resolveToken {
			t.Fatalf("forgery %q is the genuine token", name)
		}
		for _, method := range []string{"GET", "POST"} {
			status, body := fetch(t, method, base+token, nil)
			if status != http.StatusNotFound || !strings.Contains(body, "Link not valid") || strings.Contains(body, "Queue lag") {
				t.Errorf("%s %s (%s): %d, want 404 \"Link not valid\" naming no alert:\n%.400s", method, token, name, status, body)
			}
		}
	}
	a := alertState(t, srv, ev.alertID)
	if a.Status != "triggered" {
		t.Fatalf("after forged links the alert is %s", a.Status)
	}
	for _, e := range a.Log {
		if e.Kind != "paged" {
			t.Errorf("forged links left a log entry: %+v", e)
		}
	}

	// The genuine link still works, once.
	if status, body := fetch(t, "POST", ack, nil); status != http.StatusOK {
		t.Fatalf("POST genuine acknowledge link after the forgeries: %d\n%.400s", status, body)
	}
	if status, _ := fetch(t, "POST", ack, nil); status != http.StatusConflict {
		t.Errorf("second POST of the genuine link: %d, want 409", status)
	}

	t.Run("re-encoded spent link", func(t *testing.T) {
		// Unpadded base64 of a payload whose length is not a multiple of
		// 3 ends in a character with unused low bits. Setting one of them
		// spells the same bytes differently; a decoder that is not strict
		// accepts it, and a "used once" check on the token text, rather
		// than on what it decodes to, lets the spent link act again.
		variant, ok := reencode(ackPayload)
		if !ok {
			t.Skipf("payload %q has no unused bits to set", ackPayload)
		}
		status, body := fetch(t, "POST", base+variant+"."+ackSig, nil)
		if status == http.StatusOK {
			t.Errorf("a spent acknowledge link with its last payload character %q changed to %q (same decoded bytes) was accepted again: %d\n%.400s\n"+
				"want 409 (already used) or 404 (not valid): the link must work once, however it is spelt",
				ackPayload[len(ackPayload)-1:], variant[len(variant)-1:], status, body)
		}
	})
}

// TestBundleWindowZeroSendsEachPageAtOnce proves what --bundle-window says:
// "0 or less sends each at once". Two alerts on one service page the same
// person; with the window at 0 the second email must not wait for a
// bundle.
func TestBundleWindowZeroSendsEachPageAtOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		bundleWindowZero(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{DataDir: t.TempDir(), Args: args})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := storetest.PostgresURL(t)
		bundleWindowZero(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{Args: append([]string{"--db", db}, args...)})
		})
	})
}

func bundleWindowZero(t *testing.T, start func(args ...string) *harness.Server) {
	mail := startMailServer(t)
	srv := start(mailArgs(mail)...) // --bundle-window 0
	p := setUpPaging(t, srv, "edsger@example.com")
	first := sendOne(t, srv.URL, p.key, map[string]any{"action": "trigger", "dedup_key": "one", "summary": "First alert", "severity": "critical"})
	if _, err := mail.Next(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// The window runs from when the first page is recorded sent; wait for
	// that, so that the second page is decided with the first one known.
	waitFor(t, 5*time.Second, "the first page to be recorded sent", func() bool {
		ns := notifications(t, srv, first.alertID)
		return len(ns) == 1 && ns[0].Status == "sent"
	})
	second := sendOne(t, srv.URL, p.key, map[string]any{"action": "trigger", "dedup_key": "two", "summary": "Second alert", "severity": "critical"})
	if first.alertID == second.alertID {
		t.Fatalf("two dedup keys made one alert %d", first.alertID)
	}
	msg, err := mail.Next(5 * time.Second)
	if err != nil {
		ns := notifications(t, srv, second.alertID)
		t.Fatalf("with --bundle-window 0 the second alert's page did not go out within 5 s: %v; its notifications: %+v", err, ns)
	}
	if page := parseMail(t, msg); !strings.Contains(page.Subject, "Second alert") {
		t.Errorf("second email's subject %q does not name the second alert", page.Subject)
	}
}
