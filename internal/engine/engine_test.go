package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The engine's tests run it against a real store (an SQLite file, and a
// PostgreSQL schema when one is reachable) with a clock the test moves, and
// channels that record what they were asked to send.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// channel records messages; fail, when set, decides each send's error.
type channel struct {
	mu   sync.Mutex
	sent []notify.Message
	fail func(n int) error // n counts calls from 1
	n    int
}

func (c *channel) Notify(_ context.Context, m notify.Message) (notify.Receipt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.fail != nil {
		if err := c.fail(c.n); err != nil {
			return notify.Receipt{}, err
		}
	}
	c.sent = append(c.sent, m)
	return notify.Receipt{ProviderID: fmt.Sprintf("msg-%p-%d", c, c.n)}, nil
}

// take returns the messages sent since the last take.
func (c *channel) take() []notify.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sent
	c.sent = nil
	return out
}

// world is one store with a small organisation: Ada is paged by the first
// step (email at once, then a webhook two minutes later for high urgency;
// email at once for low), Bob is on call on the schedule of step two.
type world struct {
	t                         *testing.T
	s                         *store.Store
	clk                       *clock
	email, hook               *channel
	eng                       *engine.Engine
	svc                       klaxon.Service
	ada, bob                  klaxon.User
	adaMail, adaHook, bobMail klaxon.ContactMethod
}

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func eachStore(t *testing.T, test func(t *testing.T, w *world)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: t0}
			var s *store.Store
			if name == "sqlite" {
				s = storetest.OpenSQLite(t, store.Options{Clock: clk})
			} else {
				s = storetest.OpenPostgres(t, store.Options{Clock: clk})
			}
			test(t, newWorld(t, s, clk, engine.Config{BundleWindow: -1}))
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newWorld(t *testing.T, s *store.Store, clk *clock, cfg engine.Config) *world {
	ctx := context.Background()
	w := &world{t: t, s: s, clk: clk, email: &channel{}, hook: &channel{}}
	w.ada = klaxon.User{Name: "Ada", Email: "ada@example.com", TimeZone: "UTC", Role: klaxon.RoleResponder}
	w.bob = klaxon.User{Name: "Bob", Email: "bob@example.com", TimeZone: "UTC", Role: klaxon.RoleResponder}
	must(t, s.CreateUser(ctx, "test", &w.ada))
	must(t, s.CreateUser(ctx, "test", &w.bob))
	w.adaMail = klaxon.ContactMethod{UserID: w.ada.ID, Type: klaxon.ContactEmail, Address: "ada@example.com"}
	w.adaHook = klaxon.ContactMethod{UserID: w.ada.ID, Type: klaxon.ContactWebhook, Address: "https://hooks.example.com/ada"}
	w.bobMail = klaxon.ContactMethod{UserID: w.bob.ID, Type: klaxon.ContactEmail, Address: "bob@example.com"}
	for _, c := range []*klaxon.ContactMethod{&w.adaMail, &w.adaHook, &w.bobMail} {
		must(t, s.CreateContactMethod(ctx, "test", c))
	}
	for _, r := range []klaxon.NotificationRule{
		{UserID: w.ada.ID, ContactMethodID: w.adaMail.ID, DelayMinutes: 0, Urgency: klaxon.UrgencyHigh},
		{UserID: w.ada.ID, ContactMethodID: w.adaHook.ID, DelayMinutes: 2, Urgency: klaxon.UrgencyHigh},
		{UserID: w.ada.ID, ContactMethodID: w.adaMail.ID, DelayMinutes: 0, Urgency: klaxon.UrgencyLow},
		{UserID: w.bob.ID, ContactMethodID: w.bobMail.ID, DelayMinutes: 0, Urgency: klaxon.UrgencyHigh},
	} {
		must(t, s.CreateNotificationRule(ctx, "test", &r))
	}
	sc := klaxon.Schedule{Name: "Primary", TimeZone: "UTC", Layers: []klaxon.ScheduleLayer{{
		Name: "Bob", Start: "2026-01-01T00:00", RotationUnit: "day", RotationEvery: 1, UserIDs: []int64{w.bob.ID}}}}
	must(t, s.CreateSchedule(ctx, "test", &sc))
	p := klaxon.EscalationPolicy{Name: "Payments", Repeat: 0, Steps: []klaxon.EscalationStep{
		{DelayMinutes: 5, Targets: []klaxon.Target{{Type: klaxon.TargetUser, ID: w.ada.ID}}},
		{DelayMinutes: 10, Targets: []klaxon.Target{{Type: klaxon.TargetSchedule, ID: sc.ID}}},
	}}
	must(t, s.CreateEscalationPolicy(ctx, "test", &p))
	w.svc = klaxon.Service{Name: "payments", EscalationPolicyID: p.ID, AckTimeoutMinutes: 10}
	must(t, s.CreateService(ctx, "test", &w.svc))
	cfg.Clock = clk
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Channels = map[klaxon.ContactType]notify.Notifier{klaxon.ContactEmail: w.email, klaxon.ContactWebhook: w.hook}
	cfg.Links = notify.NewLinker([]byte("test key"), "https://klaxon.example.com")
	w.eng = engine.New(s, cfg)
	return w
}

