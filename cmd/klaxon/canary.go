package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/store"
)

// Klaxon's own objects, found again after a restart by their reserved
// names. They are ordinary objects: admins give the "klaxon" service an
// escalation policy to be paged about Klaxon itself.
const (
	selfServiceName   = "klaxon"
	canaryServiceName = "klaxon-canary"
	canaryPolicyName  = "Klaxon canary"
	canaryUserEmail   = "canary@klaxon.invalid"
	selfActor         = "klaxon"
)

// selfAlerts raises and resolves alerts on the built-in "klaxon" service,
// through the store's durable ingest path.
type selfAlerts struct{ st *store.Store }

var _ engine.SelfAlerter = selfAlerts{}

func (a selfAlerts) service(ctx context.Context) (int64, error) {
	svc, err := a.st.ServiceByName(ctx, selfServiceName)
	if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
		svc = klaxon.Service{Name: selfServiceName, Description: "Klaxon's own health: failing channels, a failing self-test. Give it an escalation policy to be paged about Klaxon itself."}
		err = a.st.CreateService(ctx, selfActor, &svc)
		if klaxon.ErrorCodeOf(err) == klaxon.ECONFLICT { // created meanwhile
			svc, err = a.st.ServiceByName(ctx, selfServiceName)
		}
	}
	return svc.ID, err
}

func (a selfAlerts) event(ctx context.Context, action klaxon.Action, dedupKey, component, summary string) error {
	id, err := a.service(ctx)
	if err != nil {
		return err
	}
	_, err = a.st.Ingest(ctx, []klaxon.Event{{ServiceID: id, Action: action, DedupKey: dedupKey, Summary: summary,
		Severity: klaxon.SeverityCritical, Source: "klaxon", Component: component, Timestamp: time.Now().UTC()}})
	return err
}

func (a selfAlerts) Raise(ctx context.Context, dedupKey, component, summary string) error {
	return a.event(ctx, klaxon.ActionTrigger, dedupKey, component, summary)
}

func (a selfAlerts) Resolve(ctx context.Context, dedupKey string) error {
	return a.event(ctx, klaxon.ActionResolve, dedupKey, "", "resolved")
}

// canaryKey makes sure the canary's person, policy and service exist and
// returns a fresh integration key for the service (rotated at every start:
// only its hash is stored).
func canaryKey(ctx context.Context, st *store.Store) (string, error) {
	svc, err := st.ServiceByName(ctx, canaryServiceName)
	if err == nil {
		ins, err := st.ListIntegrations(ctx, svc.ID)
		if err != nil {
			return "", err
		}
		for _, in := range ins {
			if in.Kind == klaxon.IntegrationAPI && in.Name == canaryIntegrationName() {
				_, key, err := st.RotateIntegrationKey(ctx, selfActor, svc.ID, in.ID)
				return key, err
			}
		}
		in := klaxon.Integration{ServiceID: svc.ID, Kind: klaxon.IntegrationAPI, Name: canaryIntegrationName()}
		return st.CreateIntegration(ctx, selfActor, &in)
	}
	if klaxon.ErrorCodeOf(err) != klaxon.ENOTFOUND {
		return "", err
	}
	// First start with the canary (or a start that was cut short while
	// creating it): find or create each part.
	user, err := st.UserByEmail(ctx, canaryUserEmail)
	if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
		user = klaxon.User{Name: "Klaxon canary", Email: canaryUserEmail, TimeZone: "UTC", Role: klaxon.RoleViewer}
		err = st.CreateUser(ctx, selfActor, &user)
	}
	if err != nil {
		return "", fmt.Errorf("canary person: %w", err)
	}
	if err := canaryRule(ctx, st, user.ID); err != nil {
		return "", err
	}
	policy, err := st.EscalationPolicyByName(ctx, canaryPolicyName)
	if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
		policy = klaxon.EscalationPolicy{Name: canaryPolicyName, Description: "Klaxon's self-test: pages the canary person, who is not a person.",
			Steps: []klaxon.EscalationStep{{DelayMinutes: 60, Targets: []klaxon.Target{{Type: klaxon.TargetUser, ID: user.ID}}}}}
		err = st.CreateEscalationPolicy(ctx, selfActor, &policy)
	}
	if err != nil {
		return "", fmt.Errorf("canary policy: %w", err)
	}
	svc = klaxon.Service{Name: canaryServiceName, EscalationPolicyID: policy.ID,
		Description: "Klaxon's self-test: a synthetic event every few minutes must become a notification."}
	if err := st.CreateService(ctx, selfActor, &svc); err != nil {
		return "", fmt.Errorf("canary service: %w", err)
	}
	in := klaxon.Integration{ServiceID: svc.ID, Kind: klaxon.IntegrationAPI, Name: canaryIntegrationName()}
	return st.CreateIntegration(ctx, selfActor, &in)
}

