package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The people tests pin the users, teams, contact methods and notification
// rules API through HTTP, on both stores.

func TestPeopleSQLite(t *testing.T)   { t.Parallel(); testPeople(t, storetest.OpenSQLite) }
func TestPeoplePostgres(t *testing.T) { t.Parallel(); testPeople(t, storetest.OpenPostgres) }

func testPeople(t *testing.T, open storetest.Opener) {
	e := newEnv(t, open, store.Options{}, api.Config{})
	t.Run("Users", func(t *testing.T) { peopleUsers(t, e) })
	t.Run("ContactMethodsAndRules", func(t *testing.T) { peopleContactsAndRules(t, e) })
	t.Run("Teams", func(t *testing.T) { peopleTeams(t, e) })
	t.Run("SelfService", func(t *testing.T) { peopleSelfService(t, e) })
	t.Run("Owners", func(t *testing.T) { peopleOwners(t, e) })
	t.Run("Audit", func(t *testing.T) { peopleAudit(t, e) })
}

// createUser creates a user as owner and returns its id.
func (e *env) createUser(t testing.TB, name, email string, role klaxon.Role) string {
	t.Helper()
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/users", map[string]any{"name": name, "email": email, "role": role})
	return str(t, m, "id")
}

// userToken makes an API token tied to a user (as the bootstrap token is)
// and returns its secret.
func (e *env) userToken(t testing.TB, userID string, role klaxon.Role) string {
	t.Helper()
	var id int64
	fmt.Sscan(userID, &id)
	secret := klaxon.NewAPIToken()
	if err := e.store.CreateAPIToken(context.Background(), "test", &klaxon.APIToken{Name: "user " + userID, Role: role, UserID: id}, secret); err != nil {
		t.Fatalf("token for user %s: %v", userID, err)
	}
	return secret
}

func warnings(t testing.TB, user map[string]any) []string {
	t.Helper()
	raw, ok := user["warnings"].([]any)
	if !ok {
		t.Fatalf("warnings: got %#v, want an array in %v", user["warnings"], user)
	}
	out := make([]string, len(raw))
	for i, w := range raw {
		out[i], _ = w.(string)
	}
	return out
}

func peopleUsers(t *testing.T, e *env) {
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/users",
		map[string]any{"name": "Ada Lovelace", "email": "ada@example.com", "time_zone": "Europe/London", "role": "responder"})
	id := str(t, m, "id")
	if !digits.MatchString(id) {
		t.Errorf("user id %q is not a decimal id string", id)
	}
	if m["name"] != "Ada Lovelace" || m["email"] != "ada@example.com" || m["time_zone"] != "Europe/London" || m["role"] != "responder" {
		t.Errorf("created user: %v", m)
	}
	if got, want := keysOf(m), []string{"created_at", "email", "id", "name", "role", "time_zone", "updated_at", "warnings"}; !slices.Equal(got, want) {
		t.Errorf("user keys %v, want %v", got, want)
	}
	isTime(t, "created_at", m["created_at"])
	isTime(t, "updated_at", m["updated_at"])
	if w := warnings(t, m); !slices.Equal(w, []string{"no contact methods", "no notification rules"}) {
		t.Errorf("a new user's warnings: %q", w)
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+id, nil); fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("GET one = %v, want what POST answered %v", got, m)
	}

	// time_zone may be left out: UTC.
	bob := e.ok(t, http.StatusCreated, "POST", "/api/v1/users", map[string]any{"name": "Bob", "email": "bob@example.com", "role": "viewer"})
	if bob["time_zone"] != "UTC" {
		t.Errorf("default time zone %v, want UTC", bob["time_zone"])
	}

	// Emails are unique, ignoring case.
	for _, email := range []string{"ada@example.com", "ADA@example.com"} {
		r := e.call(t, "POST", "/api/v1/users", e.owner, map[string]any{"name": "Ada 2", "email": email, "role": "viewer"})
		wantError(t, r, http.StatusConflict, klaxon.ECONFLICT, "email")
	}
	r := e.call(t, "PATCH", "/api/v1/users/"+str(t, bob, "id"), e.owner, map[string]any{"email": "Ada@Example.com"})
	wantError(t, r, http.StatusConflict, klaxon.ECONFLICT, "email")

	// PATCH: any subset.
	for _, tc := range []struct {
		name  string
		patch map[string]any
		want  map[string]string
	}{
		{"name", map[string]any{"name": "Ada King"}, map[string]string{"name": "Ada King", "email": "ada@example.com", "time_zone": "Europe/London", "role": "responder"}},
		{"email", map[string]any{"email": "ada@king.example"}, map[string]string{"email": "ada@king.example", "name": "Ada King"}},
		{"time zone", map[string]any{"time_zone": "America/New_York"}, map[string]string{"time_zone": "America/New_York"}},
		{"role", map[string]any{"role": "admin"}, map[string]string{"role": "admin", "time_zone": "America/New_York"}},
		{"nothing", map[string]any{}, map[string]string{"name": "Ada King", "role": "admin"}},
		{"all", map[string]any{"name": "Ada Lovelace", "email": "ada@example.com", "time_zone": "Europe/London", "role": "responder"},
			map[string]string{"name": "Ada Lovelace", "email": "ada@example.com", "time_zone": "Europe/London", "role": "responder"}},
	} {
		t.Run("PATCH/"+tc.name, func(t *testing.T) {
			p := e.ok(t, http.StatusOK, "PATCH", "/api/v1/users/"+id, tc.patch)
			g := e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+id, nil)
			for k, v := range tc.want {
				if p[k] != v || g[k] != v {
					t.Errorf("%s: PATCH answered %v, GET %v, want %q", k, p[k], g[k], v)
				}
			}
		})
	}

	// Paging walks the whole list, newest first.
	for i := range 4 {
		e.createUser(t, fmt.Sprintf("Pager %d", i), fmt.Sprintf("pager%d@example.com", i), klaxon.RoleViewer)
	}
	all := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/users?limit=1000", nil), "users")
	if len(all) < 7 || all[0]["name"] != "Pager 3" {
		t.Fatalf("users: %v", ids(t, all))
	}
	var paged []string
	cursor := ""
	for range len(all) + 1 {
		path := "/api/v1/users?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		pm := e.ok(t, http.StatusOK, "GET", path, nil)
		paged = append(paged, ids(t, list(t, pm, "users"))...)
		cursor, _ = pm["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, ids(t, all)) {
		t.Errorf("paged ids %v, want %v", paged, ids(t, all))
	}
	for _, u := range all {
		warnings(t, u) // every listed user carries its warnings
	}
}