// event injects one event and returns its alert.
func (w *world) event(action klaxon.Action, key string, sev klaxon.Severity) int64 {
	w.t.Helper()
	res, err := w.s.Ingest(context.Background(), []klaxon.Event{{ServiceID: w.svc.ID, IntegrationID: 1, Action: action,
		DedupKey: key, Summary: "disk full on " + key, Severity: sev, Timestamp: w.clk.Now()}})
	must(w.t, err)
	return res[0].AlertID
}

// at moves the clock to t0+d and lets the engine do what is due.
func (w *world) at(d time.Duration) {
	w.t.Helper()
	w.clk.add(t0.Add(d).Sub(w.clk.Now()))
	must(w.t, w.eng.Tick(context.Background()))
}

// recipients lists the addresses of messages, in order.
func recipients(ms []notify.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.To.Address)
	}
	return out
}

func (w *world) expect(ch *channel, want ...string) []notify.Message {
	w.t.Helper()
	ms := ch.take()
	if got := recipients(ms); !slices.Equal(got, want) {
		w.t.Fatalf("at +%s sent to %v, want %v", w.clk.Now().Sub(t0), got, want)
	}
	return ms
}

func (w *world) notifications(alertID int64) []klaxon.Notification {
	w.t.Helper()
	ns, err := w.s.ListNotifications(context.Background(), alertID, 0, klaxon.Page{})
	must(w.t, err)
	slices.Reverse(ns) // oldest first
	return ns
}

func TestEscalationWalksThePolicyUntilAcknowledged(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		ms := w.expect(w.email, "ada@example.com")
		if m := ms[0]; len(m.Alerts) != 1 || m.Alerts[0].ID != id || m.Service != "payments" ||
			m.Alerts[0].AcknowledgeURL == "" || m.IdempotencyKey == "" {
			t.Fatalf("message %+v", m)
		}
		w.at(time.Minute)
		w.expect(w.hook)
		w.at(2 * time.Minute) // Ada's second rule
		w.expect(w.hook, "https://hooks.example.com/ada")
		w.at(5 * time.Minute) // step 2: whoever is on call on the schedule
		w.expect(w.email, "bob@example.com")
		if _, err := w.s.AcknowledgeAlert(context.Background(), "user:bob", id); err != nil {
			t.Fatal(err)
		}
		w.at(6 * time.Minute)
		w.at(9 * time.Minute)
		w.expect(w.email)
		w.expect(w.hook)
		ns := w.notifications(id)
		if len(ns) != 3 {
			t.Fatalf("notifications %+v", ns)
		}
		for _, n := range ns {
			if n.Status != klaxon.NotificationSent || n.ProviderID == "" || n.Attempts != 1 || n.SentAt == nil {
				t.Errorf("notification %+v", n)
			}
		}
		log, err := w.s.AlertLog(context.Background(), id)
		must(t, err)
		var paged []string
		for _, e := range log {
			if e.Kind == "paged" {
				paged = append(paged, e.Message)
			}
		}
		if want := []string{"step 1 (round 1): paged Ada", "step 2 (round 1): paged Bob"}; !slices.Equal(paged, want) {
			t.Errorf("paged log %q, want %q", paged, want)
		}
	})
}

