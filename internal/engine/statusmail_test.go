package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify/email"
	"github.com/klaxonhq/klaxon/internal/notify/webhook"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The status mailer's tests run it against a real store (SQLite, and
// PostgreSQL when reachable), a real SMTP server on loopback reached
// through the real email channel, and a real HTTP receiver reached through
// the real webhook channel. Subscribers, incidents and updates are made
// through the store, so the deliveries are the store's own.

// statusWorld is a status page with two components, a mail server and a
// webhook receiver.
type statusWorld struct {
	t        *testing.T
	s        *store.Store
	clk      *clock
	mail     *harness.MailServer
	hooks    *subscriberHooks
	logs     *syncBuffer
	api, web klaxon.StatusComponent
}

const pageURL = "https://status.acme.example"

func eachStatusStore(t *testing.T, test func(t *testing.T, w *statusWorld)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: t0}
			var s *store.Store
			if name == "sqlite" {
				s = storetest.OpenSQLite(t, store.Options{Clock: clk})
			} else {
				s = storetest.OpenPostgres(t, store.Options{Clock: clk})
			}
			test(t, newStatusWorld(t, s, clk))
		})
	}
}

func newStatusWorld(t *testing.T, s *store.Store, clk *clock) *statusWorld {
	ctx := context.Background()
	mail, err := harness.StartMailServer("127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { mail.Close() })
	w := &statusWorld{t: t, s: s, clk: clk, mail: mail, logs: &syncBuffer{}}
	w.hooks = newSubscriberHooks(t, clk)
	name, zone, u := "Acme Status", "America/Los_Angeles", pageURL
	_, err = s.UpdateStatusPage(ctx, "test", klaxon.StatusPagePatch{Name: &name, TimeZone: &zone, URL: &u})
	must(t, err)
	w.api, err = s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: "API"})
	must(t, err)
	w.web, err = s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: "Website"})
	must(t, err)
	return w
}

// mailer is a new worker over the world's store: a new node, or the same
// one after a restart.
func (w *statusWorld) mailer(edit func(*engine.StatusMailerConfig)) *engine.StatusMailer {
	w.t.Helper()
	return w.mailerOn(w.s, edit)
}

// mailerOn is a new worker over s, which stands in front of the world's
// store.
func (w *statusWorld) mailerOn(s engine.StatusStore, edit func(*engine.StatusMailerConfig)) *engine.StatusMailer {
	w.t.Helper()
	sender, err := email.New(email.Config{URL: w.mail.URL(), From: "Acme Status <status@acme.example>",
		HelloName: "klaxon-test.example", Now: w.clk.Now})
	must(w.t, err)
	hooks, err := webhook.New(webhook.Config{Now: w.clk.Now})
	must(w.t, err)
	cfg := engine.StatusMailerConfig{
		Email:         sender,
		Webhook:       hooks,
		WebhookBody:   webhookBody,
		WebhookSecret: hookSecret,
		PageURL:       func(p klaxon.StatusPage) string { return p.URL },
		Links:         links{},
		Clock:         w.clk,
		Logger:        slog.New(slog.NewTextHandler(w.logs, nil)),
		SendTimeout:   5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	return engine.NewStatusMailer(s, cfg)
}

// links stands in for the status page's signed links.
type links struct{}

func (links) ConfirmURL(base string, id int64) string {
	return fmt.Sprintf("%s/subscriptions/confirm/c%d", base, id)
}

func (links) UnsubscribeURL(base string, id int64) string {
	return fmt.Sprintf("%s/subscriptions/unsubscribe/u%d", base, id)
}

func hookSecret(id int64) []byte { return []byte("whsec_subscriber_" + strconv.FormatInt(id, 10)) }

// webhookBody stands in for the status page's JSON.
func webhookBody(page klaxon.StatusPage, pageURL string, inc klaxon.StatusIncident, updateID int64, unsubscribe string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"meta":     map[string]any{"unsubscribe": unsubscribe},
		"page":     map[string]any{"name": page.Name, "url": pageURL},
		"incident": map[string]any{"id": inc.ID, "name": inc.Name, "status": inc.Status, "update_id": updateID},
	})
}

