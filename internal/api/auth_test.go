package api_test

import (
	"net/http"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// TestAPITokenAuth checks API-token authentication on every management
// endpoint: no token, unknown, revoked, malformed headers and integration
// keys are all 401 with the JSON error body, and change nothing.
func TestAPITokenAuth(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	f := newManagementFixture(t, e)
	revokedID, revoked := e.createToken(t, "revoked", "owner")
	e.ok(t, http.StatusOK, "POST", "/api/v1/tokens/"+revokedID+"/revoke", nil)
	before := e.totals(t, "")
	auditBefore := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries"))

	endpoints := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/services", nil},
		{"POST", "/api/v1/services", `{"name":"nope"}`},
		{"GET", "/api/v1/services/" + f.svc, nil},
		{"PATCH", "/api/v1/services/" + f.svc, `{"state":"deprecated"}`},
		{"GET", "/api/v1/services/" + f.svc + "/integrations", nil},
		{"POST", "/api/v1/services/" + f.svc + "/integrations", `{"kind":"api"}`},
		{"POST", "/api/v1/services/" + f.svc + "/integrations/" + f.integration + "/rotate", nil},
		{"GET", "/api/v1/alerts", nil},
		{"GET", "/api/v1/alerts/" + f.alert, nil},
		{"POST", "/api/v1/alerts/" + f.alert + "/acknowledge", nil},
		{"POST", "/api/v1/alerts/" + f.alert + "/resolve", nil},
		{"POST", "/api/v1/alerts/" + f.alert + "/notes", `{"body":"x"}`},
		{"GET", "/api/v1/change-events", nil},
		{"GET", "/api/v1/tokens", nil},
		{"POST", "/api/v1/tokens", `{"name":"x","role":"owner"}`},
		{"POST", "/api/v1/tokens/" + f.token + "/revoke", nil},
		{"GET", "/api/v1/audit", nil},
		// Malformed ids and bad bodies do not leak past authentication.
		{"GET", "/api/v1/services/abc", nil},
		{"POST", "/api/v1/services", `not JSON`},
	}
	auths := []struct{ name, header string }{
		{"no header", ""},
		{"empty bearer", "Bearer "},
		{"bearer only", "Bearer"},
		{"unknown token", "Bearer klx_000000000000000000000000000000000000000000000000"},
		{"revoked token", "Bearer " + revoked},
		{"basic auth", "Basic " + e.owner},
		{"token without scheme", e.owner},
		{"integration key", "Bearer " + f.key},
		{"token with suffix", "Bearer " + e.owner + "x"},
		{"token prefix only", "Bearer " + e.owner[:len(e.owner)-1]},
	}
	for _, ep := range endpoints {
		for _, a := range auths {
			t.Run(ep.method+" "+ep.path+"/"+a.name, func(t *testing.T) {
				r := e.send(t, request{method: ep.method, path: ep.path, auth: a.header, body: ep.body})
				wantError(t, r, http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
			})
		}
	}
	// ?key= is for event senders only.
	r := e.send(t, request{method: "GET", path: "/api/v1/services?key=" + e.owner})
	wantError(t, r, http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")

	if after := e.totals(t, ""); after != before {
		t.Errorf("alerts changed: %+v → %+v", before, after)
	}
	if a := e.alert(t, f.alert); a["status"] != "triggered" {
		t.Errorf("alert moved: %v", a)
	}
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries")); got != auditBefore {
		t.Errorf("audit entries %d → %d", auditBefore, got)
	}
	if s := e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+f.svc, nil); s["state"] != "active" {
		t.Errorf("service changed: %v", s)
	}
}