func TestAcknowledgementTimeoutPagesAgain(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		w.expect(w.email, "ada@example.com")
		w.event(klaxon.ActionAcknowledge, "db-1", klaxon.SeverityCritical) // by the monitoring tool
		w.at(time.Minute)
		w.at(2 * time.Minute) // Ada's webhook rule falls due: the alert is acknowledged
		w.expect(w.hook)
		w.at(9 * time.Minute)
		w.expect(w.email)
		// Ten minutes after the acknowledgement (at +0) the alert triggers
		// again, and the step that was current (Ada's) fires again.
		w.at(10*time.Minute + time.Second)
		w.expect(w.email, "ada@example.com")
		a, err := w.s.Alert(context.Background(), id)
		must(t, err)
		if a.Status != klaxon.AlertTriggered {
			t.Fatalf("after the timeout the alert is %s", a.Status)
		}
		ns := w.notifications(id)
		if ns[1].Status != klaxon.NotificationSuppressed || ns[1].Reason != "the alert was acknowledged" {
			t.Errorf("webhook job while acknowledged: %+v", ns[1])
		}
		if len(ns) != 4 || ns[2].Firing != "e1.r0.s0" || ns[2].Status != klaxon.NotificationSent {
			t.Errorf("notifications after the timeout: %+v", ns)
		}
	})
}

func TestResolveStopsEverythingAndSuppressesPendingJobs(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityError)
		w.at(0)
		w.expect(w.email, "ada@example.com")
		w.event(klaxon.ActionResolve, "db-1", klaxon.SeverityError)
		w.at(30 * time.Second)
		w.at(20 * time.Minute)
		w.expect(w.email)
		w.expect(w.hook)
		ns := w.notifications(id)
		if len(ns) != 2 || ns[1].Status != klaxon.NotificationSuppressed || ns[1].Reason != "alert resolved" {
			t.Fatalf("notifications %+v", ns)
		}
	})
}

func TestLowUrgencyNotifiesButDoesNotEscalate(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		w.event(klaxon.ActionTrigger, "disk-80", klaxon.SeverityWarning)
		w.at(0)
		w.expect(w.email, "ada@example.com") // her low-urgency rule only
		w.at(30 * time.Minute)
		w.expect(w.email)
		w.expect(w.hook)
	})
}

func TestEscalateNowPagesTheNextStepAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		w.expect(w.email, "ada@example.com")
		w.clk.add(30 * time.Second)
		if _, err := w.s.EscalateAlert(context.Background(), "user:ada", id, "test"); err != nil {
			t.Fatal(err)
		}
		w.at(30 * time.Second)
		w.expect(w.email, "bob@example.com")
	})
}

func TestNoPolicyPagesNobody(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		svc := klaxon.Service{Name: "unowned"}
		must(t, w.s.CreateService(context.Background(), "test", &svc))
		res, err := w.s.Ingest(context.Background(), []klaxon.Event{{ServiceID: svc.ID, IntegrationID: 1,
			Action: klaxon.ActionTrigger, DedupKey: "x", Summary: "x", Severity: klaxon.SeverityCritical}})
		must(t, err)
		w.at(0)
		w.expect(w.email)
		if next, ok, err := w.s.NextWork(context.Background()); err != nil || ok {
			t.Fatalf("an alert on a service without a policy left work for the engine: %v %v %v", next, ok, err)
		}
		if ns := w.notifications(res[0].AlertID); len(ns) != 0 {
			t.Fatalf("notifications %+v", ns)
		}
	})
}

