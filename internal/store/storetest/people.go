package storetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

func mustUser(t *testing.T, s *store.Store, name, email string) klaxon.User {
	t.Helper()
	u := klaxon.User{Name: name, Email: email, Role: klaxon.RoleResponder}
	if err := s.CreateUser(ctx, "test", &u); err != nil {
		t.Fatalf("create user %q: %v", email, err)
	}
	return u
}

func mustContactMethod(t *testing.T, s *store.Store, userID int64, typ klaxon.ContactType, address string) klaxon.ContactMethod {
	t.Helper()
	c := klaxon.ContactMethod{UserID: userID, Type: typ, Address: address}
	if err := s.CreateContactMethod(ctx, "test", &c); err != nil {
		t.Fatalf("create contact method %s %q: %v", typ, address, err)
	}
	return c
}

func wantField(t *testing.T, err error, code klaxon.ErrorCode, field string) {
	t.Helper()
	wantCode(t, err, code)
	if e, _ := klaxon.AsError(err); e.Field != field {
		t.Fatalf("error %v names field %q, want %q", err, e.Field, field)
	}
}

func ptr[T any](v T) *T { return &v }

func testUsers(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	u := klaxon.User{Name: "Ada Lovelace", Email: "ada@example.com", TimeZone: "Europe/London", Role: klaxon.RoleAdmin}
	if err := s.CreateUser(ctx, "test", &u); err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 || u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("created user = %+v", u)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil || got != u {
		t.Fatalf("read back %+v, %v; want %+v", got, err, u)
	}
	// The time zone defaults to UTC.
	bob := mustUser(t, s, "Bob", "bob@example.com")
	if bob.TimeZone != "UTC" {
		t.Fatalf("default time zone %q", bob.TimeZone)
	}
	list, err := s.ListUsers(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 || list[0].ID != bob.ID || list[1] != u {
		t.Fatalf("list = %+v, %v", list, err)
	}
	page2, err := s.ListUsers(ctx, klaxon.Page{Before: bob.ID, Limit: 1})
	if err != nil || len(page2) != 1 || page2[0].ID != u.ID {
		t.Fatalf("second page = %+v, %v", page2, err)
	}

	up, err := s.UpdateUser(ctx, "test", u.ID, klaxon.UserPatch{TimeZone: ptr("America/New_York"), Role: ptr(klaxon.RoleViewer)})
	if err != nil || up.TimeZone != "America/New_York" || up.Role != klaxon.RoleViewer || up.Name != "Ada Lovelace" || up.UpdatedAt.Before(u.CreatedAt) {
		t.Fatalf("patched = %+v, %v", up, err)
	}
	if again, _ := s.User(ctx, u.ID); again != up {
		t.Fatalf("read after patch %+v, want %+v", again, up)
	}
	// A user may change the case of their own email.
	if up, err = s.UpdateUser(ctx, "test", u.ID, klaxon.UserPatch{Email: ptr("Ada@Example.com")}); err != nil || up.Email != "Ada@Example.com" {
		t.Fatalf("email case change = %+v, %v", up, err)
	}
	// Nothing to change is not an error.
	if same, err := s.UpdateUser(ctx, "test", u.ID, klaxon.UserPatch{}); err != nil || same != up {
		t.Fatalf("empty patch = %+v, %v", same, err)
	}

	for _, tc := range []struct {
		name  string
		patch klaxon.UserPatch
		field string
	}{
		{"name", klaxon.UserPatch{Name: ptr(" ")}, "name"},
		{"email", klaxon.UserPatch{Email: ptr("not an email")}, "email"},
		{"time zone", klaxon.UserPatch{TimeZone: ptr("Local")}, "time_zone"},
		{"empty time zone", klaxon.UserPatch{TimeZone: ptr("")}, "time_zone"},
		{"role", klaxon.UserPatch{Role: ptr(klaxon.Role("root"))}, "role"},
	} {
		_, err := s.UpdateUser(ctx, "test", u.ID, tc.patch)
		wantField(t, err, klaxon.EINVALID, tc.field)
	}
	for _, tc := range []struct {
		name  string
		user  klaxon.User
		field string
	}{
		{"no name", klaxon.User{Email: "x@example.com", Role: klaxon.RoleViewer}, "name"},
		{"no email", klaxon.User{Name: "X", Role: klaxon.RoleViewer}, "email"},
		{"bad time zone", klaxon.User{Name: "X", Email: "x@example.com", TimeZone: "Mars/Base", Role: klaxon.RoleViewer}, "time_zone"},
		{"no role", klaxon.User{Name: "X", Email: "x@example.com"}, "role"},
	} {
		wantField(t, s.CreateUser(ctx, "test", &tc.user), klaxon.EINVALID, tc.field)
	}
	_, err = s.User(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.UpdateUser(ctx, "test", 9999, klaxon.UserPatch{})
	wantCode(t, err, klaxon.ENOTFOUND)
	if all, _ := s.ListUsers(ctx, klaxon.Page{}); len(all) != 2 {
		t.Fatalf("refused creates stored users: %+v", all)
	}
}

func testUserEmailsUnique(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	a := mustUser(t, s, "A", "a@example.com")
	mustUser(t, s, "B", "b@example.com")
	wantField(t, s.CreateUser(ctx, "test", &klaxon.User{Name: "A2", Email: "a@example.com", Role: klaxon.RoleViewer}), klaxon.ECONFLICT, "email")
	wantField(t, s.CreateUser(ctx, "test", &klaxon.User{Name: "A3", Email: "A@EXAMPLE.COM", Role: klaxon.RoleViewer}), klaxon.ECONFLICT, "email")
	_, err := s.UpdateUser(ctx, "test", a.ID, klaxon.UserPatch{Email: ptr("B@example.com")})
	wantField(t, err, klaxon.ECONFLICT, "email")
	if got, _ := s.User(ctx, a.ID); got.Email != "a@example.com" {
		t.Fatalf("refused update changed the email to %q", got.Email)
	}
}

func testUserReach(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	u := mustUser(t, s, "Ada", "ada@example.com")
	other := mustUser(t, s, "Bob", "bob@example.com")
	if u.Reach != (klaxon.Reach{}) || len(u.Reach.Warnings()) != 2 {
		t.Fatalf("new user reach = %+v", u.Reach)
	}
	sms := mustContactMethod(t, s, u.ID, klaxon.ContactSMS, "+14155550123")
	mustContactMethod(t, s, u.ID, klaxon.ContactEmail, "ada@example.com")
	if err := s.CreateNotificationRule(ctx, "test", &klaxon.NotificationRule{UserID: u.ID, ContactMethodID: sms.ID, Urgency: klaxon.UrgencyLow}); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil || got.Reach != (klaxon.Reach{ContactMethods: 2, LowUrgencyRules: 1}) {
		t.Fatalf("reach = %+v, %v", got.Reach, err)
	}
	for _, d := range []int{0, 5} {
		if err := s.CreateNotificationRule(ctx, "test", &klaxon.NotificationRule{UserID: u.ID, ContactMethodID: sms.ID, DelayMinutes: d, Urgency: klaxon.UrgencyHigh}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListUsers(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if list[1].Reach != (klaxon.Reach{ContactMethods: 2, HighUrgencyRules: 2, LowUrgencyRules: 1}) || len(list[1].Reach.Warnings()) != 0 {
		t.Fatalf("listed reach = %+v", list[1].Reach)
	}
	if list[0].ID != other.ID || list[0].Reach != (klaxon.Reach{}) {
		t.Fatalf("the other user's reach = %+v", list[0].Reach)
	}
}

func testTeams(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	cat := mustUser(t, s, "Cat", "cat@example.com")
	team := klaxon.Team{Name: "Payments", Description: "takes money", Members: []klaxon.TeamMembership{
		{UserID: bob.ID, Role: klaxon.TeamManager}, {UserID: ada.ID, Role: klaxon.TeamMember}}}
	if err := s.CreateTeam(ctx, "test", &team); err != nil {
		t.Fatal(err)
	}
	wantMembers := []klaxon.TeamMembership{{UserID: ada.ID, Role: klaxon.TeamMember}, {UserID: bob.ID, Role: klaxon.TeamManager}}
	if team.ID == 0 || team.CreatedAt.IsZero() || !slices.Equal(team.Members, wantMembers) {
		t.Fatalf("created team = %+v", team)
	}
	got, err := s.Team(ctx, team.ID)
	if err != nil || got.Name != "Payments" || got.Description != "takes money" || !got.CreatedAt.Equal(team.CreatedAt) || !slices.Equal(got.Members, wantMembers) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	empty := klaxon.Team{Name: "Search"}
	if err := s.CreateTeam(ctx, "test", &empty); err != nil || empty.Members == nil || len(empty.Members) != 0 {
		t.Fatalf("team without members = %+v, %v", empty, err)
	}
	list, err := s.ListTeams(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 || list[0].ID != empty.ID || len(list[0].Members) != 0 || !slices.Equal(list[1].Members, wantMembers) {
		t.Fatalf("list = %+v, %v", list, err)
	}
	page2, err := s.ListTeams(ctx, klaxon.Page{Before: empty.ID, Limit: 1})
	if err != nil || len(page2) != 1 || page2[0].ID != team.ID || !slices.Equal(page2[0].Members, wantMembers) {
		t.Fatalf("second page = %+v, %v", page2, err)
	}

	up, err := s.UpdateTeam(ctx, "test", team.ID, klaxon.TeamPatch{Description: ptr("moves money")})
	if err != nil || up.Description != "moves money" || up.Name != "Payments" || !slices.Equal(up.Members, wantMembers) {
		t.Fatalf("patched = %+v, %v", up, err)
	}
	_, err = s.UpdateTeam(ctx, "test", team.ID, klaxon.TeamPatch{Name: ptr("Search")})
	wantField(t, err, klaxon.ECONFLICT, "name")
	wantField(t, s.CreateTeam(ctx, "test", &klaxon.Team{Name: "Payments"}), klaxon.ECONFLICT, "name")
	_, err = s.UpdateTeam(ctx, "test", team.ID, klaxon.TeamPatch{Name: ptr("")})
	wantField(t, err, klaxon.EINVALID, "name")
	_, err = s.UpdateTeam(ctx, "test", 9999, klaxon.TeamPatch{})
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.Team(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	bad := klaxon.Team{Name: "Ghosts", Members: []klaxon.TeamMembership{{UserID: ada.ID, Role: klaxon.TeamMember}, {UserID: 9999, Role: klaxon.TeamMember}}}
	wantField(t, s.CreateTeam(ctx, "test", &bad), klaxon.EINVALID, "members[1].user_id")
	if all, _ := s.ListTeams(ctx, klaxon.Page{}); len(all) != 2 {
		t.Fatalf("a refused team was stored: %+v", all)
	}

	// Members: add, change role, set again (no change), remove.
	got, err = s.SetTeamMember(ctx, "test", team.ID, klaxon.TeamMembership{UserID: cat.ID, Role: klaxon.TeamMember})
	if err != nil || len(got.Members) != 3 || got.Members[2] != (klaxon.TeamMembership{UserID: cat.ID, Role: klaxon.TeamMember}) || got.UpdatedAt.Before(up.UpdatedAt) {
		t.Fatalf("add member = %+v, %v", got, err)
	}
	got, err = s.SetTeamMember(ctx, "test", team.ID, klaxon.TeamMembership{UserID: ada.ID, Role: klaxon.TeamManager})
	if err != nil || got.Members[0].Role != klaxon.TeamManager {
		t.Fatalf("promote member = %+v, %v", got, err)
	}
	before, _ := s.ListAudit(ctx, klaxon.Page{})
	if same, err := s.SetTeamMember(ctx, "test", team.ID, klaxon.TeamMembership{UserID: ada.ID, Role: klaxon.TeamManager}); err != nil || len(same.Members) != 3 {
		t.Fatalf("set again = %+v, %v", same, err)
	}
	if after, _ := s.ListAudit(ctx, klaxon.Page{}); len(after) != len(before) {
		t.Fatal("a membership that did not change was audited")
	}
	got, err = s.RemoveTeamMember(ctx, "test", team.ID, bob.ID)
	if err != nil || len(got.Members) != 2 || got.Members[1].UserID != cat.ID {
		t.Fatalf("remove member = %+v, %v", got, err)
	}
	_, err = s.RemoveTeamMember(ctx, "test", team.ID, bob.ID)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.RemoveTeamMember(ctx, "test", 9999, ada.ID)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.SetTeamMember(ctx, "test", 9999, klaxon.TeamMembership{UserID: ada.ID, Role: klaxon.TeamMember})
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.SetTeamMember(ctx, "test", team.ID, klaxon.TeamMembership{UserID: 9999, Role: klaxon.TeamMember})
	wantField(t, err, klaxon.EINVALID, "user_id")
	_, err = s.SetTeamMember(ctx, "test", team.ID, klaxon.TeamMembership{UserID: bob.ID, Role: "owner"})
	wantField(t, err, klaxon.EINVALID, "role")
	if final, _ := s.Team(ctx, team.ID); len(final.Members) != 2 {
		t.Fatalf("refused member changes changed the team: %+v", final)
	}
}

func testContactMethods(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	var made []klaxon.ContactMethod
	for _, c := range []klaxon.ContactMethod{
		{Type: klaxon.ContactEmail, Address: "ada@example.com"},
		{Type: klaxon.ContactSMS, Address: "+447700900123", Name: "Mobile"},
		{Type: klaxon.ContactVoice, Address: "+447700900123"},
		{Type: klaxon.ContactPush, Address: "https://ntfy.sh/ada-pager"},
		{Type: klaxon.ContactChat, Address: "https://hooks.slack.com/services/T0/B0/x"},
		{Type: klaxon.ContactWebhook, Address: "http://10.0.0.5:8080/page"},
	} {
		c.UserID = ada.ID
		if err := s.CreateContactMethod(ctx, "test", &c); err != nil {
			t.Fatalf("%s: %v", c.Type, err)
		}
		if c.ID == 0 || c.CreatedAt.IsZero() || c.Name == "" {
			t.Fatalf("created %+v", c)
		}
		made = append(made, c)
	}
	if made[0].Name != "email" || made[1].Name != "Mobile" {
		t.Fatalf("names %q %q, want the type by default", made[0].Name, made[1].Name)
	}
	list, err := s.ListContactMethods(ctx, ada.ID)
	if err != nil || !reflect.DeepEqual(list, made) {
		t.Fatalf("list = %+v, %v; want %+v", list, err, made)
	}
	// Phone numbers are used only once verified; the rest at once.
	for _, c := range list {
		if verified := c.VerifiedAt != nil; verified == c.Type.NeedsVerification() {
			t.Errorf("%s contact method verified = %v", c.Type, verified)
		}
	}
	if none, err := s.ListContactMethods(ctx, bob.ID); err != nil || len(none) != 0 {
		t.Fatalf("bob's list = %+v, %v", none, err)
	}
	// The same address twice for one user and type would page twice; for
	// another user or type it is fine.
	dup := klaxon.ContactMethod{UserID: ada.ID, Type: klaxon.ContactSMS, Address: "+447700900123"}
	wantField(t, s.CreateContactMethod(ctx, "test", &dup), klaxon.ECONFLICT, "address")
	mustContactMethod(t, s, bob.ID, klaxon.ContactSMS, "+447700900123")

	wantCode(t, s.CreateContactMethod(ctx, "test", &klaxon.ContactMethod{UserID: 9999, Type: klaxon.ContactSMS, Address: "+14155550123"}), klaxon.ENOTFOUND)
	for _, tc := range []struct {
		c     klaxon.ContactMethod
		field string
	}{
		{klaxon.ContactMethod{Address: "+14155550123"}, "type"},
		{klaxon.ContactMethod{Type: "fax", Address: "+14155550123"}, "type"},
		{klaxon.ContactMethod{Type: klaxon.ContactSMS}, "address"},
		{klaxon.ContactMethod{Type: klaxon.ContactSMS, Address: "0415 555 0123"}, "address"},
		{klaxon.ContactMethod{Type: klaxon.ContactEmail, Address: "Ada <ada@example.com>"}, "address"},
		{klaxon.ContactMethod{Type: klaxon.ContactWebhook, Address: "ftp://example.com"}, "address"},
		{klaxon.ContactMethod{Type: klaxon.ContactChat, Address: "#incidents"}, "address"},
		{klaxon.ContactMethod{Type: klaxon.ContactSMS, Address: "+14155550123", Name: "a\nb"}, "name"},
	} {
		c := tc.c
		c.UserID = ada.ID
		wantField(t, s.CreateContactMethod(ctx, "test", &c), klaxon.EINVALID, tc.field)
	}
	if list, _ := s.ListContactMethods(ctx, ada.ID); len(list) != len(made) {
		t.Fatalf("refused contact methods were stored: %+v", list)
	}
}

func testNotificationRules(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	sms := mustContactMethod(t, s, ada.ID, klaxon.ContactSMS, "+14155550123")
	voice := mustContactMethod(t, s, ada.ID, klaxon.ContactVoice, "+14155550123")
	bobs := mustContactMethod(t, s, bob.ID, klaxon.ContactEmail, "bob@example.com")

	var made []klaxon.NotificationRule
	for _, r := range []klaxon.NotificationRule{
		{ContactMethodID: voice.ID, DelayMinutes: 10, Urgency: klaxon.UrgencyHigh},
		{ContactMethodID: sms.ID, DelayMinutes: 60, Urgency: klaxon.UrgencyLow},
		{ContactMethodID: sms.ID, DelayMinutes: 0, Urgency: klaxon.UrgencyHigh},
		{ContactMethodID: sms.ID, DelayMinutes: klaxon.MaxRuleDelayMinutes, Urgency: klaxon.UrgencyHigh},
	} {
		r.UserID = ada.ID
		if err := s.CreateNotificationRule(ctx, "test", &r); err != nil {
			t.Fatal(err)
		}
		if r.ID == 0 || r.CreatedAt.IsZero() {
			t.Fatalf("created %+v", r)
		}
		made = append(made, r)
	}
	list, err := s.ListNotificationRules(ctx, ada.ID)
	want := []klaxon.NotificationRule{made[2], made[0], made[3], made[1]}
	if err != nil || !slices.Equal(list, want) {
		t.Fatalf("list = %+v, %v; want high first, by delay: %+v", list, err, want)
	}
	if none, err := s.ListNotificationRules(ctx, bob.ID); err != nil || len(none) != 0 {
		t.Fatalf("bob's rules = %+v, %v", none, err)
	}

	rule := func(cm int64, delay int, u klaxon.Urgency) *klaxon.NotificationRule {
		return &klaxon.NotificationRule{UserID: ada.ID, ContactMethodID: cm, DelayMinutes: delay, Urgency: u}
	}
	// Another user's contact method, or one that does not exist: the same
	// answer.
	wantField(t, s.CreateNotificationRule(ctx, "test", rule(bobs.ID, 0, klaxon.UrgencyHigh)), klaxon.EINVALID, "contact_method_id")
	wantField(t, s.CreateNotificationRule(ctx, "test", rule(9999, 0, klaxon.UrgencyHigh)), klaxon.EINVALID, "contact_method_id")
	wantField(t, s.CreateNotificationRule(ctx, "test", rule(sms.ID, 0, klaxon.UrgencyHigh)), klaxon.ECONFLICT, "contact_method_id")
	wantField(t, s.CreateNotificationRule(ctx, "test", rule(sms.ID, -1, klaxon.UrgencyHigh)), klaxon.EINVALID, "delay_minutes")
	wantField(t, s.CreateNotificationRule(ctx, "test", rule(sms.ID, 1441, klaxon.UrgencyHigh)), klaxon.EINVALID, "delay_minutes")
	wantField(t, s.CreateNotificationRule(ctx, "test", rule(sms.ID, 1, "urgent")), klaxon.EINVALID, "urgency")
	wantField(t, s.CreateNotificationRule(ctx, "test", rule(0, 1, klaxon.UrgencyLow)), klaxon.EINVALID, "contact_method_id")
	other := rule(sms.ID, 1, klaxon.UrgencyLow)
	other.UserID = 9999
	wantCode(t, s.CreateNotificationRule(ctx, "test", other), klaxon.ENOTFOUND)
	if list, _ := s.ListNotificationRules(ctx, ada.ID); len(list) != len(made) {
		t.Fatalf("refused rules were stored: %+v", list)
	}
}

func testPeopleAudit(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	u := klaxon.User{Name: "Ada", Email: "ada@example.com", Role: klaxon.RoleResponder}
	if err := s.CreateUser(ctx, "token:7 (hr)", &u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, "token:7 (hr)", u.ID, klaxon.UserPatch{Name: ptr("Ada L.")}); err != nil {
		t.Fatal(err)
	}
	cm := mustContactMethod(t, s, u.ID, klaxon.ContactSMS, "+14155550123")
	if err := s.CreateNotificationRule(ctx, "test", &klaxon.NotificationRule{UserID: u.ID, ContactMethodID: cm.ID, Urgency: klaxon.UrgencyHigh}); err != nil {
		t.Fatal(err)
	}
	team := klaxon.Team{Name: "Payments"}
	if err := s.CreateTeam(ctx, "test", &team); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateTeam(ctx, "test", team.ID, klaxon.TeamPatch{Description: ptr("money")}); err != nil {
		t.Fatal(err)
	}
	for _, role := range []klaxon.TeamRole{klaxon.TeamMember, klaxon.TeamManager} {
		if _, err := s.SetTeamMember(ctx, "test", team.ID, klaxon.TeamMembership{UserID: u.ID, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RemoveTeamMember(ctx, "test", team.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	// Refused changes leave no entry.
	s.CreateUser(ctx, "test", &klaxon.User{Name: "Dup", Email: "ada@example.com", Role: klaxon.RoleViewer})
	s.RemoveTeamMember(ctx, "test", team.ID, u.ID)

	entries, err := s.ListAudit(ctx, klaxon.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range slices.Backward(entries) {
		actions = append(actions, e.Action)
	}
	want := []string{"user.create", "user.update", "contact_method.create", "notification_rule.create",
		"team.create", "team.update", "team.add_member", "team.update_member", "team.remove_member"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	last := entries[len(entries)-1]
	if last.Actor != "token:7 (hr)" || last.ObjectType != "user" || last.ObjectID != u.ID {
		t.Fatalf("first entry = %+v", last)
	}
}

func testBootstrapUser(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	admin := klaxon.User{Name: "Admin", Email: "admin@localhost"}
	if ok, err := s.Bootstrap(ctx, &admin, klaxon.NewAPIToken()); !ok || err != nil {
		t.Fatalf("bootstrap: %v %v", ok, err)
	}
	got, err := s.User(ctx, admin.ID)
	if err != nil || got.TimeZone != "UTC" || got.Role != klaxon.RoleOwner || got.UpdatedAt.IsZero() || !got.CreatedAt.Equal(admin.CreatedAt) {
		t.Fatalf("bootstrap user = %+v, %v", got, err)
	}
	wantField(t, s.CreateUser(ctx, "test", &klaxon.User{Name: "Imposter", Email: "ADMIN@localhost", Role: klaxon.RoleViewer}), klaxon.ECONFLICT, "email")
}