// TestRoleEscalation checks that no token can mint a stronger one, and that
// refused requests change nothing.
func TestRoleEscalation(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, admin := e.createToken(t, "admin", "admin")
	_, responder := e.createToken(t, "responder", "responder")
	_, viewer := e.createToken(t, "viewer", "viewer")
	svc, key := e.serviceWithKey(t, "roles")
	alert := e.trigger(t, key, "roles", "roles")
	tokensBefore := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/tokens", nil), "tokens"))
	ownerID, secondOwnerID := "", ""
	for _, tk := range list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/tokens", nil), "tokens") {
		if tk["name"] == "bootstrap" {
			ownerID = str(t, tk, "id")
		}
	}
	secondOwnerID, secondOwner := e.createToken(t, "second owner", "owner")
	tokensBefore++

	for _, tc := range []struct {
		name, token, method, path string
		body                      any
	}{
		{"admin creates owner", admin, "POST", "/api/v1/tokens", `{"name":"x","role":"owner"}`},
		{"responder creates viewer", responder, "POST", "/api/v1/tokens", `{"name":"x","role":"viewer"}`},
		{"viewer creates viewer", viewer, "POST", "/api/v1/tokens", `{"name":"x","role":"viewer"}`},
		{"responder creates service", responder, "POST", "/api/v1/services", `{"name":"nope"}`},
		{"responder patches service", responder, "PATCH", "/api/v1/services/" + svc, `{"state":"deprecated"}`},
		{"viewer acknowledges", viewer, "POST", "/api/v1/alerts/" + alert + "/acknowledge", nil},
		{"viewer resolves", viewer, "POST", "/api/v1/alerts/" + alert + "/resolve", nil},
		{"viewer notes", viewer, "POST", "/api/v1/alerts/" + alert + "/notes", `{"body":"x"}`},
		{"viewer lists tokens", viewer, "GET", "/api/v1/tokens", nil},
		{"viewer reads audit", viewer, "GET", "/api/v1/audit", nil},
		{"responder reads audit", responder, "GET", "/api/v1/audit", nil},
		{"responder rotates key", responder, "POST", "/api/v1/services/" + svc + "/integrations/1/rotate", nil},
		{"admin revokes owner", admin, "POST", "/api/v1/tokens/" + ownerID + "/revoke", nil},
		{"admin revokes second owner", admin, "POST", "/api/v1/tokens/" + secondOwnerID + "/revoke", nil},
		{"responder revokes a token", responder, "POST", "/api/v1/tokens/" + ownerID + "/revoke", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(t, tc.method, tc.path, tc.token, tc.body), http.StatusForbidden, klaxon.EFORBIDDEN, "")
		})
	}
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/tokens", nil), "tokens")); got != tokensBefore {
		t.Errorf("tokens %d → %d", tokensBefore, got)
	}
	if a := e.alert(t, alert); a["status"] != "triggered" || len(list(t, a, "notes")) != 0 {
		t.Errorf("alert changed: %v", a)
	}
	if s := e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+svc, nil); s["state"] != "active" {
		t.Errorf("service changed: %v", s)
	}
	// The key still works: a refused rotation did not rotate; the owners
	// were not locked out.
	e.trigger(t, key, "roles", "still works")
	for _, tok := range []string{e.owner, secondOwner} {
		if r := e.call(t, "GET", "/api/v1/audit", tok, nil); r.status != http.StatusOK {
			t.Errorf("owner token after refused revocations: %s", r)
		}
	}
	// An owner may revoke another owner.
	if r := e.call(t, "POST", "/api/v1/tokens/"+secondOwnerID+"/revoke", e.owner, nil); r.status != http.StatusOK {
		t.Errorf("owner revokes owner: %s", r)
	}

	// An admin may mint admins; a token created by an admin works at once.
	m := e.call(t, "POST", "/api/v1/tokens", admin, `{"name":"second admin","role":"admin"}`)
	if m.status != http.StatusCreated {
		t.Fatalf("admin creates admin: %s", m)
	}
	if r := e.call(t, "GET", "/api/v1/audit", str(t, m.obj(t), "token"), nil); r.status != http.StatusOK {
		t.Errorf("new admin token: %s", r)
	}
	// A revoked admin token is refused at once, even though it was just used.
	if r := e.call(t, "POST", "/api/v1/tokens/"+str(t, m.obj(t), "id")+"/revoke", admin, nil); r.status != http.StatusOK {
		t.Fatalf("revoke: %s", r)
	}
	wantError(t, e.call(t, "GET", "/api/v1/audit", str(t, m.obj(t), "token"), nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
	// A token may revoke itself, and is then refused.
	selfID, self := e.createToken(t, "self", "admin")
	if r := e.call(t, "POST", "/api/v1/tokens/"+selfID+"/revoke", self, nil); r.status != http.StatusOK {
		t.Fatalf("self-revoke: %s", r)
	}
	wantError(t, e.call(t, "GET", "/api/v1/services", self, nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
}