func TestRetriesThenFallsOverToTheNextMethod(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		w.email.fail = func(n int) error {
			if n <= 2 {
				return errors.New("connection refused")
			}
			return nil
		}
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		w.expect(w.email)
		w.at(7 * time.Second) // first retry: 5 s ± 20%
		w.expect(w.email)
		w.at(30 * time.Second) // second retry: 15 s ± 20% after the first
		ms := w.expect(w.email, "ada@example.com")
		ns := w.notifications(id)
		if ns[0].Status != klaxon.NotificationSent || ns[0].Attempts != 3 || ms[0].IdempotencyKey != ns[0].IdempotencyKey {
			t.Fatalf("after two failures: %+v", ns[0])
		}

		// A permanent failure falls over to the next method at once.
		w.email.fail = func(int) error { return notify.Permanent(errors.New("550 no such mailbox")) }
		id2 := w.event(klaxon.ActionTrigger, "db-2", klaxon.SeverityCritical)
		w.at(time.Minute)
		w.at(time.Minute) // the failover job, created by the failure
		w.expect(w.hook, "https://hooks.example.com/ada")
		ns = w.notifications(id2)
		if ns[0].Status != klaxon.NotificationFailed || ns[0].LastError == "" {
			t.Fatalf("failed job %+v", ns[0])
		}
		var failover *klaxon.Notification
		for i := range ns {
			if ns[i].Reason == "" && ns[i].ContactMethodID == w.adaHook.ID && ns[i].Status == klaxon.NotificationSent {
				failover = &ns[i]
			}
		}
		if failover == nil {
			t.Fatalf("no failover to the webhook: %+v", ns)
		}
	})
}

func TestAnExpiredLeaseIsTakenOver(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		ctx := context.Background()
		// A node claims the escalation and the jobs, then dies.
		work, err := w.s.ClaimEscalations(ctx, "dead-node", w.clk.Now(), 30*time.Second, 10)
		if err != nil || len(work) != 1 {
			t.Fatalf("claim: %v %v", work, err)
		}
		w.at(0)
		w.expect(w.email)
		w.at(31 * time.Second)
		w.expect(w.email, "ada@example.com")
		due, lost, err := w.s.CompleteEscalations(ctx, "dead-node", []klaxon.EscalationOutcome{{AlertID: work[0].Alert.ID,
			Notifications: []klaxon.Notification{{IdempotencyKey: "late", AlertID: work[0].Alert.ID, DueAt: w.clk.Now()}}}},
			w.clk.Now(), time.Minute, 10)
		if err != nil || lost != 1 || len(due) != 0 {
			t.Fatalf("the dead node completing late: lost %d, due %v, %v; want its outcome skipped", lost, due, err)
		}
		for _, n := range w.notifications(work[0].Alert.ID) {
			if n.IdempotencyKey == "late" {
				t.Fatalf("the late outcome was applied: %+v", n)
			}
		}
	})
}

// TestADeadNodesLeasesAreTakenOverAtOnce: a node that claimed an
// escalation and then stopped recording itself (killed) is taken for dead;
// releasing its leases makes the escalation due and claimable at once, long
// before its 30 s lease would have run out, and the page goes out. A node
// never releases its own leases, nor a live node's.
func TestADeadNodesLeasesAreTakenOverAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		ctx := context.Background()
		must(t, w.s.Heartbeat(ctx, klaxon.Node{ID: "dead-node", Version: "test", Host: "h", PID: 1}))
		work, err := w.s.ClaimEscalations(ctx, "dead-node", w.clk.Now(), 30*time.Second, 10)
		if err != nil || len(work) != 1 {
			t.Fatalf("claim: %v %v", work, err)
		}
		w.at(0)
		w.expect(w.email)
		// Past deadAfter by the cluster's clock: the store's (SQLite) or
		// the database's (PostgreSQL).
		const deadAfter = 100 * time.Millisecond
		time.Sleep(2 * deadAfter)
		w.clk.add(time.Second)
		if n, err := w.s.ReleaseLeasesOfDeadNodes(ctx, "dead-node", w.clk.Now(), deadAfter); err != nil || n != 0 {
			t.Fatalf("a node released %d of its own leases (%v)", n, err)
		}
		must(t, w.s.Heartbeat(ctx, klaxon.Node{ID: "live-node", Version: "test", Host: "h", PID: 2}))
		if n, err := w.s.ReleaseLeasesOfDeadNodes(ctx, "live-node", w.clk.Now(), deadAfter); err != nil || n != 1 {
			t.Fatalf("released %d leases (%v), want the dead node's escalation", n, err)
		}
		w.at(2 * time.Second)
		w.expect(w.email, "ada@example.com")
	})
}

