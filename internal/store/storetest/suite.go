package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// Run runs the conformance suite against stores made by open. Every store
// behaviour is tested here, once, for both dialects.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"ServicesCreateGetListPatch", testServices},
		{"ServiceNamesUnique", testServiceNamesUnique},
		{"IntegrationKeysHashedAndRotated", testIntegrations},
		{"IngestDedupFoldsIntoOneOpenAlert", testIngestDedup},
		{"IngestAcknowledgeResolveLifecycle", testIngestLifecycle},
		{"IngestAckResolveWithoutOpenAlert", testIngestNoOpenAlert},
		{"IngestKeepsEventDetails", testIngestDetails},
		{"IngestLargeRequestStoresEveryEvent", testIngestLarge},
		{"IngestConcurrentGroupCommit", testIngestConcurrent},
		{"IngestOverloadIsImmediate", testIngestOverload},
		{"IngestAfterCloseIsRefused", testIngestAfterClose},
		{"AlertsListFiltersAndPages", testListAlerts},
		{"AlertsAcknowledgeResolveByHand", testAlertChanges},
		{"AlertNotes", testAlertNotes},
		{"ChangeEventsStoredAndListed", testChangeEvents},
		{"BootstrapOnce", testBootstrap},
		{"APITokensHashedAndRevoked", testTokens},
		{"AuditRecordsMutations", testAudit},
		{"UsersCreateGetListPatch", testUsers},
		{"UserEmailsUniqueIgnoringCase", testUserEmailsUnique},
		{"UserReachCountsContactsAndRules", testUserReach},
		{"TeamsAndMembers", testTeams},
		{"ContactMethodsValidatedPerType", testContactMethods},
		{"NotificationRulesOnOwnContactMethods", testNotificationRules},
		{"PeopleMutationsAudited", testPeopleAudit},
		{"BootstrapUserHasTimeZone", testBootstrapUser},
		{"SchedulesCreateGetListPatch", testSchedules},
		{"ScheduleOverrides", testOverrides},
		{"ScheduleOverridesConcurrent", testOverridesConcurrent},
		{"EscalationPolicies", testEscalationPolicies},
		{"ServiceEscalationPolicy", testServicePolicies},
		{"CalendarFeeds", testFeeds},
		{"SchedulesOfUser", testSchedulesOfUser},
		{"OnCallMutationsAudited", testOnCallAudit},
		{"AlertNumbersPerPersonReused", testAlertNumbers},
		{"AlertNumbersUniqueAcrossNodes", testAlertNumbersConcurrent},
		{"PhoneVerification", testVerification},
		{"PhoneVerificationPerPersonLimit", testVerificationPerPersonLimit},
		{"MaintenanceWindows", testMaintenanceWindows},
		{"WebhookSubscriptions", testWebhookSubscriptions},
		{"WebhookDeliveries", testWebhookDeliveries},
		{"StatusPage", testStatusPage},
		{"StatusComponents", testStatusComponents},
		{"StatusIncidents", testStatusIncidents},
		{"StatusIncidentImport", testStatusIncidentImport},
		{"StatusPostmortem", testStatusPostmortem},
		{"StatusMaintenance", testStatusMaintenance},
		{"StatusMaintenanceConcurrent", testStatusMaintenanceConcurrent},
		{"StatusSubscribers", testStatusSubscribers},
		{"StatusDeliveryFilters", testStatusDeliveryFilters},
		{"StatusDeliveryLeases", testStatusDeliveryLeases},
		{"StatusFollow", testStatusFollow},
		{"StatusSnapshot", testStatusSnapshot},
		{"StatusImportOutOfOrder", testStatusImportOutOfOrder},
		{"StatusMaintenanceDuringOutage", testStatusMaintenanceDuringOutage},
		{"StatusPostmortemLater", testStatusPostmortemLater},
		{"StatusPendingCap", testStatusPendingCap},
		{"StatusConfirmCancelsConfirmations", testStatusConfirmCancelsConfirmations},
		{"ClusterNodes", testClusterNodes},
		{"SingletonRunsOnOneNode", testSingletonRuns},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

var ctx = context.Background()