// subscribe makes an email subscriber and, when confirmed, confirms it as
// its link would.
func (w *statusWorld) subscribe(address string, confirmed bool, components ...int64) klaxon.StatusSubscriber {
	w.t.Helper()
	ctx := context.Background()
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: address, Components: components}
	created, err := w.s.CreateStatusSubscriber(ctx, "visitor", &sub)
	must(w.t, err)
	if !created || sub.ID == 0 {
		w.t.Fatalf("subscriber %s: created %v, id %d", address, created, sub.ID)
	}
	if confirmed {
		sub, err = w.s.ConfirmStatusSubscriber(ctx, sub.ID)
		must(w.t, err)
	}
	return sub
}

// hook makes a webhook subscriber posting to path on the receiver.
func (w *statusWorld) hook(path string, components ...int64) klaxon.StatusSubscriber {
	w.t.Helper()
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberWebhook, Address: w.hooks.url + path, Components: components}
	_, err := w.s.CreateStatusSubscriber(context.Background(), "admin", &sub)
	must(w.t, err)
	w.hooks.secrets.Store(path, hookSecret(sub.ID))
	return sub
}

// incident opens an incident setting each component to a state.
func (w *statusWorld) incident(name string, states map[int64]klaxon.ComponentState) klaxon.StatusIncident {
	w.t.Helper()
	inc, err := w.s.CreateStatusIncident(context.Background(), "admin", klaxon.NewIncident{Name: name,
		Message: "We are looking into " + strings.ToLower(name) + ".", Components: states})
	must(w.t, err)
	return inc
}

func (w *statusWorld) update(inc klaxon.StatusIncident, status klaxon.IncidentStatus, msg string) klaxon.IncidentUpdate {
	w.t.Helper()
	_, u, err := w.s.AddIncidentUpdate(context.Background(), "admin", inc.ID, klaxon.NewIncidentUpdate{Status: status, Message: msg})
	must(w.t, err)
	return u
}

// idle waits until no delivery is pending, and a little more, so that a
// running worker has gone to sleep.
func (w *statusWorld) idle() {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, pending, err := w.s.NextStatusDelivery(context.Background())
		must(w.t, err)
		if !pending {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatal("deliveries still pending after 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
}

// tick lets m send what is due now.
func (w *statusWorld) tick(m *engine.StatusMailer) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(w.t, m.Tick(ctx))
}

// tickAll lets m send everything due now: tick after tick, as a
// subscriber's deliveries go one after another, until nothing is due.
func (w *statusWorld) tickAll(m *engine.StatusMailer) {
	w.t.Helper()
	for range 100 {
		w.tick(m)
		next, pending, err := w.s.NextStatusDelivery(context.Background())
		must(w.t, err)
		if !pending || next.After(w.clk.Now()) {
			return
		}
	}
	w.t.Fatal("deliveries still due after 100 ticks")
}

// received is one email as the test reads it.
type received struct {
	to      string
	subject string
	mail    harness.Email
}

// emails returns every email the server accepted since the last call, in
// a stable order (recipient, then subject).
func (w *statusWorld) emails(seen *int) []received {
	w.t.Helper()
	all := w.mail.Messages()
	var out []received
	for _, m := range all[*seen:] {
		e, err := m.Parse()
		must(w.t, err)
		if len(m.To) != 1 {
			w.t.Fatalf("email to %v, want one recipient", m.To)
		}
		out = append(out, received{to: m.To[0], subject: e.Subject, mail: e})
	}
	*seen = len(all)
	slices.SortFunc(out, func(a, b received) int {
		return strings.Compare(a.to+"\x00"+a.subject, b.to+"\x00"+b.subject)
	})
	return out
}

// summary lists emails as "to: subject".
func summary(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.to+": "+r.subject)
	}
	return out
}