// canaryIntegrationName is this host's canary integration: each node
// sharing a database has its own key, so that one node rotating its key at
// start does not lock the others' canaries out.
func canaryIntegrationName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "klaxon"
	}
	return klaxon.Truncate("canary "+host, 200)
}

// canarySent reports whether a notification about the canary alert has
// gone out, whichever node's engine sent it.
func canarySent(st *store.Store) func(context.Context, int64) (bool, error) {
	return func(ctx context.Context, alertID int64) (bool, error) {
		ns, err := st.ListNotifications(ctx, alertID, 0, klaxon.Page{Limit: 10})
		for _, n := range ns {
			if n.Status == klaxon.NotificationSent || n.Status == klaxon.NotificationDelivered {
				return true, err
			}
		}
		return false, err
	}
}

// canaryRule gives the canary person its one contact method and rule.
func canaryRule(ctx context.Context, st *store.Store, userID int64) error {
	cms, err := st.ListContactMethods(ctx, userID)
	if err != nil {
		return err
	}
	var cm klaxon.ContactMethod
	for _, c := range cms {
		if c.Type == klaxon.ContactWebhook && c.Address == engine.CanaryAddress {
			cm = c
		}
	}
	if cm.ID == 0 {
		cm = klaxon.ContactMethod{UserID: userID, Type: klaxon.ContactWebhook, Address: engine.CanaryAddress, Name: "canary"}
		if err := st.CreateContactMethod(ctx, selfActor, &cm); err != nil {
			return fmt.Errorf("canary contact method: %w", err)
		}
	}
	rules, err := st.ListNotificationRules(ctx, userID)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.ContactMethodID == cm.ID && r.Urgency == klaxon.UrgencyHigh {
			return nil
		}
	}
	r := klaxon.NotificationRule{UserID: userID, ContactMethodID: cm.ID, DelayMinutes: 0, Urgency: klaxon.UrgencyHigh}
	if err := st.CreateNotificationRule(ctx, selfActor, &r); err != nil {
		return fmt.Errorf("canary notification rule: %w", err)
	}
	return nil
}

// canaryInject sends the canary's events through Klaxon's own HTTP API, the
// way any monitoring tool would. The canary's objects are made (and its key
// rotated) on the first check, not at start, so a server that stops before
// its first check leaves nothing behind.
func canaryInject(st *store.Store, baseURL string) func(context.Context, klaxon.Action, string) (int64, error) {
	client := &apiClient{base: baseURL, http: &http.Client{Timeout: 10 * time.Second}}
	return func(ctx context.Context, action klaxon.Action, dedupKey string) (int64, error) {
		if client.token == "" {
			key, err := canaryKey(ctx, st)
			if err != nil {
				return 0, fmt.Errorf("set up the canary: %w", err)
			}
			client.token = key
		}
		var ans struct {
			AlertID string `json:"alert_id"`
		}
		ev := map[string]any{"action": action, "dedup_key": dedupKey, "summary": "Klaxon self-test", "severity": "critical", "source": "klaxon"}
		if err := client.do(ctx, "POST", "/api/v1/events", ev, &ans); err != nil {
			return 0, err
		}
		return strconv.ParseInt(ans.AlertID, 10, 64)
	}
}

// canaryAlarm raises the alarm when the self-test fails by a way that does
// not depend on the notification jobs: an email straight to every owner
// and admin through the email channel (when one is configured), and an
// alert on the "klaxon" service for when the jobs recover.
func canaryAlarm(st *store.Store, mail notify.Notifier, self selfAlerts) func(context.Context, error) {
	return func(ctx context.Context, failure error) {
		if failure == nil {
			_ = self.Resolve(ctx, "klaxon/canary")
			return
		}
		_ = self.Raise(ctx, "klaxon/canary", "canary", "Klaxon's self-test failed: "+failure.Error())
		if mail == nil {
			return
		}
		users, err := st.ListUsers(ctx, klaxon.Page{Limit: 1000})
		if err != nil {
			return
		}
		for _, u := range users {
			if u.Role != klaxon.RoleOwner && u.Role != klaxon.RoleAdmin {
				continue
			}
			m := notify.Message{IdempotencyKey: fmt.Sprintf("canary-alarm-%d-u%d", time.Now().Unix(), u.ID), Kind: notify.KindAlert,
				To: notify.Recipient{UserID: u.ID, Name: u.Name, Type: klaxon.ContactEmail, Address: u.Email}, Service: selfServiceName,
				Alerts: []notify.Alert{{Summary: "Klaxon's self-test failed: " + failure.Error(), Severity: klaxon.SeverityCritical,
					Status: klaxon.AlertTriggered, Source: "klaxon", CreatedAt: time.Now().UTC()}}}
			sendCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, _ = mail.Notify(sendCtx, m)
			cancel()
		}
	}
}