func mustService(t *testing.T, s *store.Store, name string) klaxon.Service {
	t.Helper()
	svc := klaxon.Service{Name: name}
	if err := s.CreateService(ctx, "test", &svc); err != nil {
		t.Fatalf("create service %q: %v", name, err)
	}
	return svc
}

func mustIntegration(t *testing.T, s *store.Store, serviceID int64) (klaxon.Integration, string) {
	t.Helper()
	in := klaxon.Integration{ServiceID: serviceID, Kind: klaxon.IntegrationAPI}
	key, err := s.CreateIntegration(ctx, "test", &in)
	if err != nil {
		t.Fatalf("create integration: %v", err)
	}
	return in, key
}

func trigger(svc klaxon.Service, dedup string) klaxon.Event {
	return klaxon.Event{ServiceID: svc.ID, IntegrationID: 1, Action: klaxon.ActionTrigger, DedupKey: dedup,
		Summary: "disk full on " + dedup, Severity: klaxon.SeverityCritical, Source: "host-1"}
}

func act(svc klaxon.Service, a klaxon.Action, dedup string) klaxon.Event {
	return klaxon.Event{ServiceID: svc.ID, IntegrationID: 1, Action: a, DedupKey: dedup}
}

func mustIngest(t *testing.T, s *store.Store, evs ...klaxon.Event) []klaxon.IngestResult {
	t.Helper()
	res, err := s.Ingest(ctx, evs)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if len(res) != len(evs) {
		t.Fatalf("ingest returned %d results for %d events", len(res), len(evs))
	}
	return res
}

