package api_test

import (
	"testing"

	"github.com/klaxonhq/klaxon"
)

// Management bodies match keys exactly: encoding/json alone would take
// "NAME" for "name" and let a repeated key silently win.
func TestManagementKeysExact(t *testing.T) {
	e := sqliteEnv(t)
	for _, tc := range []struct {
		name, body, field string
	}{
		{"other case", `{"NAME":"z"}`, "NAME"},
		{"repeated", `{"name":"a","name":"b"}`, "name"},
		{"repeated in another case", `{"name":"a","Name":"b"}`, "Name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(t, "POST", "/api/v1/services", e.owner, tc.body)
			wantError(t, r, 400, klaxon.EINVALID, tc.field)
		})
	}
	if got := e.ok(t, 200, "GET", "/api/v1/services", nil); len(list(t, got, "services")) != 0 {
		t.Fatalf("a service was created: %v", got)
	}
}

// A batch with no valid event carries the error object every error has,
// beside its per-event results.
func TestBatchAllInvalidHasErrorObject(t *testing.T) {
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "svc")
	r := e.batch(t, key, []map[string]any{{"action": "bogus"}, {"summary": 3}})
	if r.status != 400 {
		t.Fatalf("got %s, want 400", r)
	}
	m := r.obj(t)
	errObj, ok := m["error"].(map[string]any)
	if !ok || errObj["code"] != string(klaxon.EINVALID) || errObj["message"] == "" {
		t.Fatalf("no error object: %s", r)
	}
	if len(list(t, m, "results")) != 2 {
		t.Fatalf("results missing: %s", r)
	}
}

// When the database is gone, senders are told to retry (503 with
// Retry-After), not that Klaxon is broken (500).
func TestDatabaseDownIsRetryable(t *testing.T) {
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "svc")
	_, viewer := e.createToken(t, "late", klaxon.RoleViewer)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	// Creating an integration does not fill the key cache, so this lookup
	// reaches the closed database.
	r := e.event(t, key, map[string]any{"action": "trigger", "summary": "s", "severity": "info"})
	wantError(t, r, 503, klaxon.EUNAVAILABLE, "")
	wantRetryAfter(t, r)
	r = e.call(t, "GET", "/api/v1/services", viewer, nil)
	wantError(t, r, 503, klaxon.EUNAVAILABLE, "")
}
