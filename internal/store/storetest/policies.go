package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// The escalation policy conformance tests: policies, the policy a service
// pages through, and the audit of every on-call mutation.

func mustTeam(t *testing.T, s *store.Store, name string, users ...int64) klaxon.Team {
	t.Helper()
	team := klaxon.Team{Name: name}
	for _, u := range users {
		team.Members = append(team.Members, klaxon.TeamMembership{UserID: u, Role: klaxon.TeamMember})
	}
	if err := s.CreateTeam(ctx, "test", &team); err != nil {
		t.Fatalf("create team %q: %v", name, err)
	}
	return team
}

func mustPolicy(t *testing.T, s *store.Store, name string, steps ...klaxon.EscalationStep) klaxon.EscalationPolicy {
	t.Helper()
	p := klaxon.EscalationPolicy{Name: name, Steps: steps}
	if err := s.CreateEscalationPolicy(ctx, "test", &p); err != nil {
		t.Fatalf("create escalation policy %q: %v", name, err)
	}
	return p
}

func step(delay int, targets ...klaxon.Target) klaxon.EscalationStep {
	return klaxon.EscalationStep{DelayMinutes: delay, Targets: targets}
}

func testEscalationPolicies(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	sc := mustSchedule(t, s, "Primary", ada.ID)
	team := mustTeam(t, s, "Payments", ada.ID, bob.ID)
	user := func(id int64) klaxon.Target { return klaxon.Target{Type: klaxon.TargetUser, ID: id} }
	schedule := func(id int64) klaxon.Target { return klaxon.Target{Type: klaxon.TargetSchedule, ID: id} }
	teamT := func(id int64) klaxon.Target { return klaxon.Target{Type: klaxon.TargetTeam, ID: id} }

	p := klaxon.EscalationPolicy{Name: "Payments", Description: "money", Repeat: 2, Steps: []klaxon.EscalationStep{
		step(5, schedule(sc.ID)),
		step(10, user(bob.ID), teamT(team.ID), user(ada.ID)),
		step(30, schedule(sc.ID)), // a later step may repeat an earlier one's target
	}}
	want := p
	if err := s.CreateEscalationPolicy(ctx, "test", &p); err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || p.CreatedAt.IsZero() || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Fatalf("created policy = %+v", p)
	}
	want.ID, want.CreatedAt, want.UpdatedAt = p.ID, p.CreatedAt, p.UpdatedAt
	got, err := s.EscalationPolicy(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	other := mustPolicy(t, s, "Search", step(1, user(ada.ID)))
	list, err := s.ListEscalationPolicies(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 || !reflect.DeepEqual(list[0], other) || !reflect.DeepEqual(list[1], want) {
		t.Fatalf("list = %+v, %v", list, err)
	}
	page2, err := s.ListEscalationPolicies(ctx, klaxon.Page{Before: other.ID, Limit: 1})
	if err != nil || len(page2) != 1 || !reflect.DeepEqual(page2[0], want) {
		t.Fatalf("second page = %+v, %v", page2, err)
	}

	// Steps, when given, replace all steps.
	newSteps := []klaxon.EscalationStep{step(15, teamT(team.ID)), step(20, user(ada.ID), schedule(sc.ID))}
	up, err := s.UpdateEscalationPolicy(ctx, "test", p.ID, klaxon.PolicyPatch{Repeat: ptr(0), Steps: &newSteps})
	if err != nil {
		t.Fatal(err)
	}
	want.Repeat, want.Steps, want.UpdatedAt = 0, newSteps, up.UpdatedAt
	if !reflect.DeepEqual(up, want) {
		t.Fatalf("patched = %+v, want %+v", up, want)
	}
	if got, _ := s.EscalationPolicy(ctx, p.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("read after patch %+v, want %+v", got, want)
	}
	if got, _ := s.EscalationPolicy(ctx, other.ID); !reflect.DeepEqual(got, other) {
		t.Fatalf("other policy changed: %+v", got)
	}
	up, err = s.UpdateEscalationPolicy(ctx, "test", p.ID, klaxon.PolicyPatch{Name: ptr("Payments v2"), Description: ptr("")})
	want.Name, want.Description, want.UpdatedAt = "Payments v2", "", up.UpdatedAt
	if err != nil || !reflect.DeepEqual(up, want) {
		t.Fatalf("renamed = %+v, %v", up, err)
	}
	if same, err := s.UpdateEscalationPolicy(ctx, "test", p.ID, klaxon.PolicyPatch{}); err != nil || !reflect.DeepEqual(same, want) {
		t.Fatalf("empty patch = %+v, %v", same, err)
	}

	// Names are unique.
	wantField(t, s.CreateEscalationPolicy(ctx, "test", &klaxon.EscalationPolicy{Name: "Search", Steps: newSteps}), klaxon.ECONFLICT, "name")
	_, err = s.UpdateEscalationPolicy(ctx, "test", p.ID, klaxon.PolicyPatch{Name: ptr("Search")})
	wantField(t, err, klaxon.ECONFLICT, "name")

	// Every target must exist, whatever its type; the error names it.
	for _, typ := range []klaxon.TargetType{klaxon.TargetUser, klaxon.TargetSchedule, klaxon.TargetTeam} {
		steps := []klaxon.EscalationStep{step(5, user(ada.ID)), step(5, schedule(sc.ID), klaxon.Target{Type: typ, ID: 9999})}
		wantField(t, s.CreateEscalationPolicy(ctx, "test", &klaxon.EscalationPolicy{Name: "Ghost " + string(typ), Steps: steps}), klaxon.EINVALID, "steps[1].targets[1].id")
		_, err := s.UpdateEscalationPolicy(ctx, "test", p.ID, klaxon.PolicyPatch{Steps: &steps})
		wantField(t, err, klaxon.EINVALID, "steps[1].targets[1].id")
	}
	// An id of the wrong type is missing too: a user's id is not a team's.
	wantField(t, s.CreateEscalationPolicy(ctx, "test", &klaxon.EscalationPolicy{Name: "Mixed", Steps: []klaxon.EscalationStep{step(5, teamT(bob.ID+100))}}),
		klaxon.EINVALID, "steps[0].targets[0].id")
	for _, tc := range []struct {
		name  string
		p     klaxon.EscalationPolicy
		field string
	}{
		{"no name", klaxon.EscalationPolicy{Steps: newSteps}, "name"},
		{"no steps", klaxon.EscalationPolicy{Name: "x"}, "steps"},
		{"empty steps", klaxon.EscalationPolicy{Name: "x", Steps: []klaxon.EscalationStep{}}, "steps"},
		{"no targets", klaxon.EscalationPolicy{Name: "x", Steps: []klaxon.EscalationStep{step(5)}}, "steps[0].targets"},
		{"delay 0", klaxon.EscalationPolicy{Name: "x", Steps: []klaxon.EscalationStep{step(0, user(ada.ID))}}, "steps[0].delay_minutes"},
		{"bad type", klaxon.EscalationPolicy{Name: "x", Steps: []klaxon.EscalationStep{step(5, klaxon.Target{Type: "group", ID: ada.ID})}}, "steps[0].targets[0].type"},
		{"repeat -1", klaxon.EscalationPolicy{Name: "x", Repeat: -1, Steps: newSteps}, "repeat"},
		{"repeat 10", klaxon.EscalationPolicy{Name: "x", Repeat: 10, Steps: newSteps}, "repeat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantField(t, s.CreateEscalationPolicy(ctx, "test", &tc.p), klaxon.EINVALID, tc.field)
			if tc.p.Name != "" {
				_, err := s.UpdateEscalationPolicy(ctx, "test", p.ID, klaxon.PolicyPatch{Repeat: &tc.p.Repeat, Steps: &tc.p.Steps})
				wantField(t, err, klaxon.EINVALID, tc.field)
			}
		})
	}
	if got, _ := s.EscalationPolicy(ctx, p.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("refused patches changed the policy: %+v", got)
	}
	if all, _ := s.ListEscalationPolicies(ctx, klaxon.Page{}); len(all) != 2 {
		t.Fatalf("refused creates stored policies: %+v", all)
	}
	_, err = s.EscalationPolicy(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.UpdateEscalationPolicy(ctx, "test", 9999, klaxon.PolicyPatch{Name: ptr("x")})
	wantCode(t, err, klaxon.ENOTFOUND)
}

func testServicePolicies(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	p := mustPolicy(t, s, "Primary", step(5, klaxon.Target{Type: klaxon.TargetUser, ID: ada.ID}))
	q := mustPolicy(t, s, "Secondary", step(5, klaxon.Target{Type: klaxon.TargetUser, ID: ada.ID}))

	svc := klaxon.Service{Name: "checkout", EscalationPolicyID: p.ID}
	if err := s.CreateService(ctx, "test", &svc); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Service(ctx, svc.ID); err != nil || got != svc || got.EscalationPolicyID != p.ID {
		t.Fatalf("read back %+v, %v; want %+v", got, err, svc)
	}
	plain := mustService(t, s, "search")
	if plain.EscalationPolicyID != 0 {
		t.Fatalf("service without a policy = %+v", plain)
	}
	wantField(t, s.CreateService(ctx, "test", &klaxon.Service{Name: "ghost", EscalationPolicyID: 9999}), klaxon.EINVALID, "escalation_policy_id")
	if list, _ := s.ListServices(ctx, klaxon.Page{}); len(list) != 2 || list[0] != plain || list[1] != svc {
		t.Fatalf("list = %+v", list)
	}

	for _, tc := range []struct {
		name string
		set  int64
		want int64
	}{
		{"set", q.ID, q.ID},
		{"same", q.ID, q.ID},
		{"clear", 0, 0},
		{"clear again", 0, 0},
		{"set again", p.ID, p.ID},
	} {
		up, err := s.UpdateService(ctx, "test", plain.ID, klaxon.ServicePatch{EscalationPolicyID: ptr(tc.set)})
		if err != nil || up.EscalationPolicyID != tc.want || up.Name != "search" {
			t.Fatalf("%s: patched = %+v, %v", tc.name, up, err)
		}
		if got, _ := s.Service(ctx, plain.ID); got != up {
			t.Fatalf("%s: read back %+v, want %+v", tc.name, got, up)
		}
	}
	// A patch without the field leaves the policy.
	if up, err := s.UpdateService(ctx, "test", plain.ID, klaxon.ServicePatch{Description: ptr("finds things")}); err != nil || up.EscalationPolicyID != p.ID {
		t.Fatalf("patching the description = %+v, %v", up, err)
	}
	_, err := s.UpdateService(ctx, "test", plain.ID, klaxon.ServicePatch{EscalationPolicyID: ptr(int64(9999))})
	wantField(t, err, klaxon.EINVALID, "escalation_policy_id")
	if got, _ := s.Service(ctx, plain.ID); got.EscalationPolicyID != p.ID {
		t.Fatalf("refused patch changed the policy to %d", got.EscalationPolicyID)
	}
}

func testOnCallAudit(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	const actor = "token:9 (on-call)"
	sc := klaxon.Schedule{Name: "Primary", TimeZone: "UTC", Layers: []klaxon.ScheduleLayer{
		{Name: "l", Start: "2026-03-07T09:00", RotationUnit: "day", RotationEvery: 1, UserIDs: []int64{ada.ID}}}}
	if err := s.CreateSchedule(ctx, actor, &sc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateSchedule(ctx, actor, sc.ID, klaxon.SchedulePatch{Name: ptr("Primary 2")}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC)
	o := klaxon.Override{ScheduleID: sc.ID, UserID: ada.ID, Start: t0, End: t0.Add(time.Hour)}
	if err := s.CreateOverride(ctx, actor, &o); err != nil {
		t.Fatal(err)
	}
	p := klaxon.EscalationPolicy{Name: "P", Steps: []klaxon.EscalationStep{step(5, klaxon.Target{Type: klaxon.TargetSchedule, ID: sc.ID})}}
	if err := s.CreateEscalationPolicy(ctx, actor, &p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateEscalationPolicy(ctx, actor, p.ID, klaxon.PolicyPatch{Repeat: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	svc := klaxon.Service{Name: "checkout"}
	if err := s.CreateService(ctx, actor, &svc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateService(ctx, actor, svc.ID, klaxon.ServicePatch{EscalationPolicyID: &p.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateFeed(ctx, actor, klaxon.FeedSchedule, sc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateFeed(ctx, actor, klaxon.FeedUser, ada.ID); err != nil {
		t.Fatal(err)
	}
	// Refused changes, and changes that change nothing, leave no entry.
	s.CreateSchedule(ctx, actor, &klaxon.Schedule{Name: "Primary 2", TimeZone: "UTC", Layers: sc.Layers})
	s.UpdateSchedule(ctx, actor, sc.ID, klaxon.SchedulePatch{Name: ptr("Primary 2"), Layers: &sc.Layers})
	s.CreateOverride(ctx, actor, &klaxon.Override{ScheduleID: sc.ID, UserID: ada.ID, Start: t0, End: t0.Add(time.Minute)})
	s.CreateEscalationPolicy(ctx, actor, &klaxon.EscalationPolicy{Name: "Q"})
	s.UpdateEscalationPolicy(ctx, actor, p.ID, klaxon.PolicyPatch{Repeat: ptr(3)})
	s.UpdateService(ctx, actor, svc.ID, klaxon.ServicePatch{EscalationPolicyID: ptr(int64(9999))})
	s.RotateFeed(ctx, actor, klaxon.FeedSchedule, 9999)

	entries, err := s.ListAudit(ctx, klaxon.Page{})
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		action, objectType string
		objectID           int64
	}
	var got []entry
	for _, e := range slices.Backward(entries) {
		if e.Actor != actor {
			continue // the user, created by "test"
		}
		got = append(got, entry{e.Action, e.ObjectType, e.ObjectID})
	}
	want := []entry{
		{"schedule.create", "schedule", sc.ID},
		{"schedule.update", "schedule", sc.ID},
		{"schedule.override", "schedule", sc.ID},
		{"escalation_policy.create", "escalation_policy", p.ID},
		{"escalation_policy.update", "escalation_policy", p.ID},
		{"service.create", "service", svc.ID},
		{"service.update", "service", svc.ID},
		{"schedule.rotate_feed", "schedule", sc.ID},
		{"user.rotate_feed", "user", ada.ID},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit\n got %v\nwant %v", got, want)
	}
	for _, e := range entries {
		if e.Action == "service.update" && e.Detail != fmt.Sprintf(`{"escalation_policy_id":%d}`, p.ID) {
			t.Fatalf("service.update detail %q", e.Detail)
		}
		if e.Action == "schedule.override" && e.Detail == "" {
			t.Fatalf("override audited without detail: %+v", e)
		}
	}
}
