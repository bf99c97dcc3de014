package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

func testSubscriptionSecret(id int64) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("subscription secret %d", id)))
	return sum[:]
}

// Webhook subscriptions: shapes, the secret shown once, enable and disable,
// the deliveries an alert makes, roles and bad input.
func TestWebhookSubscriptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite, store.Options{}, api.Config{WebhookSubscriptionSecret: testSubscriptionSecret})
	_, key := e.serviceWithKey(t, "payments")
	other := e.createService(t, "search")

	all := e.ok(t, http.StatusCreated, "POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/klaxon?token=abc",
		"events": []string{"alert.resolved", "alert.triggered"}, "description": "tickets"})
	conforms(t, e, "Webhook", all)
	id := str(t, all, "id")
	n, _ := strconv.ParseInt(id, 10, 64)
	if all["signing_secret"] != hex.EncodeToString(testSubscriptionSecret(n)) || all["service_id"] != nil || all["enabled"] != true ||
		all["disabled_at"] != nil || all["description"] != "tickets" || all["url"] != "https://hooks.example.com/klaxon?token=abc" {
		t.Fatalf("created %v", all)
	}
	if evs := all["events"].([]any); len(evs) != 2 || evs[0] != "alert.triggered" || evs[1] != "alert.resolved" {
		t.Errorf("events %v, want lifecycle order", evs)
	}
	scoped := e.ok(t, http.StatusCreated, "POST", "/api/v1/webhooks", map[string]any{"url": "http://10.0.0.5:8080/hook",
		"service_id": other, "events": []string{"alert.escalated"}})
	conforms(t, e, "Webhook", scoped)
	if scoped["service_id"] != other {
		t.Fatalf("scoped %v", scoped)
	}

	l := e.ok(t, http.StatusOK, "GET", "/api/v1/webhooks", nil)
	conforms(t, e, "WebhookList", l)
	hooks := list(t, l, "webhooks")
	if len(hooks) != 2 || hooks[0]["id"] != scoped["id"] || hooks[1]["id"] != id {
		t.Fatalf("list %v", l)
	}
	page := e.ok(t, http.StatusOK, "GET", "/api/v1/webhooks?limit=1", nil)
	if len(list(t, page, "webhooks")) != 1 || page["next_cursor"] != scoped["id"] {
		t.Fatalf("first page %v", page)
	}
	got := e.ok(t, http.StatusOK, "GET", "/api/v1/webhooks/"+id, nil)
	conforms(t, e, "Webhook", got)
	for _, m := range append(hooks, got) {
		if _, ok := m["signing_secret"]; ok {
			t.Errorf("the secret is shown again: %v", m)
		}
	}

	// An alert on the service: one delivery per event it wants.
	alert := e.trigger(t, key, "db-1", "disk full")
	e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+alert+"/acknowledge", nil) // not wanted
	e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+alert+"/resolve", nil)
	d := e.ok(t, http.StatusOK, "GET", "/api/v1/webhooks/"+id+"/deliveries", nil)
	conforms(t, e, "WebhookDeliveryList", d)
	ds := list(t, d, "deliveries")
	if len(ds) != 2 || ds[0]["event"] != "alert.resolved" || ds[1]["event"] != "alert.triggered" || ds[1]["alert_id"] != alert ||
		ds[1]["webhook_id"] != id || ds[1]["status"] != "pending" || ds[1]["delivery_id"] == "" || ds[1]["attempts"] != 0.0 {
		t.Fatalf("deliveries %v", ds)
	}
	if d := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/webhooks/"+str(t, scoped, "id")+"/deliveries", nil), "deliveries"); len(d) != 0 {
		t.Fatalf("another service's subscription got %v", d)
	}
	if ns := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/alerts/"+alert+"/notifications", nil), "notifications"); len(ns) != 0 {
		t.Fatalf("the alert's notifications list its webhook deliveries: %v", ns)
	}

	off := e.ok(t, http.StatusOK, "POST", "/api/v1/webhooks/"+id+"/disable", nil)
	conforms(t, e, "Webhook", off)
	if off["enabled"] != false || off["disabled_at"] == nil {
		t.Fatalf("disabled %v", off)
	}
	for _, d := range list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/webhooks/"+id+"/deliveries", nil), "deliveries") {
		if d["status"] != "suppressed" || d["reason"] != klaxon.ReasonWebhookDisabled {
			t.Errorf("pending delivery after disabling: %v", d)
		}
	}
	e.trigger(t, key, "db-2", "disk full again")
	if ds := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/webhooks/"+id+"/deliveries", nil), "deliveries"); len(ds) != 2 {
		t.Fatalf("a disabled subscription got a delivery: %v", ds)
	}
	on := e.ok(t, http.StatusOK, "POST", "/api/v1/webhooks/"+id+"/enable", nil)
	if on["enabled"] != true || on["disabled_at"] != nil {
		t.Fatalf("enabled %v", on)
	}

	// Roles: admin only, even to read (a URL may hold the receiver's token).
	_, viewer := e.createToken(t, "viewer", klaxon.RoleViewer)
	_, responder := e.createToken(t, "responder", klaxon.RoleResponder)
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/webhooks"}, {"POST", "/api/v1/webhooks"}, {"GET", "/api/v1/webhooks/" + id},
		{"POST", "/api/v1/webhooks/" + id + "/disable"}, {"POST", "/api/v1/webhooks/" + id + "/enable"},
		{"GET", "/api/v1/webhooks/" + id + "/deliveries"},
	} {
		for _, token := range []string{viewer, responder} {
			wantError(t, e.call(t, r.method, r.path, token, map[string]any{}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
		}
		wantError(t, e.call(t, r.method, r.path, "", nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
	}
	_, admin := e.createToken(t, "admin", klaxon.RoleAdmin)
	if r := e.call(t, "GET", "/api/v1/webhooks/"+id, admin, nil); r.status != http.StatusOK {
		t.Errorf("admin: %s", r)
	}

	// Bad input.
	good := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"url": "https://hooks.example.com/x", "events": []string{"alert.triggered"}}
		edit(m)
		return m
	}
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"missing url", good(func(m map[string]any) { delete(m, "url") }), "url"},
		{"url not a string", good(func(m map[string]any) { m["url"] = 12 }), "url"},
		{"url not http", good(func(m map[string]any) { m["url"] = "ftp://example.com/x" }), "url"},
		{"url with a password", good(func(m map[string]any) { m["url"] = "https://u:p@example.com/x" }), "url"},
		{"url too long", good(func(m map[string]any) { m["url"] = "https://example.com/" + strings.Repeat("x", 2100) }), "url"},
		{"missing events", good(func(m map[string]any) { delete(m, "events") }), "events"},
		{"no events", good(func(m map[string]any) { m["events"] = []string{} }), "events"},
		{"events not a list", good(func(m map[string]any) { m["events"] = "alert.triggered" }), "events"},
		{"event not a string", good(func(m map[string]any) { m["events"] = []any{"alert.triggered", 3} }), "events[1]"},
		{"unknown event", good(func(m map[string]any) { m["events"] = []string{"alert.triggered", "incident.triggered"} }), "events[1]"},
		{"event twice", good(func(m map[string]any) { m["events"] = []string{"alert.resolved", "alert.resolved"} }), "events[1]"},
		{"unknown service", good(func(m map[string]any) { m["service_id"] = "999" }), "service_id"},
		{"bad service id", good(func(m map[string]any) { m["service_id"] = "payments" }), "service_id"},
		{"service id a number", good(func(m map[string]any) { m["service_id"] = 1 }), "service_id"},
		{"description not a string", good(func(m map[string]any) { m["description"] = true }), "description"},
		{"unknown field", good(func(m map[string]any) { m["secret"] = "mine" }), "secret"},
		{"not an object", `["https://hooks.example.com/x"]`, "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", "/api/v1/webhooks", e.owner, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	big := good(func(m map[string]any) { m["description"] = strings.Repeat("x", 70<<10) })
	wantError(t, e.call(t, "POST", "/api/v1/webhooks", e.owner, big), http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/webhooks/999"}, {"GET", "/api/v1/webhooks/x"}, {"POST", "/api/v1/webhooks/999/disable"},
		{"POST", "/api/v1/webhooks/999/enable"}, {"GET", "/api/v1/webhooks/999/deliveries"},
	} {
		wantError(t, e.call(t, r.method, r.path, e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	}
	wantError(t, e.call(t, "GET", "/api/v1/webhooks/"+id+"/deliveries?limit=0", e.owner, nil), http.StatusBadRequest, klaxon.EINVALID, "limit")
	if r := e.call(t, "DELETE", "/api/v1/webhooks/"+id, e.owner, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %s, want 405: subscriptions are disabled, not deleted", r)
	}
}