func wantCode(t *testing.T, err error, code klaxon.ErrorCode) {
	t.Helper()
	if got := klaxon.ErrorCodeOf(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testServices(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := klaxon.Service{Name: "checkout-api", Description: "takes money"}
	if err := s.CreateService(ctx, "test", &svc); err != nil {
		t.Fatal(err)
	}
	if svc.ID == 0 || svc.State != klaxon.ServiceActive || svc.CreatedAt.IsZero() {
		t.Fatalf("created service = %+v", svc)
	}
	got, err := s.Service(ctx, svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != svc {
		t.Fatalf("read back %+v, want %+v", got, svc)
	}
	mustService(t, s, "search-api")
	list, err := s.ListServices(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 || list[0].Name != "search-api" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	page2, err := s.ListServices(ctx, klaxon.Page{Before: list[0].ID, Limit: 1})
	if err != nil || len(page2) != 1 || page2[0].ID != svc.ID {
		t.Fatalf("second page = %+v, %v", page2, err)
	}
	dep := klaxon.ServiceDeprecated
	desc := "old"
	up, err := s.UpdateService(ctx, "test", svc.ID, klaxon.ServicePatch{State: &dep, Description: &desc})
	if err != nil || up.State != dep || up.Description != "old" || up.Name != "checkout-api" {
		t.Fatalf("patched = %+v, %v", up, err)
	}
	bad := klaxon.ServiceState("purged")
	_, err = s.UpdateService(ctx, "test", svc.ID, klaxon.ServicePatch{State: &bad})
	wantCode(t, err, klaxon.EINVALID)
	_, err = s.Service(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.UpdateService(ctx, "test", 9999, klaxon.ServicePatch{})
	wantCode(t, err, klaxon.ENOTFOUND)
	err = s.CreateService(ctx, "test", &klaxon.Service{Name: " "})
	wantCode(t, err, klaxon.EINVALID)
}

func testServiceNamesUnique(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	a := mustService(t, s, "a")
	mustService(t, s, "b")
	wantCode(t, s.CreateService(ctx, "test", &klaxon.Service{Name: "a"}), klaxon.ECONFLICT)
	name := "b"
	_, err := s.UpdateService(ctx, "test", a.ID, klaxon.ServicePatch{Name: &name})
	wantCode(t, err, klaxon.ECONFLICT)
}

func testIntegrations(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	in, key := mustIntegration(t, s, svc.ID)
	if len(key) != 32 || in.KeyHint != key[28:] {
		t.Fatalf("key %q hint %q", key, in.KeyHint)
	}
	gotIn, gotSvc, err := s.IntegrationByKey(ctx, klaxon.HashSecret(key))
	if err != nil || gotIn.ID != in.ID || gotSvc.ID != svc.ID || gotIn.Kind != klaxon.IntegrationAPI {
		t.Fatalf("by key = %+v %+v %v", gotIn, gotSvc, err)
	}
	list, err := s.ListIntegrations(ctx, svc.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v %v", list, err)
	}
	if string(list[0].KeyHash) == key {
		t.Fatal("key stored in clear")
	}
	_, newKey, err := s.RotateIntegrationKey(ctx, "test", svc.ID, in.ID)
	if err != nil || newKey == key {
		t.Fatalf("rotate: %v", err)
	}
	_, _, err = s.IntegrationByKey(ctx, klaxon.HashSecret(key))
	wantCode(t, err, klaxon.EUNAUTHORIZED)
	if _, _, err := s.IntegrationByKey(ctx, klaxon.HashSecret(newKey)); err != nil {
		t.Fatalf("new key: %v", err)
	}
	_, _, err = s.RotateIntegrationKey(ctx, "test", svc.ID+1, in.ID)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.CreateIntegration(ctx, "test", &klaxon.Integration{ServiceID: 999, Kind: klaxon.IntegrationAPI})
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.CreateIntegration(ctx, "test", &klaxon.Integration{ServiceID: svc.ID, Kind: "carrier-pigeon"})
	wantCode(t, err, klaxon.EINVALID)
}

func testIngestDedup(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	other := mustService(t, s, "other")
	r1 := mustIngest(t, s, trigger(svc, "k1"))
	r2 := mustIngest(t, s, trigger(svc, "k1"), trigger(svc, "k1"))
	r3 := mustIngest(t, s, trigger(other, "k1"))
	if !r1[0].Created || r2[0].Created || r2[1].Created || !r3[0].Created {
		t.Fatalf("created flags: %+v %+v %+v", r1, r2, r3)
	}
	if r1[0].AlertID != r2[0].AlertID || r2[0].AlertID != r2[1].AlertID || r3[0].AlertID == r1[0].AlertID {
		t.Fatalf("alert ids: %+v %+v %+v", r1, r2, r3)
	}
	a, err := s.Alert(ctx, r1[0].AlertID)
	if err != nil || a.EventCount != 3 || a.Status != klaxon.AlertTriggered || a.Urgency != klaxon.UrgencyHigh {
		t.Fatalf("alert = %+v, %v", a, err)
	}
	evs, err := s.AlertEvents(ctx, a.ID)
	if err != nil || len(evs) != 3 {
		t.Fatalf("events = %d, %v", len(evs), err)
	}
	// Once resolved, the same dedup key opens a new alert.
	mustIngest(t, s, act(svc, klaxon.ActionResolve, "k1"))
	r4 := mustIngest(t, s, trigger(svc, "k1"))
	if !r4[0].Created || r4[0].AlertID == r1[0].AlertID {
		t.Fatalf("after resolve: %+v", r4)
	}
}

func testIngestLifecycle(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	id := mustIngest(t, s, trigger(svc, "k"))[0].AlertID
	if r := mustIngest(t, s, act(svc, klaxon.ActionAcknowledge, "k")); r[0].AlertID != id {
		t.Fatalf("ack acted on %d, want %d", r[0].AlertID, id)
	}
	a, _ := s.Alert(ctx, id)
	if a.Status != klaxon.AlertAcknowledged || a.AcknowledgedAt == nil || a.ResolvedAt != nil {
		t.Fatalf("after ack: %+v", a)
	}
	// A trigger on an acknowledged alert adds to it and leaves it acknowledged.
	if r := mustIngest(t, s, trigger(svc, "k")); r[0].AlertID != id || r[0].Created {
		t.Fatalf("trigger on acked: %+v", r)
	}
	a, _ = s.Alert(ctx, id)
	if a.Status != klaxon.AlertAcknowledged || a.EventCount != 3 {
		t.Fatalf("after re-trigger: %+v", a)
	}
	mustIngest(t, s, act(svc, klaxon.ActionResolve, "k"))
	a, _ = s.Alert(ctx, id)
	if a.Status != klaxon.AlertResolved || a.ResolvedAt == nil || a.EventCount != 4 {
		t.Fatalf("after resolve: %+v", a)
	}
	// In one request, events apply in order.
	r := mustIngest(t, s, trigger(svc, "x"), act(svc, klaxon.ActionResolve, "x"), trigger(svc, "x"))
	if r[0].AlertID != r[1].AlertID || r[2].AlertID == r[0].AlertID || !r[2].Created {
		t.Fatalf("ordered batch: %+v", r)
	}
}

func testIngestNoOpenAlert(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	r := mustIngest(t, s, act(svc, klaxon.ActionAcknowledge, "none"), act(svc, klaxon.ActionResolve, "none"))
	if r[0].AlertID != 0 || r[1].AlertID != 0 {
		t.Fatalf("acted on an alert: %+v", r)
	}
	list, _ := s.ListAlerts(ctx, klaxon.AlertFilter{})
	if len(list) != 0 {
		t.Fatalf("alerts appeared: %+v", list)
	}
}

func testIngestDetails(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	ev := trigger(svc, "d")
	ev.Component, ev.Group, ev.Class = "db", "prod", "disk"
	ev.Summary, ev.Severity = "disk \"full\" <on> /var & /tmp\n\tü ✓ \u2028", klaxon.SeverityWarning
	ev.Details = json.RawMessage(`{"free":"0%","mount":"/"}`)
	ev.Links = []klaxon.Link{{Href: "https://runbook", Text: "runbook"}}
	ev.Images = []klaxon.Image{{Src: "https://graph.png"}}
	ev.Timestamp = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := mustIngest(t, s, ev)[0].AlertID
	evs, err := s.AlertEvents(ctx, id)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %v %v", evs, err)
	}
	got := evs[0]
	if got.Component != "db" || got.Group != "prod" || got.Class != "disk" || !got.Timestamp.Equal(ev.Timestamp) ||
		got.Summary != ev.Summary || got.Source != ev.Source || got.Severity != ev.Severity ||
		got.DedupKey != "d" || got.Action != klaxon.ActionTrigger || got.IntegrationID != 1 || got.ServiceID != svc.ID ||
		string(got.Details) != string(ev.Details) || len(got.Links) != 1 || got.Links[0] != ev.Links[0] ||
		len(got.Images) != 1 || got.ReceivedAt.IsZero() || got.AlertID != id {
		t.Fatalf("event read back = %+v", got)
	}
	a, _ := s.Alert(ctx, id)
	if a.Component != "db" || a.Source != "host-1" || a.Summary != ev.Summary {
		t.Fatalf("alert = %+v", a)
	}
}

// testIngestLarge stores a request larger than one multi-row INSERT, with
// every event distinguishable, and reads each one back on its alert.
func testIngestLarge(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	const n = 70
	evs := make([]klaxon.Event, n)
	for i := range evs {
		evs[i] = trigger(svc, fmt.Sprintf("k%d", i%7))
		evs[i].Details = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
	}
	res := mustIngest(t, s, evs...)
	seen := map[string]bool{}
	for k := 0; k < 7; k++ {
		stored, err := s.AlertEvents(ctx, res[k].AlertID)
		if err != nil || len(stored) != n/7 {
			t.Fatalf("alert %d: %d events, %v", res[k].AlertID, len(stored), err)
		}
		for _, ev := range stored {
			if ev.DedupKey != fmt.Sprintf("k%d", k) || ev.AlertID != res[k].AlertID {
				t.Fatalf("event %+v on the wrong alert", ev)
			}
			seen[string(ev.Details)] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events read back, want %d", len(seen), n)
	}
}

// testIngestConcurrent drives many concurrent submitters: every event is
// stored exactly once and each dedup key has exactly one open alert.
func testIngestConcurrent(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	const workers, perWorker, keys = 16, 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				if _, err := s.Ingest(ctx, []klaxon.Event{trigger(svc, fmt.Sprintf("key-%d", (w*perWorker+i)%keys))}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	alerts, err := s.ListAlerts(ctx, klaxon.AlertFilter{Page: klaxon.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != keys {
		t.Fatalf("%d alerts, want %d", len(alerts), keys)
	}
	var total int64
	for _, a := range alerts {
		total += a.EventCount
	}
	if total != workers*perWorker {
		t.Fatalf("events counted %d, want %d", total, workers*perWorker)
	}
}

func testIngestOverload(t *testing.T, open Opener) {
	s := open(t, store.Options{MaxQueuedEvents: 10})
	svc := mustService(t, s, "api")
	// A request larger than the bound still goes through when it is alone...
	big := make([]klaxon.Event, 25)
	for i := range big {
		big[i] = trigger(svc, fmt.Sprintf("b%d", i))
	}
	mustIngest(t, s, big...)
	// ...but many concurrent ones over the bound are refused at once, never
	// queued without bound; everything that was accepted is stored.
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			evs := []klaxon.Event{trigger(svc, fmt.Sprintf("o%d", i)), trigger(svc, fmt.Sprintf("o%d", i))}
			_, err := s.Ingest(ctx, evs)
			mu.Lock()
			defer mu.Unlock()
			switch klaxon.ErrorCodeOf(err) {
			case "":
				accepted++
			case klaxon.EOVERLOAD:
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}(i)
	}
	wg.Wait()
	alerts, _ := s.ListAlerts(ctx, klaxon.AlertFilter{Page: klaxon.Page{Limit: 1000}})
	if len(alerts) != 25+accepted {
		t.Fatalf("%d alerts, want %d (accepted %d, refused %d)", len(alerts), 25+accepted, accepted, refused)
	}
}

func testIngestAfterClose(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	mustIngest(t, s, trigger(svc, "k"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Ingest(ctx, []klaxon.Event{trigger(svc, "k")})
	wantCode(t, err, klaxon.EOVERLOAD)
}

func testListAlerts(t *testing.T, open Opener) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clock})
	a := mustService(t, s, "a")
	b := mustService(t, s, "b")
	mustIngest(t, s, trigger(a, "1"), trigger(a, "2"))
	clock.add(time.Hour)
	mustIngest(t, s, trigger(b, "3"), act(a, klaxon.ActionAcknowledge, "2"))
	for _, tc := range []struct {
		name string
		f    klaxon.AlertFilter
		want []string
	}{
		{"all newest first", klaxon.AlertFilter{}, []string{"3", "2", "1"}},
		{"by status", klaxon.AlertFilter{Status: klaxon.AlertTriggered}, []string{"3", "1"}},
		{"by service", klaxon.AlertFilter{ServiceID: a.ID}, []string{"2", "1"}},
		{"since", klaxon.AlertFilter{Since: clock.t.Add(-time.Minute)}, []string{"3"}},
		{"page size", klaxon.AlertFilter{Page: klaxon.Page{Limit: 2}}, []string{"3", "2"}},
	} {
		got, err := s.ListAlerts(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var keys []string
		for _, a := range got {
			keys = append(keys, a.DedupKey)
		}
		if fmt.Sprint(keys) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, keys, tc.want)
		}
	}
	first, _ := s.ListAlerts(ctx, klaxon.AlertFilter{Page: klaxon.Page{Limit: 2}})
	rest, _ := s.ListAlerts(ctx, klaxon.AlertFilter{Page: klaxon.Page{Limit: 2, Before: first[1].ID}})
	if len(rest) != 1 || rest[0].DedupKey != "1" {
		t.Fatalf("next page = %+v", rest)
	}
}

func testAlertChanges(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	id := mustIngest(t, s, trigger(svc, "k"))[0].AlertID
	a, err := s.AcknowledgeAlert(ctx, "token:1", id)
	if err != nil || a.Status != klaxon.AlertAcknowledged || a.AcknowledgedAt == nil {
		t.Fatalf("ack = %+v %v", a, err)
	}
	if a2, err := s.AcknowledgeAlert(ctx, "token:1", id); err != nil || !a2.AcknowledgedAt.Equal(*a.AcknowledgedAt) {
		t.Fatalf("second ack = %+v %v", a2, err)
	}
	a, err = s.ResolveAlert(ctx, "token:1", id)
	if err != nil || a.Status != klaxon.AlertResolved || a.ResolvedAt == nil {
		t.Fatalf("resolve = %+v %v", a, err)
	}
	if _, err := s.ResolveAlert(ctx, "token:1", id); err != nil {
		t.Fatalf("second resolve: %v", err)
	}
	_, err = s.AcknowledgeAlert(ctx, "token:1", id)
	wantCode(t, err, klaxon.ECONFLICT)
	_, err = s.AcknowledgeAlert(ctx, "token:1", 4242)
	wantCode(t, err, klaxon.ENOTFOUND)
	log, err := s.AlertLog(ctx, id)
	if err != nil || len(log) != 2 || log[0].Kind != "acknowledged" || log[1].Kind != "resolved" || log[0].Actor != "token:1" {
		t.Fatalf("log = %+v %v", log, err)
	}
	// The alert's dedup key is free again: a new trigger opens a new alert.
	if r := mustIngest(t, s, trigger(svc, "k")); !r[0].Created {
		t.Fatalf("trigger after manual resolve: %+v", r)
	}
}

func testAlertNotes(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	id := mustIngest(t, s, trigger(svc, "k"))[0].AlertID
	n, err := s.AddAlertNote(ctx, "user:1", id, "looking")
	if err != nil || n.ID == 0 || n.Message != "looking" {
		t.Fatalf("note = %+v %v", n, err)
	}
	_, err = s.AddAlertNote(ctx, "user:1", id+100, "x")
	wantCode(t, err, klaxon.ENOTFOUND)
	log, _ := s.AlertLog(ctx, id)
	if len(log) != 1 || log[0].Kind != "note" {
		t.Fatalf("log = %+v", log)
	}
}

func testChangeEvents(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	ce := klaxon.ChangeEvent{ServiceID: svc.ID, IntegrationID: 1, Summary: "deploy v2", Source: "ci",
		Details: json.RawMessage(`{"sha":"abc"}`), Links: []klaxon.Link{{Href: "https://ci/1"}}}
	if err := s.IngestChange(ctx, &ce); err != nil || ce.ID == 0 {
		t.Fatalf("ingest change: %v", err)
	}
	list, err := s.ListChangeEvents(ctx, svc.ID, klaxon.Page{})
	if err != nil || len(list) != 1 || list[0].Summary != "deploy v2" || string(list[0].Details) != `{"sha":"abc"}` {
		t.Fatalf("list = %+v %v", list, err)
	}
	if alerts, _ := s.ListAlerts(ctx, klaxon.AlertFilter{}); len(alerts) != 0 {
		t.Fatal("a change event opened an alert")
	}
}

func testBootstrap(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := klaxon.User{Name: "Admin", Email: "admin@localhost"}
			ok, err := s.Bootstrap(ctx, &u, fmt.Sprintf("klx_token%d", i))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("bootstrap won %d times, want once", wins)
	}
	tokens, err := s.ListAPITokens(ctx)
	if err != nil || len(tokens) != 1 || tokens[0].Role != klaxon.RoleOwner {
		t.Fatalf("tokens = %+v %v", tokens, err)
	}
}

func testTokens(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	secret := klaxon.NewAPIToken()
	tok := klaxon.APIToken{Name: "ci", Role: klaxon.RoleResponder}
	if err := s.CreateAPIToken(ctx, "test", &tok, secret); err != nil {
		t.Fatal(err)
	}
	got, err := s.APITokenByHash(ctx, klaxon.HashSecret(secret))
	if err != nil || got.ID != tok.ID || got.Role != klaxon.RoleResponder {
		t.Fatalf("by hash = %+v %v", got, err)
	}
	if byID, err := s.APIToken(ctx, tok.ID); err != nil || byID.Name != "ci" || byID.Role != klaxon.RoleResponder {
		t.Fatalf("by id = %+v %v", byID, err)
	}
	_, err = s.APIToken(ctx, tok.ID+100)
	wantCode(t, err, klaxon.ENOTFOUND)
	if err := s.RevokeAPIToken(ctx, "test", tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.APITokenByHash(ctx, klaxon.HashSecret(secret))
	wantCode(t, err, klaxon.EUNAUTHORIZED)
	wantCode(t, s.RevokeAPIToken(ctx, "test", 999), klaxon.ENOTFOUND)
	wantCode(t, s.CreateAPIToken(ctx, "test", &klaxon.APIToken{Name: "x", Role: "god"}, "s"), klaxon.EINVALID)
}

func testAudit(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	svc := mustService(t, s, "api")
	mustIntegration(t, s, svc.ID)
	entries, err := s.ListAudit(ctx, klaxon.Page{})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit = %+v %v", entries, err)
	}
	if entries[0].Action != "integration.create" || entries[1].Action != "service.create" || entries[1].ObjectID != svc.ID || entries[1].Actor != "test" {
		t.Fatalf("audit = %+v", entries)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
