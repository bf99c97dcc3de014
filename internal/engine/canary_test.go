package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The canary runs against a real store and engine: its event goes in
// through Ingest, the engine pages the canary person, and the canary's
// notifier receives the page.
func TestCanaryPassesThroughTheRealPathAndFailsWhenItBreaks(t *testing.T) {
	ctx := context.Background()
	s := storetest.OpenSQLite(t, store.Options{})
	var alarms []error
	var mu sync.Mutex
	canary := &engine.Canary{}
	user := klaxon.User{Name: "Klaxon canary", Email: "canary@klaxon.invalid", TimeZone: "UTC", Role: klaxon.RoleViewer}
	must(t, s.CreateUser(ctx, "test", &user))
	cm := klaxon.ContactMethod{UserID: user.ID, Type: klaxon.ContactWebhook, Address: engine.CanaryAddress}
	must(t, s.CreateContactMethod(ctx, "test", &cm))
	must(t, s.CreateNotificationRule(ctx, "test", &klaxon.NotificationRule{UserID: user.ID, ContactMethodID: cm.ID, Urgency: klaxon.UrgencyHigh}))
	p := klaxon.EscalationPolicy{Name: "canary", Steps: []klaxon.EscalationStep{{DelayMinutes: 60, Targets: []klaxon.Target{{Type: klaxon.TargetUser, ID: user.ID}}}}}
	must(t, s.CreateEscalationPolicy(ctx, "test", &p))
	svc := klaxon.Service{Name: "klaxon-canary", EscalationPolicyID: p.ID}
	must(t, s.CreateService(ctx, "test", &svc))

	broken := false
	canary = engine.NewCanary(engine.CanaryConfig{Interval: time.Hour, Timeout: 3 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Inject: func(ctx context.Context, action klaxon.Action, key string) (int64, error) {
			if broken && action == klaxon.ActionTrigger {
				// Accepted, but on a service whose pages go nowhere: the
				// outage the canary exists for.
				return 999_999, nil
			}
			res, err := s.Ingest(ctx, []klaxon.Event{{ServiceID: svc.ID, Action: action, DedupKey: key, Summary: "self-test", Severity: klaxon.SeverityCritical}})
			if err != nil {
				return 0, err
			}
			return res[0].AlertID, nil
		},
		Delivered: func(ctx context.Context, alertID int64) (bool, error) {
			ns, err := s.ListNotifications(ctx, alertID, 0, klaxon.Page{})
			return len(ns) > 0 && ns[0].Status == klaxon.NotificationSent, err
		},
		Alarm: func(_ context.Context, err error) { mu.Lock(); alarms = append(alarms, err); mu.Unlock() },
	})
	eng := engine.New(s, engine.Config{Logger: slog.New(slog.DiscardHandler), BundleWindow: -1,
		Channels: map[klaxon.ContactType]notify.Notifier{klaxon.ContactWebhook: canary.Notifier(nil)}})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(runCtx) }()
	defer func() { stop(); <-done }()

	if err := canary.Check(ctx); err != nil || canary.Healthy() != nil {
		t.Fatalf("healthy path: %v / %v", err, canary.Healthy())
	}
	broken = true
	if err := canary.Check(ctx); err == nil || canary.Healthy() == nil {
		t.Fatal("a page that never came passed the check")
	}
	broken = false
	if err := canary.Check(ctx); err != nil || canary.Healthy() != nil {
		t.Fatalf("after recovery: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(alarms) != 2 || alarms[0] == nil || alarms[1] != nil {
		t.Fatalf("alarms %v, want one failure then one recovery", alarms)
	}
	// Every canary alert the path handled was resolved afterwards.
	open, err := s.ListAlerts(ctx, klaxon.AlertFilter{ServiceID: svc.ID, Status: klaxon.AlertTriggered})
	if err != nil || len(open) != 0 {
		t.Fatalf("open canary alerts %+v %v", open, err)
	}
}

// selfAlerts records what the engine raised and resolved about itself.
type selfAlerts struct {
	mu               sync.Mutex
	raised, resolved []string
}

func (a *selfAlerts) Raise(_ context.Context, key, _, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.raised = append(a.raised, key)
	return nil
}

func (a *selfAlerts) Resolve(_ context.Context, key string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resolved = append(a.resolved, key)
	return nil
}

func TestAFailingChannelRaisesAnAlertAboutKlaxon(t *testing.T) {
	clk := &clock{t: t0}
	s := storetest.OpenSQLite(t, store.Options{Clock: clk})
	self := &selfAlerts{}
	w := newWorld(t, s, clk, engine.Config{BundleWindow: -1, SelfAlerts: self})
	failing := true
	w.email.fail = func(int) error {
		if failing {
			return errors.New("dial tcp: connection refused")
		}
		return nil
	}
	w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
	for at := time.Duration(0); at <= 6*time.Minute; at += 10 * time.Second {
		w.at(at) // retries after 5, 15, 45 s and 2¼ min (±20%), and Bob's page at 5 min
	}
	if len(self.raised) != 1 || self.raised[0] != "klaxon/channel/email" {
		t.Fatalf("raised %v after five failures in a row", self.raised)
	}
	failing = false
	w.event(klaxon.ActionTrigger, "db-2", klaxon.SeverityCritical)
	w.at(7 * time.Minute)
	if len(self.resolved) != 1 || self.resolved[0] != "klaxon/channel/email" {
		t.Fatalf("resolved %v after a success", self.resolved)
	}
}

// TestCanaryStoppedIsNotFailed: a check cut short because the canary's
// duty moved to another node (its context ended) neither fails /readyz nor
// raises the alarm, and a node whose canary stops forgets its last failure:
// the node that runs the canary now reports for the cluster.
func TestCanaryStoppedIsNotFailed(t *testing.T) {
	var mu sync.Mutex
	var alarms []error
	checking := make(chan struct{}, 1)
	canary := engine.NewCanary(engine.CanaryConfig{Interval: 10 * time.Millisecond, Timeout: time.Hour, Logger: slog.New(slog.DiscardHandler),
		Inject: func(context.Context, klaxon.Action, string) (int64, error) { return 1, nil },
		Delivered: func(context.Context, int64) (bool, error) {
			select {
			case checking <- struct{}{}:
			default:
			}
			return false, nil // the page never comes
		},
		Alarm: func(_ context.Context, err error) { mu.Lock(); alarms = append(alarms, err); mu.Unlock() },
	})

	ctx, stop := context.WithCancel(context.Background())
	go func() { <-checking; stop() }()
	if err := canary.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("check cut short: %v, want context.Canceled", err)
	}
	if err := canary.Healthy(); err != nil {
		t.Errorf("a check cut short made the canary unhealthy: %v", err)
	}

	// A real failure, then the duty moves away: Run forgets it.
	failing := engine.NewCanary(engine.CanaryConfig{Interval: 10 * time.Millisecond, Timeout: time.Hour, Logger: slog.New(slog.DiscardHandler),
		Inject: func(context.Context, klaxon.Action, string) (int64, error) { return 0, errors.New("refused") },
		Alarm:  func(_ context.Context, err error) { mu.Lock(); alarms = append(alarms, err); mu.Unlock() },
	})
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); failing.Run(runCtx) }()
	deadline := time.Now().Add(5 * time.Second)
	for failing.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the failing canary never reported its failure")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopRun()
	<-done
	if err := failing.Healthy(); err != nil {
		t.Errorf("after its Run ended the node still reports the canary failing: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(alarms) != 1 || alarms[0] == nil {
		t.Errorf("alarms = %v, want only the real failure's", alarms)
	}
}