func TestBundlingSendsOneMessageForAStorm(t *testing.T) {
	for _, name := range []string{"sqlite"} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: t0}
			s := storetest.OpenSQLite(t, store.Options{Clock: clk})
			w := newWorld(t, s, clk, engine.Config{BundleWindow: time.Minute})
			var ids []int64
			for i := range 3 {
				ids = append(ids, w.event(klaxon.ActionTrigger, fmt.Sprintf("web-%d", i), klaxon.SeverityCritical))
			}
			w.at(0)
			ms := w.expect(w.email, "ada@example.com")
			if len(ms[0].Alerts) != 3 || notify.Title(ms[0]) != "3 new alerts on payments" {
				t.Fatalf("bundle %+v", ms[0])
			}
			// One more within the window waits for it, then goes alone.
			w.clk.add(10 * time.Second)
			w.event(klaxon.ActionTrigger, "web-9", klaxon.SeverityCritical)
			w.at(10 * time.Second)
			w.expect(w.email)
			w.at(61 * time.Second)
			w.expect(w.email, "ada@example.com")
			first := w.notifications(ids[0])[0]
			for _, id := range ids {
				n := w.notifications(id)[0]
				if n.Status != klaxon.NotificationSent || n.BundleID != first.ID {
					t.Errorf("alert %d notification %+v, want sent in bundle %d", id, n, first.ID)
				}
			}
		})
	}
}

func TestMaintenanceWindowRecordsButDoesNotSend(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		mw := klaxon.MaintenanceWindow{ServiceID: w.svc.ID, Start: t0.Add(-time.Minute), End: t0.Add(time.Hour), Description: "db upgrade"}
		must(t, w.s.CreateMaintenanceWindow(ctx, "test", &mw))
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		w.at(5 * time.Minute) // both of Ada's rules and step 2 fall due
		w.expect(w.email)
		w.expect(w.hook)
		ns := w.notifications(id)
		if len(ns) != 3 {
			t.Fatalf("the escalation did not record its pages: %+v", ns)
		}
		for _, n := range ns {
			if n.Status != klaxon.NotificationSuppressed || n.Reason != "the service is in a maintenance window" {
				t.Errorf("notification %+v", n)
			}
		}
		// Once the window ends, a new alert pages again.
		_, err := w.s.EndMaintenanceWindow(ctx, "test", w.svc.ID, mw.ID)
		must(t, err)
		w.event(klaxon.ActionTrigger, "db-2", klaxon.SeverityCritical)
		w.at(5 * time.Minute)
		w.expect(w.email, "ada@example.com")
	})
}

// A provider reporting a message undelivered (a delivery callback) pages
// the person on their next contact method at once, like a failed send.
func TestUndeliveredFallsOverToTheNextMethod(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		w.expect(w.email, "ada@example.com")
		sent := w.notifications(id)[0]
		if ok, err := w.s.RecordDelivery(ctx, sent.ProviderID, false, "mailbox full"); err != nil || !ok {
			t.Fatalf("record delivery: %v %v", ok, err)
		}
		w.at(10 * time.Second)
		w.expect(w.hook, "https://hooks.example.com/ada") // her webhook, without waiting for its 2-minute rule
		ns := w.notifications(id)
		if ns[0].Status != klaxon.NotificationFailed || ns[0].Reason != "mailbox full" {
			t.Errorf("undelivered notification %+v", ns[0])
		}
		// The webhook rule's own job (due at 2 minutes) still exists; the
		// failover is a separate job, sent at once.
		w.at(2 * time.Minute)
		w.expect(w.hook, "https://hooks.example.com/ada")
		// A second report of the same failure changes nothing more.
		if ok, _ := w.s.RecordDelivery(ctx, sent.ProviderID, false, "mailbox full"); ok {
			t.Error("a repeated callback acted again")
		}
	})
}