func peopleContactsAndRules(t *testing.T, e *env) {
	ada := e.createUser(t, "Ada CM", "ada.cm@example.com", klaxon.RoleResponder)
	bob := e.createUser(t, "Bob CM", "bob.cm@example.com", klaxon.RoleResponder)
	cms := "/api/v1/users/" + ada + "/contact-methods"
	rules := "/api/v1/users/" + ada + "/notification-rules"

	var made []string
	for _, c := range []map[string]any{
		{"type": "email", "address": "ada.cm@example.com"},
		{"type": "sms", "address": "+447700900123", "name": "Mobile"},
		{"type": "voice", "address": "+447700900123"},
		{"type": "push", "address": "https://ntfy.sh/ada-pager"},
		{"type": "chat", "address": "https://hooks.slack.com/services/T0/B0/x"},
		{"type": "webhook", "address": "https://hooks.example.com/page"},
	} {
		m := e.ok(t, http.StatusCreated, "POST", cms, c)
		made = append(made, str(t, m, "id"))
		if m["user_id"] != ada || m["type"] != c["type"] || m["address"] != c["address"] {
			t.Errorf("created %v from %v", m, c)
		}
		wantName := c["name"]
		if wantName == nil {
			wantName = c["type"]
		}
		if m["name"] != wantName {
			t.Errorf("name %v, want %v", m["name"], wantName)
		}
		if got, want := keysOf(m), []string{"address", "created_at", "id", "name", "type", "user_id", "verified"}; !slices.Equal(got, want) {
			t.Errorf("contact method keys %v, want %v", got, want)
		}
	}
	if got := ids(t, list(t, e.ok(t, http.StatusOK, "GET", cms, nil), "contact_methods")); !slices.Equal(got, made) {
		t.Errorf("contact methods %v, want oldest first %v", got, made)
	}
	if w := warnings(t, e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+ada, nil)); !slices.Equal(w, []string{"no notification rules"}) {
		t.Errorf("warnings with contact methods and no rules: %q", w)
	}
	wantError(t, e.call(t, "POST", cms, e.owner, map[string]any{"type": "sms", "address": "+447700900123"}), http.StatusConflict, klaxon.ECONFLICT, "address")

	sms, voice := made[1], made[2]
	low := e.ok(t, http.StatusCreated, "POST", rules, map[string]any{"contact_method_id": sms, "delay_minutes": 30, "urgency": "low"})
	if low["contact_method_id"] != sms || low["delay_minutes"] != float64(30) || low["urgency"] != "low" || low["user_id"] != ada {
		t.Errorf("created rule %v", low)
	}
	if got, want := keysOf(low), []string{"contact_method_id", "created_at", "delay_minutes", "id", "urgency", "user_id"}; !slices.Equal(got, want) {
		t.Errorf("rule keys %v, want %v", got, want)
	}
	if w := warnings(t, e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+ada, nil)); !slices.Equal(w, []string{"no high-urgency notification rules"}) {
		t.Errorf("warnings with only a low-urgency rule: %q", w)
	}
	// delay_minutes may be left out: at once.
	now := e.ok(t, http.StatusCreated, "POST", rules, map[string]any{"contact_method_id": sms, "urgency": "high"})
	later := e.ok(t, http.StatusCreated, "POST", rules, map[string]any{"contact_method_id": voice, "delay_minutes": 5, "urgency": "high"})
	if now["delay_minutes"] != float64(0) {
		t.Errorf("default delay %v", now["delay_minutes"])
	}
	got := ids(t, list(t, e.ok(t, http.StatusOK, "GET", rules, nil), "notification_rules"))
	if want := []string{str(t, now, "id"), str(t, later, "id"), str(t, low, "id")}; !slices.Equal(got, want) {
		t.Errorf("rules %v, want high first by delay %v", got, want)
	}
	if w := warnings(t, e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+ada, nil)); len(w) != 0 {
		t.Errorf("warnings of a reachable user: %q", w)
	}
	wantError(t, e.call(t, "POST", rules, e.owner, map[string]any{"contact_method_id": sms, "urgency": "high"}), http.StatusConflict, klaxon.ECONFLICT, "contact_method_id")

	// A rule cannot use another user's contact method.
	bobs := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/users/"+bob+"/contact-methods", map[string]any{"type": "email", "address": "bob.cm@example.com"}), "id")
	r := e.call(t, "POST", rules, e.owner, map[string]any{"contact_method_id": bobs, "urgency": "high"})
	wantError(t, r, http.StatusBadRequest, klaxon.EINVALID, "contact_method_id")
	r = e.call(t, "POST", "/api/v1/users/"+bob+"/notification-rules", e.owner, map[string]any{"contact_method_id": sms, "urgency": "high"})
	wantError(t, r, http.StatusBadRequest, klaxon.EINVALID, "contact_method_id")
	if got := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+bob+"/notification-rules", nil), "notification_rules"); len(got) != 0 {
		t.Errorf("bob has rules %v", got)
	}
}