func (w *statusWorld) expectEmails(seen *int, want ...string) []received {
	w.t.Helper()
	rs := w.emails(seen)
	slices.Sort(want)
	if got := summary(rs); !slices.Equal(got, want) {
		w.t.Fatalf("at +%s emails:\n  %s\nwant:\n  %s", w.clk.Now().Sub(t0), strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	return rs
}

// Each update reaches each confirmed subscriber exactly once, by email
// through a real SMTP server, with one-click unsubscribe; a subscriber of
// one component gets only the incidents on it; Run wakes at once when the
// store makes deliveries.
func TestStatusMailerSendsEachUpdateOnce(t *testing.T) {
	eachStatusStore(t, func(t *testing.T, w *statusWorld) {
		carol := w.subscribe("carol@example.org", true)
		w.subscribe("dave@example.org", true, w.web.ID)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.mailer(nil).Run(ctx)
		}()
		defer func() { cancel(); <-done }()

		// Once the worker is idle (the confirmations of confirmed
		// subscribers dropped), the first email must come from the store's
		// signal, well before the worker's 10 s safety sleep.
		w.idle()
		inc := w.incident("Checkout errors", map[int64]klaxon.ComponentState{w.api.ID: klaxon.ComponentMajorOutage})
		m, err := w.mail.Next(3 * time.Second)
		must(t, err)
		e, err := m.Parse()
		must(t, err)
		if len(m.To) != 1 || m.To[0] != carol.Address || e.Subject != "[Acme Status] Checkout errors: Investigating" {
			t.Fatalf("first email to %v: %q", m.To, e.Subject)
		}
		unsubscribe := fmt.Sprintf("%s/subscriptions/unsubscribe/u%d", pageURL, carol.ID)
		for h, want := range map[string]string{
			"List-Unsubscribe":      "<" + unsubscribe + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"From":                  `"Acme Status" <status@acme.example>`,
		} {
			if got := e.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if id := e.Header.Get("Message-Id"); !strings.HasPrefix(id, "<status-") || !strings.HasSuffix(id, "@acme.example>") {
			t.Errorf("Message-ID %q is not the delivery's key", id)
		}
		incidentURL := fmt.Sprintf("%s/incidents/%d", pageURL, inc.ID)
		for _, part := range []string{e.Text, e.HTML} {
			for _, s := range []string{"We are looking into checkout errors.", "Mar 10, 2026 - 05:00 PDT", "API", "Major Outage",
				incidentURL, unsubscribe} {
				if !strings.Contains(part, s) {
					t.Errorf("%q missing from the email:\n%s", s, part)
				}
			}
		}

		w.update(inc, klaxon.IncidentIdentified, "A bad deploy; rolling back.")
		if _, err := w.mail.Next(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		site := w.incident("Website slow", map[int64]klaxon.ComponentState{w.web.ID: klaxon.ComponentDegraded})
		w.update(site, klaxon.IncidentResolved, "Fixed.")
		for range 4 {
			if _, err := w.mail.Next(5 * time.Second); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(300 * time.Millisecond) // room for a duplicate to show
		seen := 0
		w.expectEmails(&seen,
			"carol@example.org: [Acme Status] Checkout errors: Investigating",
			"carol@example.org: [Acme Status] Checkout errors: Identified",
			"carol@example.org: [Acme Status] Website slow: Investigating",
			"carol@example.org: [Acme Status] Website slow: Resolved",
			"dave@example.org: [Acme Status] Website slow: Investigating",
			"dave@example.org: [Acme Status] Website slow: Resolved",
		)
		ids := map[string]bool{}
		arrived := map[string][]string{} // recipient → subjects in the order the server took them
		for _, m := range w.mail.Messages() {
			e, _ := m.Parse()
			ids[e.Header.Get("Message-Id")] = true
			arrived[m.To[0]] = append(arrived[m.To[0]], e.Subject)
		}
		if len(ids) != 6 {
			t.Errorf("%d distinct Message-IDs for 6 emails", len(ids))
		}
		// Each subscriber read the updates in the order they were made,
		// although Website slow's two were due at once and the worker has
		// senders to spare: one subscriber's emails go one at a time.
		for to, want := range map[string][]string{
			"carol@example.org": {"[Acme Status] Checkout errors: Investigating", "[Acme Status] Checkout errors: Identified",
				"[Acme Status] Website slow: Investigating", "[Acme Status] Website slow: Resolved"},
			"dave@example.org": {"[Acme Status] Website slow: Investigating", "[Acme Status] Website slow: Resolved"},
		} {
			if got := arrived[to]; !slices.Equal(got, want) {
				t.Errorf("%s was sent, in this order:\n  %s\nwant:\n  %s", to, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		}
	})
}

// Who hears of what: everyone of an incident without components, a
// component's subscribers only of incidents on it, nobody who unsubscribed
// (not even of an update made before they left).
func TestStatusMailerComponentFilter(t *testing.T) {
	eachStatusStore(t, func(t *testing.T, w *statusWorld) {
		w.subscribe("all@example.org", true)
		w.subscribe("api@example.org", true, w.api.ID)
		w.subscribe("web@example.org", true, w.web.ID)
		w.subscribe("both@example.org", true, w.api.ID, w.web.ID)
		leaving := w.subscribe("leaving@example.org", true)
		m := w.mailer(nil)
		w.tick(m) // the confirmations of confirmed subscribers are dropped
		seen := 0
		w.expectEmails(&seen)

		w.incident("API errors", map[int64]klaxon.ComponentState{w.api.ID: klaxon.ComponentPartialOutage})
		_, err := w.s.UnsubscribeStatusSubscriber(context.Background(), "visitor", leaving.ID)
		must(t, err)
		w.tick(m)
		w.expectEmails(&seen,
			"all@example.org: [Acme Status] API errors: Investigating",
			"api@example.org: [Acme Status] API errors: Investigating",
			"both@example.org: [Acme Status] API errors: Investigating",
		)

		w.incident("Website down", map[int64]klaxon.ComponentState{w.web.ID: klaxon.ComponentMajorOutage})
		w.incident("Degraded everywhere", map[int64]klaxon.ComponentState{w.web.ID: klaxon.ComponentDegraded, w.api.ID: klaxon.ComponentDegraded})
		w.incident("Office move", nil)
		w.tickAll(m) // three updates for most: one at a time
		w.expectEmails(&seen,
			"all@example.org: [Acme Status] Website down: Investigating",
			"web@example.org: [Acme Status] Website down: Investigating",
			"both@example.org: [Acme Status] Website down: Investigating",
			"all@example.org: [Acme Status] Degraded everywhere: Investigating",
			"api@example.org: [Acme Status] Degraded everywhere: Investigating",
			"web@example.org: [Acme Status] Degraded everywhere: Investigating",
			"both@example.org: [Acme Status] Degraded everywhere: Investigating",
			"all@example.org: [Acme Status] Office move: Investigating",
			"api@example.org: [Acme Status] Office move: Investigating",
			"web@example.org: [Acme Status] Office move: Investigating",
			"both@example.org: [Acme Status] Office move: Investigating",
		)
	})
}

// Double opt-in: a new email subscriber gets a confirmation request and
// nothing else until it confirms; then it gets updates.
func TestStatusMailerConfirmation(t *testing.T) {
	eachStatusStore(t, func(t *testing.T, w *statusWorld) {
		erin := w.subscribe("erin@example.org", false)
		m := w.mailer(nil)
		w.incident("API errors", map[int64]klaxon.ComponentState{w.api.ID: klaxon.ComponentPartialOutage})
		w.tick(m)
		seen := 0
		rs := w.expectEmails(&seen, "erin@example.org: Confirm your subscription to Acme Status")
		e := rs[0].mail
		confirm := fmt.Sprintf("%s/subscriptions/confirm/c%d", pageURL, erin.ID)
		if !strings.Contains(e.Text, confirm) || !strings.Contains(e.HTML, `href="`+confirm+`"`) {
			t.Errorf("confirmation lacks its link %s:\n%s", confirm, e.Text)
		}
		if v := e.Header.Get("List-Unsubscribe"); v != "" {
			t.Errorf("confirmation has List-Unsubscribe %q", v)
		}

		_, err := w.s.ConfirmStatusSubscriber(context.Background(), erin.ID)
		must(t, err)
		w.incident("Website down", map[int64]klaxon.ComponentState{w.web.ID: klaxon.ComponentMajorOutage})
		w.tick(m)
		w.expectEmails(&seen, "erin@example.org: [Acme Status] Website down: Investigating")
	})
}

// A node that dies holding deliveries delays them by a lease, no more; a
// new worker on the same store (a restart, or another node) sends them,
// and never again what was sent.
func TestStatusMailerRestart(t *testing.T) {
	eachStatusStore(t, func(t *testing.T, w *statusWorld) {
		ctx := context.Background()
		w.subscribe("carol@example.org", true)
		w.subscribe("dave@example.org", true)
		first := w.mailer(nil)
		// The confirmations of confirmed subscribers are dropped first:
		// each subscriber's deliveries go in the order they were made.
		w.tick(first)
		seen := 0
		w.expectEmails(&seen)
		inc := w.incident("Checkout errors", map[int64]klaxon.ComponentState{w.api.ID: klaxon.ComponentMajorOutage})
		w.tick(first)
		w.expectEmails(&seen,
			"carol@example.org: [Acme Status] Checkout errors: Investigating",
			"dave@example.org: [Acme Status] Checkout errors: Investigating")

		// A node claims the next update's deliveries and dies before
		// sending; the update after that waits behind them.
		w.update(inc, klaxon.IncidentMonitoring, "A fix is out; watching.")
		held, err := w.s.ClaimStatusDeliveries(ctx, "dead-node", w.clk.Now(), 40*time.Second, 100)
		must(t, err)
		if len(held) != 2 {
			t.Fatalf("the dead node claimed %d deliveries, want 2", len(held))
		}
		w.update(inc, klaxon.IncidentResolved, "All clear.")

		second := w.mailer(nil) // the restart
		w.tick(second)
		w.expectEmails(&seen) // leased to the dead node, and the resolution waits behind them
		w.clk.add(41 * time.Second)
		w.tick(second)
		w.expectEmails(&seen,
			"carol@example.org: [Acme Status] Checkout errors: Monitoring",
			"dave@example.org: [Acme Status] Checkout errors: Monitoring")
		w.tick(second)
		w.expectEmails(&seen,
			"carol@example.org: [Acme Status] Checkout errors: Resolved",
			"dave@example.org: [Acme Status] Checkout errors: Resolved")

		// The dead node's late word changes nothing.
		if err := w.s.FinishStatusDelivery(ctx, held[0].ID, "dead-node", klaxon.StatusDeliveryResult{RetryAt: w.clk.Now()}); err == nil {
			t.Errorf("a finish under a lost lease was accepted")
		}
		w.clk.add(time.Hour)
		w.tick(second)
		w.tick(w.mailer(nil))
		w.tick(first)
		w.expectEmails(&seen)
	})
}

// A webhook subscriber gets a signed POST; one that fails is retried with
// backoff (or after its Retry-After) until it succeeds, one that answers
// 410 Gone is given up at once, and one that keeps failing is given up
// after MaxAttempts.
func TestStatusMailerWebhookRetries(t *testing.T) {
	eachStatusStore(t, func(t *testing.T, w *statusWorld) {
		flaky := w.hook("/flaky")
		slow := w.hook("/slow")
		w.hook("/gone")
		w.hook("/broken")
		w.hooks.answer = func(path string, n int) (int, string) {
			switch {
			case path == "/flaky" && n <= 2:
				return http.StatusServiceUnavailable, ""
			case path == "/slow" && n == 1:
				return http.StatusTooManyRequests, "120"
			case path == "/gone":
				return http.StatusGone, ""
			case path == "/broken":
				return http.StatusInternalServerError, ""
			}
			return http.StatusNoContent, ""
		}
		m := w.mailer(func(c *engine.StatusMailerConfig) { c.MaxAttempts = 3 })
		inc := w.incident("Checkout errors", map[int64]klaxon.ComponentState{w.api.ID: klaxon.ComponentMajorOutage})
		w.tick(m)
		w.hooks.expect(t, "/broken", "/flaky", "/gone", "/slow")
		w.tick(m)
		w.hooks.expect(t) // nothing is due yet

		w.clk.add(7 * time.Second) // past Backoff(1), at most 6 s
		w.tick(m)
		w.hooks.expect(t, "/broken", "/flaky")
		w.clk.add(19 * time.Second) // past Backoff(2), at most 18 s
		w.tick(m)
		w.hooks.expect(t, "/broken", "/flaky") // /flaky succeeds; /broken's third and last try
		w.clk.add(60 * time.Second)
		w.tick(m)
		w.hooks.expect(t) // /slow asked for 120 s
		w.clk.add(61 * time.Second)
		w.tick(m)
		w.hooks.expect(t, "/slow")
		w.clk.add(time.Hour)
		w.tick(m)
		w.hooks.expect(t)

		// Every try of a delivery was the same delivery, signed with the
		// subscriber's secret, carrying the page's document.
		for _, path := range []string{"/flaky", "/slow"} {
			reqs := w.hooks.requests(path)
			ids := map[string]bool{}
			for _, r := range reqs {
				ids[r.header.Get("X-Klaxon-Delivery")] = true
				if r.header.Get("Idempotency-Key") != r.header.Get("X-Klaxon-Delivery") || r.header.Get("X-Klaxon-Event") != webhook.EventStatusUpdate {
					t.Errorf("%s: headers %v", path, r.header)
				}
			}
			if len(ids) != 1 || !strings.HasPrefix(reqs[0].header.Get("X-Klaxon-Delivery"), "status-") {
				t.Errorf("%s: delivery ids %v, want one status-<id>", path, ids)
			}
			var body struct {
				Meta     struct{ Unsubscribe string }
				Page     struct{ Name, URL string }
				Incident struct{ ID int64 }
			}
			must(t, json.Unmarshal(reqs[len(reqs)-1].body, &body))
			sub := flaky
			if path == "/slow" {
				sub = slow
			}
			if body.Incident.ID != inc.ID || body.Page.Name != "Acme Status" || body.Page.URL != pageURL ||
				body.Meta.Unsubscribe != fmt.Sprintf("%s/subscriptions/unsubscribe/u%d", pageURL, sub.ID) {
				t.Errorf("%s: body %s", path, reqs[len(reqs)-1].body)
			}
		}
		if n := len(w.hooks.requests("/broken")); n != 3 {
			t.Errorf("/broken was tried %d times, want MaxAttempts (3)", n)
		}
	})
}

// A delivery that fails and waits for its retry holds back its
// subscriber's later updates, and nobody else's; they follow, in order,
// once it is through. The worker sleeps until the retry meanwhile: the
// held-back deliveries, due as they are, do not wake it.
func TestStatusMailerRetryKeepsOrder(t *testing.T) {
	eachStatusStore(t, func(t *testing.T, w *statusWorld) {
		w.hook("/flaky")
		w.hook("/ok")
		w.hooks.answer = func(path string, n int) (int, string) {
			if path == "/flaky" && n == 1 {
				return http.StatusServiceUnavailable, ""
			}
			return http.StatusNoContent, ""
		}
		m := w.mailer(nil)
		inc := w.incident("Checkout errors", map[int64]klaxon.ComponentState{w.api.ID: klaxon.ComponentMajorOutage})
		want := []int64{inc.Updates[0].ID,
			w.update(inc, klaxon.IncidentIdentified, "A bad deploy.").ID,
			w.update(inc, klaxon.IncidentResolved, "Rolled back.").ID}
		w.tick(m)
		w.hooks.expect(t, "/flaky", "/ok") // /flaky fails
		w.tick(m)
		w.hooks.expect(t, "/ok")
		w.tick(m)
		w.hooks.expect(t, "/ok")
		w.tick(m)
		w.hooks.expect(t) // /flaky's retry is not due, and its later updates wait for it

		// Running, the worker claims once and sleeps until the retry.
		counted := &countingStatusStore{StatusStore: w.s}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.mailerOn(counted, nil).Run(ctx)
		}()
		time.Sleep(300 * time.Millisecond)
		cancel()
		<-done
		if n := counted.claims.Load(); n > 3 {
			t.Errorf("the worker claimed %d times in 300 ms with nothing to send before the retry", n)
		}
		w.hooks.expect(t)

		w.clk.add(7 * time.Second) // past Backoff(1), at most 6 s
		for range 3 {
			w.tick(m)
			w.hooks.expect(t, "/flaky")
		}
		w.tick(m)
		w.hooks.expect(t)
		for path, want := range map[string][]int64{"/flaky": {want[0], want[0], want[1], want[2]}, "/ok": want} {
			var got []int64
			for _, r := range w.hooks.requests(path) {
				var body struct {
					Incident struct {
						UpdateID int64 `json:"update_id"`
					}
				}
				must(t, json.Unmarshal(r.body, &body))
				got = append(got, body.Incident.UpdateID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s was posted updates %v, want %v", path, got, want)
			}
		}
	})
}

// countingStatusStore counts the claims a worker makes.
type countingStatusStore struct {
	engine.StatusStore
	claims atomic.Int64
}

func (c *countingStatusStore) ClaimStatusDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]klaxon.StatusDelivery, error) {
	c.claims.Add(1)
	return c.StatusStore.ClaimStatusDeliveries(ctx, owner, now, lease, limit)
}

// Without an email channel, email deliveries fail at once, saying why,
// and are not retried; webhooks still go.
func TestStatusMailerWithoutEmailChannel(t *testing.T) {
	eachStatusStore(t, func(t *testing.T, w *statusWorld) {
		w.subscribe("carol@example.org", true)
		w.hook("/ok")
		m := w.mailer(func(c *engine.StatusMailerConfig) { c.Email = nil })
		w.incident("Checkout errors", map[int64]klaxon.ComponentState{w.api.ID: klaxon.ComponentMajorOutage})
		w.tick(m)
		w.hooks.expect(t, "/ok")
		w.clk.add(time.Hour)
		w.tick(m)
		seen := 0
		w.expectEmails(&seen)
		if n := strings.Count(w.logs.String(), "no email channel is configured"); n != 1 {
			t.Errorf("the log says %d times that no email channel is configured, want once:\n%s", n, w.logs)
		}
		// Deliveries made before the channel was configured are not sent
		// once it is: they failed.
		w.tick(w.mailer(nil))
		w.expectEmails(&seen)
	})
}

// subscriberHooks is a webhook subscriber's endpoint written as the docs say:
// check the signature over the raw body with the subscriber's secret, then
// answer as answer says.
type subscriberHooks struct {
	url     string
	clk     *clock
	secrets sync.Map // path -> secret
	answer  func(path string, n int) (status int, retryAfter string)

	mu    sync.Mutex
	log   []subscriberPost
	taken int
	tries map[string]int
}

type subscriberPost struct {
	path   string
	header http.Header
	body   []byte
}

func newSubscriberHooks(t *testing.T, clk *clock) *subscriberHooks {
	h := &subscriberHooks{clk: clk, tries: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		secret, _ := h.secrets.Load(r.URL.Path)
		key, _ := secret.([]byte)
		if err := webhook.Verify(key, r.Header.Get(webhook.SignatureHeader), body, clk.Now(), 0); err != nil {
			t.Errorf("receiver %s: %v", r.URL.Path, err)
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
		h.mu.Lock()
		h.tries[r.URL.Path]++
		n := h.tries[r.URL.Path]
		h.log = append(h.log, subscriberPost{r.URL.Path, r.Header.Clone(), body})
		answer := h.answer
		h.mu.Unlock()
		status, retryAfter := http.StatusNoContent, ""
		if answer != nil {
			status, retryAfter = answer(r.URL.Path, n)
		}
		if retryAfter != "" {
			rw.Header().Set("Retry-After", retryAfter)
		}
		rw.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// expect checks the paths posted to since the last expect, in any order.
func (h *subscriberHooks) expect(t *testing.T, want ...string) {
	t.Helper()
	h.mu.Lock()
	var got []string
	for _, r := range h.log[h.taken:] {
		got = append(got, r.path)
	}
	h.taken = len(h.log)
	h.mu.Unlock()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("webhooks posted to %v, want %v", got, want)
	}
}

func (h *subscriberHooks) requests(path string) []subscriberPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []subscriberPost
	for _, r := range h.log {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// syncBuffer is a log sink that the mailer's goroutines can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
