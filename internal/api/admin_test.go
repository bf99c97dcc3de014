package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// badCase is one bad management request and the error it must get.
type badCase struct {
	name         string
	method, path string
	body         any
	status       int
	code         klaxon.ErrorCode
	field        string
}

// managementFixture is what the bad-input tests poke at.
type managementFixture struct {
	svc, otherSvc, integration, otherIntegration, key, alert, token string
}

func newManagementFixture(t *testing.T, e *env) managementFixture {
	var f managementFixture
	f.svc, f.key = e.serviceWithKey(t, "bad-input")
	f.integration = str(t, list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+f.svc+"/integrations", nil), "integrations")[0], "id")
	f.otherSvc = e.createService(t, "bad-input-other")
	f.otherIntegration, _ = e.createIntegration(t, f.otherSvc, "api")
	f.alert = e.trigger(t, f.key, "bad-input", "bad input alert")
	f.token, _ = e.createToken(t, "victim", "viewer")
	return f
}

// TestManagementBadInput sends bad bodies to every management endpoint that
// takes one. Each must get {"error":{…}} naming the field, and must change
// nothing.
func TestManagementBadInput(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	f := newManagementFixture(t, e)
	services := "/api/v1/services"
	service := "/api/v1/services/" + f.svc
	integrations := service + "/integrations"
	notes := "/api/v1/alerts/" + f.alert + "/notes"
	tokens := "/api/v1/tokens"
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`

	// Bodies that every decoding endpoint must refuse the same way; base is
	// a valid body for the endpoint.
	generic := func(base string) []struct {
		name  string
		body  any
		code  klaxon.ErrorCode
		field string
	} {
		return []struct {
			name  string
			body  any
			code  klaxon.ErrorCode
			field string
		}{
			{"no body", nil, klaxon.EINVALID, "body"},
			{"empty body", "", klaxon.EINVALID, "body"},
			{"whitespace body", " \n\t ", klaxon.EINVALID, "body"},
			{"not JSON", "name=checkout", klaxon.EINVALID, "body"},
			{"truncated JSON", base[:len(base)-1], klaxon.EINVALID, "body"},
			{"array", "[" + base + "]", klaxon.EINVALID, "body"},
			{"string", `"checkout"`, klaxon.EINVALID, "body"},
			{"number", `42`, klaxon.EINVALID, "body"},
			{"trailing garbage", base + ` trailing`, klaxon.EINVALID, "body"},
			{"two objects", base + base, klaxon.EINVALID, "body"},
			{"unknown field", `{"colour":"red",` + base[1:], klaxon.EINVALID, "colour"},
			{"unknown nested field", `{"extra":{"a":1},` + base[1:], klaxon.EINVALID, "extra"},
			{"over 64 KiB", big, klaxon.ETOOLARGE, ""},
		}
	}
	var cases []badCase
	for _, ep := range []struct{ name, method, path, base string }{
		{"create service", "POST", services, `{"name":"never-created"}`},
		{"patch service", "PATCH", service, `{"description":"never set"}`},
		{"create integration", "POST", integrations, `{"kind":"api"}`},
		{"note", "POST", notes, `{"body":"never noted"}`},
		{"create token", "POST", tokens, `{"name":"never","role":"viewer"}`},
	} {
		for _, g := range generic(ep.base) {
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
	cases = append(cases,
		// POST /api/v1/services
		bad("create service/name number", "POST", services, `{"name":5}`, "name"),
		bad("create service/name object", "POST", services, `{"name":{"a":1}}`, "name"),
		bad("create service/name missing", "POST", services, `{"description":"d"}`, "name"),
		bad("create service/name empty", "POST", services, `{"name":""}`, "name"),
		bad("create service/name blank", "POST", services, `{"name":"   "}`, "name"),
		bad("create service/name null", "POST", services, `{"name":null}`, "name"),
		bad("create service/name two lines", "POST", services, `{"name":"a\nb"}`, "name"),
		bad("create service/name too long", "POST", services, map[string]any{"name": strings.Repeat("n", 256)}, "name"),
		bad("create service/description array", "POST", services, `{"name":"x","description":["a"]}`, "description"),
		bad("create service/description bool", "POST", services, `{"name":"x","description":true}`, "description"),
		bad("create service/description too long", "POST", services, map[string]any{"name": "x", "description": strings.Repeat("d", 4097)}, "description"),
		bad("create service/state is not settable", "POST", services, `{"name":"x","state":"active"}`, "state"),
		bad("create service/id is not settable", "POST", services, `{"name":"x","id":"7"}`, "id"),
		badCase{"create service/duplicate name", "POST", services, `{"name":"bad-input"}`, http.StatusConflict, klaxon.ECONFLICT, "name"},
		// PATCH /api/v1/services/{id}
		bad("patch service/state bogus", "PATCH", service, `{"state":"bogus"}`, "state"),
		bad("patch service/state retired", "PATCH", service, `{"state":"retired"}`, "state"),
		bad("patch service/state purged", "PATCH", service, `{"state":"purged"}`, "state"),
		bad("patch service/state number", "PATCH", service, `{"state":1}`, "state"),
		bad("patch service/name number", "PATCH", service, `{"name":1}`, "name"),
		bad("patch service/name empty", "PATCH", service, `{"name":""}`, "name"),
		bad("patch service/description number", "PATCH", service, `{"description":1}`, "description"),
		bad("patch service/description too long", "PATCH", service, map[string]any{"description": strings.Repeat("d", 4097)}, "description"),
		bad("patch service/unknown field", "PATCH", service, `{"owner":"me"}`, "owner"),
		bad("patch service/valid and invalid", "PATCH", service, `{"name":"renamed","state":"bogus"}`, "state"),
		badCase{"patch service/duplicate name", "PATCH", service, `{"name":"bad-input-other"}`, http.StatusConflict, klaxon.ECONFLICT, "name"},
		// POST /api/v1/services/{id}/integrations
		bad("create integration/kind missing", "POST", integrations, `{}`, "kind"),
		bad("create integration/kind empty", "POST", integrations, `{"kind":""}`, "kind"),
		bad("create integration/kind bogus", "POST", integrations, `{"kind":"carrier-pigeon"}`, "kind"),
		bad("create integration/kind not yet available", "POST", integrations, `{"kind":"email"}`, "kind"),
		bad("create integration/kind number", "POST", integrations, `{"kind":1}`, "kind"),
		bad("create integration/kind case", "POST", integrations, `{"kind":"API"}`, "kind"),
		bad("create integration/name number", "POST", integrations, `{"kind":"api","name":1}`, "name"),
		bad("create integration/name two lines", "POST", integrations, `{"kind":"api","name":"a\r\nb"}`, "name"),
		bad("create integration/key is not settable", "POST", integrations, `{"kind":"api","key":"0123456789abcdef0123456789abcdef"}`, "key"),
		// POST /api/v1/alerts/{id}/notes
		bad("note/body missing", "POST", notes, `{}`, "body"),
		bad("note/body empty", "POST", notes, `{"body":""}`, "body"),
		bad("note/body blank", "POST", notes, `{"body":"  \n "}`, "body"),
		bad("note/body number", "POST", notes, `{"body":5}`, "body"),
		bad("note/body too long", "POST", notes, map[string]any{"body": strings.Repeat("é", 10001)}, "body"),
		bad("note/author is not settable", "POST", notes, `{"body":"x","author":"someone"}`, "author"),
		// POST /api/v1/tokens
		bad("create token/role missing", "POST", tokens, `{"name":"t"}`, "role"),
		bad("create token/role bogus", "POST", tokens, `{"name":"t","role":"god"}`, "role"),
		bad("create token/role case", "POST", tokens, `{"name":"t","role":"Viewer"}`, "role"),
		bad("create token/role number", "POST", tokens, `{"name":"t","role":4}`, "role"),
		bad("create token/name missing", "POST", tokens, `{"role":"viewer"}`, "name"),
		bad("create token/name number", "POST", tokens, `{"name":1,"role":"viewer"}`, "name"),
		bad("create token/name too long", "POST", tokens, map[string]any{"name": strings.Repeat("t", 256), "role": "viewer"}, "name"),
		bad("create token/token is not settable", "POST", tokens, `{"name":"t","role":"viewer","token":"klx_mine"}`, "token"),
	)

	servicesBefore := ids(t, list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/services", nil), "services"))
	tokensBefore := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/tokens", nil), "tokens"))
	auditBefore := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries"))
	before := e.totals(t, "")
	alertBefore := e.alert(t, f.alert)
	serviceBefore := e.ok(t, http.StatusOK, "GET", service, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(t, tc.method, tc.path, e.owner, tc.body)
			wantError(t, r, tc.status, tc.code, tc.field)
		})
	}
	// Nothing changed.
	if got := ids(t, list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/services", nil), "services")); !slices.Equal(got, servicesBefore) {
		t.Errorf("services changed: %v → %v", servicesBefore, got)
	}
	if got := e.ok(t, http.StatusOK, "GET", service, nil); fmt.Sprint(got) != fmt.Sprint(serviceBefore) {
		t.Errorf("service changed: %v → %v", serviceBefore, got)
	}
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", integrations, nil), "integrations")); got != 1 {
		t.Errorf("service has %d integrations, want 1", got)
	}
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/tokens", nil), "tokens")); got != tokensBefore {
		t.Errorf("tokens: %d → %d", tokensBefore, got)
	}
	if got := e.alert(t, f.alert); fmt.Sprint(got) != fmt.Sprint(alertBefore) {
		t.Errorf("alert changed: %v → %v", alertBefore, got)
	}
	if after := e.totals(t, ""); after != before {
		t.Errorf("alerts changed: %+v → %+v", before, after)
	}
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries")); got != auditBefore {
		t.Errorf("refused requests were audited: %d → %d entries", auditBefore, got)
	}
	// The key still works.
	e.trigger(t, f.key, "bad-input", "still here")
}

// TestManagementBodyLimit checks the 64 KiB bound exactly, with and without
// Content-Length.
func TestManagementBodyLimit(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	const limit = 64 << 10
	pad := func(name string, size int) string {
		b := `{"name":"` + name + `"}`
		return b + strings.Repeat(" ", size-len(b))
	}
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			body := func(s string) any {
				if chunked {
					return onlyReader{strings.NewReader(s)}
				}
				return s
			}
			name := fmt.Sprint("at-limit-", chunked)
			r := e.call(t, "POST", "/api/v1/services", e.owner, body(pad(name, limit)))
			if r.status != http.StatusCreated {
				t.Errorf("body of exactly 64 KiB: %s, want 201", r)
			}
			r = e.call(t, "POST", "/api/v1/services", e.owner, body(pad(name+"-over", limit+1)))
			wantError(t, r, http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")
		})
	}
}

// TestPathIDs checks that a malformed or unknown id in a path is 404 on
// every endpoint that takes one, before the body is looked at.
func TestPathIDs(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	f := newManagementFixture(t, e)
	before := e.totals(t, "")
	var cases []badCase
	// Malformed ids are 404 before the body is read; a well-formed unknown
	// id (99999999) is 404 when the body is valid.
	for _, id := range []string{"abc", "0", "-1", "1.5", "1e3", "0x10", "%20", "9223372036854775808", "99999999"} {
		for _, ep := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/services/ID", nil},
			{"PATCH", "/api/v1/services/ID", `{"description":"x"}`},
			{"PATCH", "/api/v1/services/ID", `not even JSON`},
			{"GET", "/api/v1/services/ID/integrations", nil},
			{"POST", "/api/v1/services/ID/integrations", `{"kind":"api"}`},
			{"POST", "/api/v1/services/ID/integrations/" + f.integration + "/rotate", nil},
			{"POST", "/api/v1/services/" + f.svc + "/integrations/ID/rotate", nil},
			{"GET", "/api/v1/alerts/ID", nil},
			{"POST", "/api/v1/alerts/ID/acknowledge", nil},
			{"POST", "/api/v1/alerts/ID/resolve", nil},
			{"POST", "/api/v1/alerts/ID/notes", `{"body":"x"}`},
			{"POST", "/api/v1/tokens/ID/revoke", nil},
		} {
			if id == "99999999" && ep.body == `not even JSON` {
				continue
			}
			path := strings.Replace(ep.path, "ID", id, 1)
			cases = append(cases, badCase{ep.method + " " + path, ep.method, path, ep.body, http.StatusNotFound, klaxon.ENOTFOUND, ""})
		}
	}
	// An integration of another service cannot be rotated through this one.
	cases = append(cases, badCase{"rotate other service's integration", "POST",
		"/api/v1/services/" + f.svc + "/integrations/" + f.otherIntegration + "/rotate", nil, http.StatusNotFound, klaxon.ENOTFOUND, ""})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(t, tc.method, tc.path, e.owner, tc.body), tc.status, tc.code, tc.field)
		})
	}
	if after := e.totals(t, ""); after != before {
		t.Errorf("alerts changed: %+v → %+v", before, after)
	}
	e.trigger(t, f.key, "path-ids", "key still works")
}

// TestQueryParams sends bad query parameters to every list endpoint.
func TestQueryParams(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	var cases []badCase
	for _, path := range []string{"/api/v1/services", "/api/v1/alerts", "/api/v1/change-events", "/api/v1/audit"} {
		for _, q := range []struct{ query, field string }{
			{"limit=0", "limit"},
			{"limit=-1", "limit"},
			{"limit=abc", "limit"},
			{"limit=1.5", "limit"},
			{"limit=1001", "limit"},
			{"limit=99999999999999999999", "limit"},
			{"cursor=-1", "cursor"},
			{"cursor=0", "cursor"},
			{"cursor=abc", "cursor"},
			{"cursor=1.5", "cursor"},
			{"limit=10&cursor=x", "cursor"},
		} {
			cases = append(cases, badCase{path + "?" + q.query, "GET", path + "?" + q.query, nil, http.StatusBadRequest, klaxon.EINVALID, q.field})
		}
	}
	for _, q := range []struct{ path, field string }{
		{"/api/v1/alerts?status=bogus", "status"},
		{"/api/v1/alerts?status=TRIGGERED", "status"},
		{"/api/v1/alerts?status=open", "status"},
		{"/api/v1/alerts?since=yesterday", "since"},
		{"/api/v1/alerts?since=2026-01-02", "since"},
		{"/api/v1/alerts?since=1700000000", "since"},
		{"/api/v1/alerts?service=x", "service"},
		{"/api/v1/alerts?service=0", "service"},
		{"/api/v1/alerts?service=-3", "service"},
		{"/api/v1/change-events?service=x", "service"},
		{"/api/v1/change-events?service=0", "service"},
	} {
		cases = append(cases, badCase{q.path, "GET", q.path, nil, http.StatusBadRequest, klaxon.EINVALID, q.field})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(t, tc.method, tc.path, e.owner, tc.body), tc.status, tc.code, tc.field)
		})
	}
	// The edges that are fine.
	for _, path := range []string{
		"/api/v1/services?limit=1", "/api/v1/services?limit=1000", "/api/v1/services?cursor=1",
		"/api/v1/alerts?since=2026-01-02T15:04:05%2B02:00", "/api/v1/alerts?since=2026-01-02T15:04:05.123456789Z",
		"/api/v1/alerts?status=acknowledged&service=12345", "/api/v1/audit?limit=1000&cursor=9223372036854775807",
	} {
		if r := e.call(t, "GET", path, e.owner, nil); r.status != http.StatusOK {
			t.Errorf("GET %s: %s, want 200", path, r)
		}
	}
}

// TestRoutes checks unknown paths (404) and wrong methods (405), both with a
// JSON error body.
func TestRoutes(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	for _, path := range []string{"/", "/api", "/api/v1", "/api/v1/nope", "/api/v2/summary.json", "/api/v1/services/", "/api/v1/services/1/bogus",
		"/api/v1/alerts/1/snooze", "/v2/nope", "/v1/enqueue", "/api/v1/events/batch/1", "/healthz/x"} {
		t.Run("404 "+path, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				r := e.call(t, method, path, e.owner, nil)
				wantError(t, r, http.StatusNotFound, klaxon.ENOTFOUND, "")
			}
		})
	}
	for _, rq := range []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/services", "GET, POST"},
		{"PUT", "/api/v1/services", "GET, POST"},
		{"DELETE", "/api/v1/services/1", "GET, PATCH"},
		{"PUT", "/api/v1/services/1", "GET, PATCH"},
		{"DELETE", "/api/v1/services/1/integrations", "GET, POST"},
		{"GET", "/api/v1/services/1/integrations/1/rotate", "POST"},
		{"GET", "/api/v1/events", "POST"},
		{"PUT", "/api/v1/events", "POST"},
		{"GET", "/api/v1/events/batch", "POST"},
		{"GET", "/v2/enqueue", "POST"},
		{"GET", "/v2/change/enqueue", "POST"},
		{"DELETE", "/api/v1/alerts/1", "GET"},
		{"GET", "/api/v1/alerts/1/acknowledge", "POST"},
		{"GET", "/api/v1/alerts/1/resolve", "POST"},
		{"GET", "/api/v1/alerts/1/notes", "POST"},
		{"POST", "/api/v1/alerts", "GET"},
		{"POST", "/api/v1/change-events", "GET"},
		{"DELETE", "/api/v1/tokens", "GET, POST"},
		{"GET", "/api/v1/tokens/1/revoke", "POST"},
		{"POST", "/api/v1/audit", "GET"},
		{"POST", "/healthz", "GET"},
		{"POST", "/readyz", "GET"},
		{"POST", "/metrics", "GET"},
		{"POST", "/api/v1/openapi.json", "GET"},
	} {
		t.Run("405 "+rq.method+" "+rq.path, func(t *testing.T) {
			r := e.call(t, rq.method, rq.path, e.owner, nil)
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("got %s, want 405", r)
				return
			}
			if got := r.header.Get("Allow"); !allowCovers(got, rq.allow) {
				t.Errorf("Allow %q, want it to list %s", got, rq.allow)
			}
			var m map[string]map[string]any
			if err := json.Unmarshal(r.body, &m); err != nil || m["error"]["code"] == nil || m["error"]["message"] == nil {
				t.Errorf("405 body is not a JSON error: %s", r)
			}
		})
	}
}

// allowCovers reports whether the Allow header lists every method in want.
func allowCovers(header, want string) bool {
	have := map[string]bool{}
	for _, m := range strings.Split(header, ",") {
		have[strings.TrimSpace(m)] = true
	}
	for _, m := range strings.Split(want, ",") {
		if !have[strings.TrimSpace(m)] {
			return false
		}
	}
	return true
}

// TestStrictDecodingTrailingData pins down trailing bytes that once slipped
// past decodeStrict.
func TestStrictDecodingTrailingData(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	for _, tc := range []struct{ name, body string }{
		// json.Decoder.More() is false when the next byte is '}' or ']', so
		// a check built on it lets these through.
		{"trailing brace", `{"name":"trailing-brace"}}`},
		{"trailing bracket", `{"name":"trailing-bracket"}]`},
		{"trailing brace and more", `{"name":"trailing-brace-more"}} {"x":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", "/api/v1/services", e.owner, tc.body), http.StatusBadRequest, klaxon.EINVALID, "body")
		})
	}
}