func peopleTeams(t *testing.T, e *env) {
	ada := e.createUser(t, "Ada T", "ada.t@example.com", klaxon.RoleResponder)
	bob := e.createUser(t, "Bob T", "bob.t@example.com", klaxon.RoleResponder)
	cat := e.createUser(t, "Cat T", "cat.t@example.com", klaxon.RoleResponder)
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": "Payments", "description": "Takes money",
		"members": []any{map[string]any{"user_id": bob, "role": "manager"}, map[string]any{"user_id": ada}}})
	id := str(t, m, "id")
	if m["name"] != "Payments" || m["description"] != "Takes money" {
		t.Errorf("created team %v", m)
	}
	if got, want := keysOf(m), []string{"created_at", "description", "id", "members", "name", "updated_at"}; !slices.Equal(got, want) {
		t.Errorf("team keys %v, want %v", got, want)
	}
	wantMembers := fmt.Sprint([]any{map[string]any{"user_id": ada, "role": "member"}, map[string]any{"user_id": bob, "role": "manager"}})
	if got := fmt.Sprint(m["members"]); got != wantMembers {
		t.Errorf("members %s, want %s", got, wantMembers)
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/teams/"+id, nil); fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("GET one = %v, want %v", got, m)
	}
	empty := e.ok(t, http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": "Search"})
	if ms, ok := empty["members"].([]any); !ok || len(ms) != 0 || empty["description"] != "" {
		t.Errorf("team without members %v", empty)
	}
	teams := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/teams", nil), "teams")
	if got := ids(t, teams); !slices.Equal(got, []string{str(t, empty, "id"), id}) || fmt.Sprint(teams[1]) != fmt.Sprint(m) {
		t.Errorf("teams %v", teams)
	}
	wantError(t, e.call(t, "POST", "/api/v1/teams", e.owner, map[string]any{"name": "Payments"}), http.StatusConflict, klaxon.ECONFLICT, "name")

	p := e.ok(t, http.StatusOK, "PATCH", "/api/v1/teams/"+id, map[string]any{"description": "Moves money"})
	if p["description"] != "Moves money" || p["name"] != "Payments" || fmt.Sprint(p["members"]) != wantMembers {
		t.Errorf("patched team %v", p)
	}
	wantError(t, e.call(t, "PATCH", "/api/v1/teams/"+id, e.owner, map[string]any{"name": "Search"}), http.StatusConflict, klaxon.ECONFLICT, "name")

	members := "/api/v1/teams/" + id + "/members"
	added := e.ok(t, http.StatusOK, "POST", members, map[string]any{"user_id": cat})
	if got := fmt.Sprint(added["members"]); !strings.Contains(got, "map[role:member user_id:"+cat+"]") {
		t.Errorf("after adding cat: %s", got)
	}
	promoted := e.ok(t, http.StatusOK, "POST", members, map[string]any{"user_id": ada, "role": "manager"})
	if got := list(t, promoted, "members"); len(got) != 3 || got[0]["role"] != "manager" {
		t.Errorf("after promoting ada: %v", got)
	}
	removed := e.ok(t, http.StatusOK, "POST", members+"/"+bob+"/remove", nil)
	if got := ids(t, userIDsAsIDs(list(t, removed, "members"))); !slices.Equal(got, []string{ada, cat}) {
		t.Errorf("after removing bob: %v", got)
	}
	wantError(t, e.call(t, "POST", members+"/"+bob+"/remove", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	// The user is still there: only the membership ended.
	e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+bob, nil)
}

// userIDsAsIDs lets ids() read team members' user ids.
func userIDsAsIDs(members []map[string]any) []map[string]any {
	out := make([]map[string]any, len(members))
	for i, m := range members {
		out[i] = map[string]any{"id": m["user_id"]}
	}
	return out
}

func peopleSelfService(t *testing.T, e *env) {
	ada := e.createUser(t, "Ada S", "ada.s@example.com", klaxon.RoleViewer)
	bob := e.createUser(t, "Bob S", "bob.s@example.com", klaxon.RoleViewer)
	own := e.userToken(t, ada, klaxon.RoleViewer)
	_, admin := e.createToken(t, "people admin", klaxon.RoleAdmin)
	_, responder := e.createToken(t, "people responder", klaxon.RoleResponder)

	// Ada's token (even a viewer's) manages Ada's contact methods and rules.
	r := e.call(t, "POST", "/api/v1/users/"+ada+"/contact-methods", own, map[string]any{"type": "sms", "address": "+14155550100"})
	if r.status != http.StatusCreated {
		t.Fatalf("own contact method: %s", r)
	}
	cm := str(t, r.obj(t), "id")
	if r := e.call(t, "POST", "/api/v1/users/"+ada+"/notification-rules", own, map[string]any{"contact_method_id": cm, "urgency": "high"}); r.status != http.StatusCreated {
		t.Fatalf("own rule: %s", r)
	}
	// Not Bob's, and not anything only admins do.
	for _, rq := range []struct{ method, path string }{
		{"POST", "/api/v1/users/" + bob + "/contact-methods"},
		{"POST", "/api/v1/users/" + bob + "/notification-rules"},
		{"POST", "/api/v1/users"},
		{"PATCH", "/api/v1/users/" + ada},
		{"POST", "/api/v1/teams"},
	} {
		wantError(t, e.call(t, rq.method, rq.path, own, map[string]any{"type": "sms", "address": "+14155550101"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	}
	// A token tied to no one is not anyone's own; an admin's is everyone's.
	wantError(t, e.call(t, "POST", "/api/v1/users/"+ada+"/contact-methods", responder, map[string]any{"type": "sms", "address": "+14155550102"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	if r := e.call(t, "POST", "/api/v1/users/"+bob+"/contact-methods", admin, map[string]any{"type": "sms", "address": "+14155550103"}); r.status != http.StatusCreated {
		t.Errorf("admin adds bob's contact method: %s", r)
	}
	// Reads need only viewer.
	for _, path := range []string{"/api/v1/users", "/api/v1/users/" + bob, "/api/v1/users/" + bob + "/contact-methods", "/api/v1/users/" + bob + "/notification-rules", "/api/v1/teams"} {
		if r := e.call(t, "GET", path, own, nil); r.status != http.StatusOK {
			t.Errorf("GET %s with a viewer token: %s", path, r)
		}
	}
	if got := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+bob+"/contact-methods", nil), "contact_methods"); len(got) != 1 {
		t.Errorf("bob's contact methods: %v", got)
	}
}

func peopleOwners(t *testing.T, e *env) {
	_, admin := e.createToken(t, "owners admin", klaxon.RoleAdmin)
	owner := map[string]any{"name": "Olive", "email": "olive@example.com", "role": "owner"}
	wantError(t, e.call(t, "POST", "/api/v1/users", admin, owner), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	olive := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/users", owner), "id")
	// An admin can neither change an owner nor make one.
	wantError(t, e.call(t, "PATCH", "/api/v1/users/"+olive, admin, map[string]any{"role": "viewer"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	wantError(t, e.call(t, "PATCH", "/api/v1/users/"+olive, admin, map[string]any{"email": "mine@example.com"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	rex := str(t, e.call(t, "POST", "/api/v1/users", admin, map[string]any{"name": "Rex", "email": "rex@example.com", "role": "admin"}).obj(t), "id")
	wantError(t, e.call(t, "PATCH", "/api/v1/users/"+rex, admin, map[string]any{"role": "owner"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	if r := e.call(t, "PATCH", "/api/v1/users/"+rex, admin, map[string]any{"role": "responder"}); r.status != http.StatusOK {
		t.Errorf("admin demotes an admin: %s", r)
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+olive, nil); got["role"] != "owner" || got["email"] != "olive@example.com" {
		t.Errorf("owner changed by an admin: %v", got)
	}
	if got := e.ok(t, http.StatusOK, "PATCH", "/api/v1/users/"+rex, map[string]any{"role": "owner"}); got["role"] != "owner" {
		t.Errorf("owner promotes: %v", got)
	}
}

func peopleAudit(t *testing.T, e *env) {
	ada := e.createUser(t, "Ada A", "ada.a@example.com", klaxon.RoleResponder)
	e.ok(t, http.StatusOK, "PATCH", "/api/v1/users/"+ada, map[string]any{"time_zone": "Asia/Tokyo"})
	cm := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/users/"+ada+"/contact-methods", map[string]any{"type": "email", "address": "ada.a@example.com"}), "id")
	e.ok(t, http.StatusCreated, "POST", "/api/v1/users/"+ada+"/notification-rules", map[string]any{"contact_method_id": cm, "urgency": "high"})
	team := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": "Audited"}), "id")
	e.ok(t, http.StatusOK, "PATCH", "/api/v1/teams/"+team, map[string]any{"name": "Audited 2"})
	e.ok(t, http.StatusOK, "POST", "/api/v1/teams/"+team+"/members", map[string]any{"user_id": ada})
	e.ok(t, http.StatusOK, "POST", "/api/v1/teams/"+team+"/members/"+ada+"/remove", nil)
	entries := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=8", nil), "entries")
	var actions []string
	for _, en := range slices.Backward(entries) {
		actions = append(actions, en["action"].(string))
		if actor, _ := en["actor"].(string); !strings.HasPrefix(actor, "token:1 ") {
			t.Errorf("actor %q, want the owner token", actor)
		}
	}
	want := []string{"user.create", "user.update", "contact_method.create", "notification_rule.create",
		"team.create", "team.update", "team.add_member", "team.remove_member"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit %v, want %v", actions, want)
	}
}

// peopleFixture is what the bad-input tests poke at.
type peopleFixture struct {
	user, other, cm, otherCM, team string
}

func newPeopleFixture(t *testing.T, e *env) peopleFixture {
	var f peopleFixture
	f.user = e.createUser(t, "Fixture", "fixture@example.com", klaxon.RoleResponder)
	f.other = e.createUser(t, "Other", "other@example.com", klaxon.RoleResponder)
	f.cm = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/users/"+f.user+"/contact-methods", map[string]any{"type": "sms", "address": "+14155550123"}), "id")
	f.otherCM = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/users/"+f.other+"/contact-methods", map[string]any{"type": "sms", "address": "+14155550124"}), "id")
	f.team = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": "Fixture team", "members": []any{map[string]any{"user_id": f.user}}}), "id")
	return f
}

// TestPeopleBadInput sends bad bodies to every people endpoint that takes
// one. Each must get {"error":{…}} naming the field, and change nothing.
func TestPeopleBadInput(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	f := newPeopleFixture(t, e)
	users := "/api/v1/users"
	user := users + "/" + f.user
	cms := user + "/contact-methods"
	rules := user + "/notification-rules"
	teams := "/api/v1/teams"
	team := teams + "/" + f.team
	members := team + "/members"
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`

	var cases []badCase
	for _, ep := range []struct{ name, method, path, base string }{
		{"create user", "POST", users, `{"name":"Never","email":"never@example.com","role":"viewer"}`},
		{"patch user", "PATCH", user, `{"name":"Never"}`},
		{"create contact method", "POST", cms, `{"type":"sms","address":"+14155550199"}`},
		{"create rule", "POST", rules, `{"contact_method_id":"` + f.cm + `","delay_minutes":7,"urgency":"low"}`},
		{"create team", "POST", teams, `{"name":"Never"}`},
		{"patch team", "PATCH", team, `{"description":"never"}`},
		{"add member", "POST", members, `{"user_id":"` + f.other + `"}`},
	} {
		for _, g := range []struct {
			name  string
			body  any
			code  klaxon.ErrorCode
			field string
		}{
			{"no body", nil, klaxon.EINVALID, "body"},
			{"empty body", "", klaxon.EINVALID, "body"},
			{"not JSON", "name=x", klaxon.EINVALID, "body"},
			{"truncated JSON", ep.base[:len(ep.base)-1], klaxon.EINVALID, "body"},
			{"array", "[" + ep.base + "]", klaxon.EINVALID, "body"},
			{"trailing garbage", ep.base + ` x`, klaxon.EINVALID, "body"},
			{"unknown field", `{"colour":"red",` + ep.base[1:], klaxon.EINVALID, "colour"},
			{"case of a field", `{"NAME":"x",` + ep.base[1:], klaxon.EINVALID, "NAME"},
			{"id is not settable", `{"id":"7",` + ep.base[1:], klaxon.EINVALID, "id"},
			{"over 64 KiB", big, klaxon.ETOOLARGE, ""},
		} {
			status := http.StatusBadRequest
			if g.code == klaxon.ETOOLARGE {
				status = http.StatusRequestEntityTooLarge
			}
			cases = append(cases, badCase{ep.name + "/" + g.name, ep.method, ep.path, g.body, status, g.code, g.field})
		}
	}
	bad := func(name, method, path string, body any, field string) badCase {
		return badCase{name, method, path, body, http.StatusBadRequest, klaxon.EINVALID, field}
	}
	user3 := func(extra string) string { return `{"name":"N","email":"n@example.com","role":"viewer"` + extra + `}` }
	cases = append(cases,
		// POST /api/v1/users
		bad("create user/name missing", "POST", users, `{"email":"n@example.com","role":"viewer"}`, "name"),
		bad("create user/name number", "POST", users, `{"name":1,"email":"n@example.com","role":"viewer"}`, "name"),
		bad("create user/name two lines", "POST", users, `{"name":"a\nb","email":"n@example.com","role":"viewer"}`, "name"),
		bad("create user/email missing", "POST", users, `{"name":"N","role":"viewer"}`, "email"),
		bad("create user/email number", "POST", users, `{"name":"N","email":5,"role":"viewer"}`, "email"),
		bad("create user/email no at", "POST", users, `{"name":"N","email":"n.example.com","role":"viewer"}`, "email"),
		bad("create user/email with display name", "POST", users, `{"name":"N","email":"N <n@example.com>","role":"viewer"}`, "email"),
		bad("create user/email with spaces", "POST", users, `{"name":"N","email":" n@example.com","role":"viewer"}`, "email"),
		bad("create user/role missing", "POST", users, `{"name":"N","email":"n@example.com"}`, "role"),
		bad("create user/role bogus", "POST", users, `{"name":"N","email":"n@example.com","role":"root"}`, "role"),
		bad("create user/role case", "POST", users, `{"name":"N","email":"n@example.com","role":"Admin"}`, "role"),
		bad("create user/role array", "POST", users, `{"name":"N","email":"n@example.com","role":["admin"]}`, "role"),
		bad("create user/time zone empty", "POST", users, user3(`,"time_zone":""`), "time_zone"),
		bad("create user/time zone Local", "POST", users, user3(`,"time_zone":"Local"`), "time_zone"),
		bad("create user/time zone unknown", "POST", users, user3(`,"time_zone":"Mars/Base"`), "time_zone"),
		bad("create user/time zone offset", "POST", users, user3(`,"time_zone":"+02:00"`), "time_zone"),
		bad("create user/time zone number", "POST", users, user3(`,"time_zone":2`), "time_zone"),
		bad("create user/warnings are not settable", "POST", users, user3(`,"warnings":[]`), "warnings"),
		badCase{"create user/duplicate email", "POST", users, `{"name":"Dup","email":"FIXTURE@example.com","role":"viewer"}`, http.StatusConflict, klaxon.ECONFLICT, "email"},
		// PATCH /api/v1/users/{id}
		bad("patch user/name empty", "PATCH", user, `{"name":""}`, "name"),
		bad("patch user/email bad", "PATCH", user, `{"email":"fixture"}`, "email"),
		bad("patch user/time zone empty", "PATCH", user, `{"time_zone":""}`, "time_zone"),
		bad("patch user/time zone Local", "PATCH", user, `{"time_zone":"Local"}`, "time_zone"),
		bad("patch user/role bogus", "PATCH", user, `{"role":"god"}`, "role"),
		bad("patch user/role number", "PATCH", user, `{"role":3}`, "role"),
		bad("patch user/valid and invalid", "PATCH", user, `{"name":"Renamed","time_zone":"Nowhere"}`, "time_zone"),
		badCase{"patch user/duplicate email", "PATCH", user, `{"email":"other@example.com"}`, http.StatusConflict, klaxon.ECONFLICT, "email"},
		// POST /api/v1/users/{id}/contact-methods
		bad("contact method/type missing", "POST", cms, `{"address":"+14155550199"}`, "type"),
		bad("contact method/type bogus", "POST", cms, `{"type":"pager","address":"+14155550199"}`, "type"),
		bad("contact method/type number", "POST", cms, `{"type":1,"address":"+14155550199"}`, "type"),
		bad("contact method/address missing", "POST", cms, `{"type":"sms"}`, "address"),
		bad("contact method/address number", "POST", cms, `{"type":"sms","address":14155550199}`, "address"),
		bad("contact method/sms without plus", "POST", cms, `{"type":"sms","address":"14155550199"}`, "address"),
		bad("contact method/sms too short", "POST", cms, `{"type":"sms","address":"+1415555"}`, "address"),
		bad("contact method/sms too long", "POST", cms, `{"type":"sms","address":"+1415555019912345"}`, "address"),
		bad("contact method/sms leading zero", "POST", cms, `{"type":"sms","address":"+04155550199"}`, "address"),
		bad("contact method/voice with spaces", "POST", cms, `{"type":"voice","address":"+1 415 555 0199"}`, "address"),
		bad("contact method/voice letters", "POST", cms, `{"type":"voice","address":"+1415CALLNOW"}`, "address"),
		bad("contact method/email bad", "POST", cms, `{"type":"email","address":"fixture@"}`, "address"),
		bad("contact method/email is a phone", "POST", cms, `{"type":"email","address":"+14155550199"}`, "address"),
		bad("contact method/webhook ftp", "POST", cms, `{"type":"webhook","address":"ftp://example.com/x"}`, "address"),
		bad("contact method/webhook no host", "POST", cms, `{"type":"webhook","address":"https:///x"}`, "address"),
		bad("contact method/webhook relative", "POST", cms, `{"type":"webhook","address":"/hooks/x"}`, "address"),
		bad("contact method/chat not a URL", "POST", cms, `{"type":"chat","address":"#incidents"}`, "address"),
		bad("contact method/chat javascript", "POST", cms, `{"type":"chat","address":"javascript:alert(1)"}`, "address"),
		bad("contact method/push not a URL", "POST", cms, `{"type":"push","address":"device-token-123"}`, "address"),
		bad("contact method/name two lines", "POST", cms, `{"type":"sms","address":"+14155550199","name":"a\nb"}`, "name"),
		bad("contact method/user_id is not settable", "POST", cms, `{"type":"sms","address":"+14155550199","user_id":"1"}`, "user_id"),
		badCase{"contact method/duplicate", "POST", cms, `{"type":"sms","address":"+14155550123"}`, http.StatusConflict, klaxon.ECONFLICT, "address"},
		// POST /api/v1/users/{id}/notification-rules
		bad("rule/contact method missing", "POST", rules, `{"urgency":"high"}`, "contact_method_id"),
		bad("rule/contact method number", "POST", rules, `{"contact_method_id":`+f.cm+`,"urgency":"high"}`, "contact_method_id"),
		bad("rule/contact method malformed", "POST", rules, `{"contact_method_id":"x1","urgency":"high"}`, "contact_method_id"),
		bad("rule/contact method unknown", "POST", rules, `{"contact_method_id":"99999999","urgency":"high"}`, "contact_method_id"),
		bad("rule/another user's contact method", "POST", rules, `{"contact_method_id":"`+f.otherCM+`","urgency":"high"}`, "contact_method_id"),
		bad("rule/urgency missing", "POST", rules, `{"contact_method_id":"`+f.cm+`"}`, "urgency"),
		bad("rule/urgency bogus", "POST", rules, `{"contact_method_id":"`+f.cm+`","urgency":"critical"}`, "urgency"),
		bad("rule/urgency case", "POST", rules, `{"contact_method_id":"`+f.cm+`","urgency":"HIGH"}`, "urgency"),
		bad("rule/delay negative", "POST", rules, `{"contact_method_id":"`+f.cm+`","delay_minutes":-1,"urgency":"high"}`, "delay_minutes"),
		bad("rule/delay over a day", "POST", rules, `{"contact_method_id":"`+f.cm+`","delay_minutes":1441,"urgency":"high"}`, "delay_minutes"),
		bad("rule/delay fraction", "POST", rules, `{"contact_method_id":"`+f.cm+`","delay_minutes":1.5,"urgency":"high"}`, "delay_minutes"),
		bad("rule/delay string", "POST", rules, `{"contact_method_id":"`+f.cm+`","delay_minutes":"5","urgency":"high"}`, "delay_minutes"),
		bad("rule/delay huge", "POST", rules, `{"contact_method_id":"`+f.cm+`","delay_minutes":1e99,"urgency":"high"}`, "delay_minutes"),
		// POST /api/v1/teams
		bad("create team/name missing", "POST", teams, `{"description":"d"}`, "name"),
		bad("create team/name number", "POST", teams, `{"name":7}`, "name"),
		bad("create team/description too long", "POST", teams, map[string]any{"name": "x", "description": strings.Repeat("d", 4097)}, "description"),
		bad("create team/members not an array", "POST", teams, `{"name":"x","members":"all"}`, "members"),
		bad("create team/member not an object", "POST", teams, `{"name":"x","members":["`+f.user+`"]}`, "members[0]"),
		bad("create team/member user missing", "POST", teams, `{"name":"x","members":[{"role":"member"}]}`, "members[0].user_id"),
		bad("create team/member user number", "POST", teams, `{"name":"x","members":[{"user_id":`+f.user+`}]}`, "members[0].user_id"),
		bad("create team/member user unknown", "POST", teams, `{"name":"x","members":[{"user_id":"`+f.user+`"},{"user_id":"99999999"}]}`, "members[1].user_id"),
		bad("create team/member twice", "POST", teams, `{"name":"x","members":[{"user_id":"`+f.user+`"},{"user_id":"`+f.user+`","role":"manager"}]}`, "members[1].user_id"),
		bad("create team/member role bogus", "POST", teams, `{"name":"x","members":[{"user_id":"`+f.user+`","role":"boss"}]}`, "members[0].role"),
		bad("create team/member unknown field", "POST", teams, `{"name":"x","members":[{"user_id":"`+f.user+`","rol":"manager"}]}`, "members[0].rol"),
		badCase{"create team/duplicate name", "POST", teams, `{"name":"Fixture team"}`, http.StatusConflict, klaxon.ECONFLICT, "name"},
		// PATCH /api/v1/teams/{id}
		bad("patch team/name empty", "PATCH", team, `{"name":" "}`, "name"),
		bad("patch team/members are not patched", "PATCH", team, `{"members":[]}`, "members"),
		// POST /api/v1/teams/{id}/members
		bad("add member/user missing", "POST", members, `{"role":"member"}`, "user_id"),
		bad("add member/user unknown", "POST", members, `{"user_id":"99999999"}`, "user_id"),
		bad("add member/user malformed", "POST", members, `{"user_id":"me"}`, "user_id"),
		bad("add member/role bogus", "POST", members, `{"user_id":"`+f.other+`","role":"owner"}`, "role"),
	)

	usersBefore := e.ok(t, http.StatusOK, "GET", users+"?limit=1000", nil)
	teamsBefore := e.ok(t, http.StatusOK, "GET", teams+"?limit=1000", nil)
	cmsBefore := e.ok(t, http.StatusOK, "GET", cms, nil)
	rulesBefore := e.ok(t, http.StatusOK, "GET", rules, nil)
	auditBefore := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(t, tc.method, tc.path, e.owner, tc.body), tc.status, tc.code, tc.field)
		})
	}
	for _, c := range []struct {
		what   string
		path   string
		before map[string]any
	}{
		{"users", users + "?limit=1000", usersBefore}, {"teams", teams + "?limit=1000", teamsBefore},
		{"contact methods", cms, cmsBefore}, {"rules", rules, rulesBefore},
	} {
		if got := e.ok(t, http.StatusOK, "GET", c.path, nil); fmt.Sprint(got) != fmt.Sprint(c.before) {
			t.Errorf("%s changed: %v → %v", c.what, c.before, got)
		}
	}
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries")); got != auditBefore {
		t.Errorf("refused requests were audited: %d → %d entries", auditBefore, got)
	}
}

// TestPeopleAuth checks every people endpoint without a token (401), with
// an unknown token (401), and with tokens of each role (403 below the role
// it needs).
func TestPeopleAuth(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	f := newPeopleFixture(t, e)
	tokens := map[klaxon.Role]string{klaxon.RoleOwner: e.owner}
	for _, role := range []klaxon.Role{klaxon.RoleViewer, klaxon.RoleResponder, klaxon.RoleAdmin} {
		_, tokens[role] = e.createToken(t, "people "+string(role), role)
	}
	n := 0
	fresh := func() string { n++; return fmt.Sprint(n) }
	for _, ep := range []struct {
		method, path string
		body         func() any
		need         klaxon.Role
		status       int
	}{
		{"GET", "/api/v1/users", nil, klaxon.RoleViewer, 200},
		{"GET", "/api/v1/users/" + f.user, nil, klaxon.RoleViewer, 200},
		{"GET", "/api/v1/users/" + f.user + "/contact-methods", nil, klaxon.RoleViewer, 200},
		{"GET", "/api/v1/users/" + f.user + "/notification-rules", nil, klaxon.RoleViewer, 200},
		{"GET", "/api/v1/teams", nil, klaxon.RoleViewer, 200},
		{"GET", "/api/v1/teams/" + f.team, nil, klaxon.RoleViewer, 200},
		{"POST", "/api/v1/users", func() any {
			i := fresh()
			return map[string]any{"name": "Auth " + i, "email": "auth" + i + "@example.com", "role": "viewer"}
		}, klaxon.RoleAdmin, 201},
		{"PATCH", "/api/v1/users/" + f.other, func() any { return map[string]any{"name": "Other " + fresh()} }, klaxon.RoleAdmin, 200},
		{"POST", "/api/v1/users/" + f.user + "/contact-methods", func() any {
			return map[string]any{"type": "email", "address": "auth" + fresh() + "@example.com"}
		}, klaxon.RoleAdmin, 201},
		{"POST", "/api/v1/users/" + f.user + "/notification-rules", func() any {
			fresh()
			return map[string]any{"contact_method_id": f.cm, "delay_minutes": 100 + n, "urgency": "low"}
		}, klaxon.RoleAdmin, 201},
		{"POST", "/api/v1/teams", func() any { return map[string]any{"name": "Auth team " + fresh()} }, klaxon.RoleAdmin, 201},
		{"PATCH", "/api/v1/teams/" + f.team, func() any { return map[string]any{"description": "d" + fresh()} }, klaxon.RoleAdmin, 200},
		{"POST", "/api/v1/teams/" + f.team + "/members", func() any { return map[string]any{"user_id": f.other} }, klaxon.RoleAdmin, 200},
		{"POST", "/api/v1/teams/" + f.team + "/members/" + f.other + "/remove", nil, klaxon.RoleAdmin, 0},
	} {
		name := ep.method + " " + ep.path
		t.Run(name, func(t *testing.T) {
			body := func() any {
				if ep.body == nil {
					return nil
				}
				return ep.body()
			}
			wantError(t, e.call(t, ep.method, ep.path, "", body()), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
			wantError(t, e.call(t, ep.method, ep.path, "klx_unknown", body()), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
			wantError(t, e.send(t, request{method: ep.method, path: ep.path, auth: "Basic " + e.owner, body: body()}), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
			for _, role := range []klaxon.Role{klaxon.RoleViewer, klaxon.RoleResponder, klaxon.RoleAdmin, klaxon.RoleOwner} {
				r := e.call(t, ep.method, ep.path, tokens[role], body())
				switch {
				case !role.Allows(ep.need):
					wantError(t, r, http.StatusForbidden, klaxon.EFORBIDDEN, "")
				case ep.status == 0: // removing a member: once, then 404
					if r.status != http.StatusOK && r.status != http.StatusNotFound {
						t.Errorf("%s as %s: %s", name, role, r)
					}
				case r.status != ep.status:
					t.Errorf("%s as %s: %s, want %d", name, role, r, ep.status)
				}
			}
		})
	}
}

// TestPeoplePathIDs checks that a malformed or unknown id in a path is 404
// on every people endpoint that takes one.
func TestPeoplePathIDs(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	f := newPeopleFixture(t, e)
	for _, id := range []string{"abc", "0", "-1", "1.5", "1e3", "0x10", "9223372036854775808", "99999999"} {
		for _, ep := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/users/ID", nil},
			{"PATCH", "/api/v1/users/ID", `{"name":"x"}`},
			{"GET", "/api/v1/users/ID/contact-methods", nil},
			{"POST", "/api/v1/users/ID/contact-methods", `{"type":"sms","address":"+14155550111"}`},
			{"GET", "/api/v1/users/ID/notification-rules", nil},
			{"POST", "/api/v1/users/ID/notification-rules", `{"contact_method_id":"` + f.cm + `","urgency":"high"}`},
			{"GET", "/api/v1/teams/ID", nil},
			{"PATCH", "/api/v1/teams/ID", `{"name":"x"}`},
			{"POST", "/api/v1/teams/ID/members", `{"user_id":"` + f.user + `"}`},
			{"POST", "/api/v1/teams/ID/members/" + f.user + "/remove", nil},
			{"POST", "/api/v1/teams/" + f.team + "/members/ID/remove", nil},
		} {
			path := strings.Replace(ep.path, "ID", id, 1)
			t.Run(ep.method+" "+path, func(t *testing.T) {
				wantError(t, e.call(t, ep.method, path, e.owner, ep.body), http.StatusNotFound, klaxon.ENOTFOUND, "")
			})
		}
	}
	// No hard deletes: DELETE is not a method of any people path.
	for _, path := range []string{"/api/v1/users/" + f.user, "/api/v1/teams/" + f.team, "/api/v1/users/" + f.user + "/contact-methods",
		"/api/v1/users/" + f.user + "/notification-rules"} {
		if r := e.call(t, "DELETE", path, e.owner, nil); r.status != http.StatusMethodNotAllowed {
			t.Errorf("DELETE %s: %s, want 405", path, r)
		}
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/teams/"+f.team, nil); len(list(t, got, "members")) != 1 {
		t.Errorf("team members changed: %v", got)
	}
}
