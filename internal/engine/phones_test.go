package engine_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/fake"
	"github.com/klaxonhq/klaxon/internal/notify/twilio"
)

// phone gives Ada an SMS number, verified the way a person verifies one
// (the code goes out through sms, and is typed back), and a rule that texts
// her at once for high urgency. It returns an engine with sms as its SMS
// channel, beside the world's email and webhook channels.
func (w *world) phone(sms notify.Notifier, code func() string) (*engine.Engine, klaxon.ContactMethod) {
	w.t.Helper()
	ctx := context.Background()
	eng := engine.New(w.s, engine.Config{Clock: w.clk, Logger: slog.New(slog.DiscardHandler), BundleWindow: -1,
		Channels: map[klaxon.ContactType]notify.Notifier{klaxon.ContactEmail: w.email, klaxon.ContactWebhook: w.hook, klaxon.ContactSMS: sms}})
	cm := klaxon.ContactMethod{UserID: w.ada.ID, Type: klaxon.ContactSMS, Address: "+14155550100"}
	must(w.t, w.s.CreateContactMethod(ctx, "test", &cm))
	_, err := w.s.SendVerification(ctx, "test", w.ada.ID, cm.ID, "493817")
	must(w.t, err)
	must(w.t, eng.Tick(ctx))
	got := code()
	if got != "493817" {
		w.t.Fatalf("the verification sent %q, want the code", got)
	}
	_, err = w.s.VerifyContactMethod(ctx, "test", w.ada.ID, cm.ID, got)
	must(w.t, err)
	must(w.t, w.s.CreateNotificationRule(ctx, "test", &klaxon.NotificationRule{UserID: w.ada.ID, ContactMethodID: cm.ID,
		Urgency: klaxon.UrgencyHigh}))
	return eng, cm
}

func TestSMSPagesCarryThePersonsAlertNumbers(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		sms := &channel{}
		eng, _ := w.phone(sms, func() string {
			ms := sms.take()
			if len(ms) != 1 || ms[0].Kind != notify.KindVerification || len(ms[0].Alerts) != 0 {
				t.Fatalf("verification messages %+v", ms)
			}
			return ms[0].Code
		})
		tick := func() {
			t.Helper()
			must(t, eng.Tick(context.Background()))
		}
		numbers := func() map[int64]int {
			t.Helper()
			out := map[int64]int{}
			for _, m := range sms.take() {
				if len(m.Alerts) != 1 || m.To.Address != "+14155550100" {
					t.Fatalf("sms %+v", m)
				}
				a := m.Alerts[0]
				out[a.ID] = a.Number
				if text := notify.ShortText(m, true); !strings.Contains(text, "#"+strconv.Itoa(a.Number)+" ") ||
					!strings.Contains(text, "Reply ACK "+strconv.Itoa(a.Number)+" to acknowledge") {
					t.Errorf("sms text %q does not name number %d", text, a.Number)
				}
			}
			return out
		}
		a1 := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		a2 := w.event(klaxon.ActionTrigger, "db-2", klaxon.SeverityCritical)
		tick()
		if got := numbers(); got[a1] != 1 || got[a2] != 2 || len(got) != 2 {
			t.Fatalf("numbers %v, want 1 and 2 (alert ids %d, %d)", got, a1, a2)
		}
		// Resolved, a1 frees its number for the next alert.
		w.event(klaxon.ActionResolve, "db-1", klaxon.SeverityCritical)
		w.clk.add(time.Second)
		a3 := w.event(klaxon.ActionTrigger, "db-3", klaxon.SeverityCritical)
		tick()
		if got := numbers(); got[a3] != 1 || len(got) != 1 {
			t.Fatalf("numbers %v, want a3 (%d) numbered 1", got, a3)
		}
		// Bob's first page (step 2) numbers his alerts from 1, whatever Ada's.
		w.clk.add(5 * time.Minute)
		tick()
		var bob []int
		for _, m := range w.email.take() {
			for _, a := range m.Alerts {
				if m.To.Address == "bob@example.com" {
					bob = append(bob, a.Number)
				}
			}
		}
		slices.Sort(bob)
		if !slices.Equal(bob, []int{1, 2}) {
			t.Errorf("bob's pages number his two alerts %v, want 1 and 2", bob)
		}
	})
}

// TestSMSThroughTwilio sends the verification and a page through the real
// Twilio client to a fake Twilio account.
func TestSMSThroughTwilio(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		tw := fake.NewTwilio(t)
		cfg := tw.Config()
		cfg.StatusCallbackURL = "https://klaxon.example.com/providers/twilio/status"
		client, err := twilio.New(cfg)
		must(t, err)
		eng, _ := w.phone(client.SMS(), func() string {
			ms := tw.Messages()
			if len(ms) != 1 || ms[0].Form.Get("To") != "+14155550100" {
				t.Fatalf("verification texts %+v", ms)
			}
			code, ok := strings.CutPrefix(ms[0].Form.Get("Body"), "Your Klaxon verification code is ")
			if !ok {
				t.Fatalf("verification text %q", ms[0].Form.Get("Body"))
			}
			return code
		})
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		must(t, eng.Tick(context.Background()))
		ms := tw.Messages()
		if len(ms) != 2 {
			t.Fatalf("%d texts, want the code and the page", len(ms))
		}
		body := ms[1].Form.Get("Body")
		if !strings.HasPrefix(body, "Klaxon #1 CRITICAL: disk full on db-1 [payments]") || !strings.Contains(body, "Reply ACK 1 to acknowledge, RES 1 to resolve") ||
			ms[1].Form.Get("StatusCallback") != cfg.StatusCallbackURL {
			t.Fatalf("page text %q, form %v", body, ms[1].Form)
		}
		var sms *klaxon.Notification
		for _, n := range w.notifications(id) {
			if n.ContactType == klaxon.ContactSMS {
				sms = &n
			}
		}
		if sms == nil || sms.Status != klaxon.NotificationSent || sms.ProviderID != ms[1].SID {
			t.Fatalf("sms notification %+v, want sent with the message SID %s", sms, ms[1].SID)
		}
	})
}
