package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Maintenance windows, the notification logs and escalate-now: contract
// shapes, roles and bad input.
func TestMaintenanceWindowsAndNotificationLogs(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	svc := e.createService(t, "payments")
	base := "/api/v1/services/" + svc + "/maintenance-windows"
	now := time.Now().UTC()
	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }

	m := e.ok(t, http.StatusCreated, "POST", base, map[string]any{"start": rfc(-time.Minute), "end": rfc(time.Hour), "description": "db upgrade"})
	conforms(t, e, "MaintenanceWindow", m)
	if m["active"] != true || m["service_id"] != svc || m["description"] != "db upgrade" {
		t.Fatalf("window %v", m)
	}
	l := e.ok(t, http.StatusOK, "GET", base, nil)
	conforms(t, e, "MaintenanceWindowList", l)
	if got := list(t, l, "maintenance_windows"); len(got) != 1 {
		t.Fatalf("list %v", l)
	}
	ended := e.ok(t, http.StatusOK, "POST", base+"/"+str(t, m, "id")+"/end", nil)
	if ended["active"] != false {
		t.Fatalf("ended window %v", ended)
	}
	if got := list(t, e.ok(t, http.StatusOK, "GET", base, nil), "maintenance_windows"); len(got) != 0 {
		t.Fatalf("an ended window is still listed: %v", got)
	}

	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no start", map[string]any{"end": rfc(time.Hour)}, "start"},
		{"no end", map[string]any{"start": rfc(0)}, "end"},
		{"end before start", map[string]any{"start": rfc(time.Hour), "end": rfc(time.Minute)}, "end"},
		{"over a week", map[string]any{"start": rfc(0), "end": rfc(8 * 24 * time.Hour)}, "end"},
		{"in the past", map[string]any{"start": rfc(-2 * time.Hour), "end": rfc(-time.Hour)}, "end"},
		{"not a time", map[string]any{"start": "tomorrow", "end": rfc(time.Hour)}, "start"},
		{"wrong type", map[string]any{"start": 12, "end": rfc(time.Hour)}, "start"},
		{"unknown field", map[string]any{"start": rfc(0), "end": rfc(time.Hour), "services": []string{svc}}, "services"},
		{"long description", map[string]any{"start": rfc(0), "end": rfc(time.Hour), "description": strings.Repeat("x", 5000)}, "description"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", base, e.owner, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	wantError(t, e.call(t, "POST", "/api/v1/services/999/maintenance-windows", e.owner,
		map[string]any{"start": rfc(0), "end": rfc(time.Hour)}), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "POST", base+"/999/end", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "GET", "/api/v1/services/x/maintenance-windows", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	_, viewer := e.createToken(t, "viewer", klaxon.RoleViewer)
	wantError(t, e.call(t, "POST", base, viewer, map[string]any{"start": rfc(0), "end": rfc(time.Hour)}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	wantError(t, e.call(t, "GET", base, "", nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")

	// Notification logs of an alert and of a person; escalate-now.
	_, key := e.createIntegration(t, svc, "api")
	alert := e.trigger(t, key, "db-1", "disk full")
	n := e.ok(t, http.StatusOK, "GET", "/api/v1/alerts/"+alert+"/notifications", nil)
	conforms(t, e, "NotificationList", n)
	if got := list(t, n, "notifications"); len(got) != 0 {
		t.Fatalf("a service without a policy paged: %v", got)
	}
	wantError(t, e.call(t, "GET", "/api/v1/alerts/999/notifications", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "GET", "/api/v1/users/999/notifications", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "GET", "/api/v1/alerts/"+alert+"/notifications?limit=0", e.owner, nil), http.StatusBadRequest, klaxon.EINVALID, "limit")
	wantError(t, e.call(t, "POST", "/api/v1/alerts/"+alert+"/escalate", viewer, nil), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	esc := e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+alert+"/escalate", nil)
	conforms(t, e, "Alert", esc)
	e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+alert+"/acknowledge", nil)
	wantError(t, e.call(t, "POST", "/api/v1/alerts/"+alert+"/escalate", e.owner, nil), http.StatusConflict, klaxon.ECONFLICT, "")
	log := list(t, e.alert(t, alert), "log")
	if len(log) != 2 || log[0]["kind"] != "escalated" || log[1]["kind"] != "acknowledged" {
		t.Fatalf("alert log %v", log)
	}
}

// Push, chat and webhook addresses work as credentials: a viewer who is not
// their owner sees only scheme and host; the owner and admins see them.
func TestContactAddressesThatAreCredentialsAreHidden(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	user := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/users", map[string]any{"name": "Ada", "email": "ada@example.com", "role": "responder"}), "id")
	path := "/api/v1/users/" + user + "/contact-methods"
	e.ok(t, http.StatusCreated, "POST", path, map[string]any{"type": "chat", "address": "https://hooks.slack.com/services/T0/B0/secret"})
	e.ok(t, http.StatusCreated, "POST", path, map[string]any{"type": "email", "address": "ada@example.com"})
	_, viewer := e.createToken(t, "viewer", klaxon.RoleViewer)
	r := e.call(t, "GET", path, viewer, nil)
	got := list(t, r.obj(t), "contact_methods")
	if got[0]["address"] != "https://hooks.slack.com/…" || got[1]["address"] != "ada@example.com" {
		t.Fatalf("a viewer sees %v", got)
	}
	if strings.Contains(string(r.body), "secret") {
		t.Fatalf("the secret part leaked: %s", r.body)
	}
	if all := list(t, e.ok(t, http.StatusOK, "GET", path, nil), "contact_methods"); all[0]["address"] != "https://hooks.slack.com/services/T0/B0/secret" {
		t.Fatalf("an admin sees %v", all)
	}
}

// ack_timeout_minutes on services: 0 to 1440, an integer, on create and
// PATCH; anything else is a 400 naming it and changes nothing.
func TestServiceAckTimeoutBadInput(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	svc := e.ok(t, http.StatusCreated, "POST", "/api/v1/services", map[string]any{"name": "payments", "ack_timeout_minutes": 30})
	if svc["ack_timeout_minutes"] != float64(30) {
		t.Fatalf("created %v", svc)
	}
	path := "/api/v1/services/" + str(t, svc, "id")
	for _, bad := range []any{-1, 1441, "ten", 1.5, true} {
		wantError(t, e.call(t, "POST", "/api/v1/services", e.owner, map[string]any{"name": fmt.Sprint("x", bad), "ack_timeout_minutes": bad}),
			http.StatusBadRequest, klaxon.EINVALID, "ack_timeout_minutes")
		wantError(t, e.call(t, "PATCH", path, e.owner, map[string]any{"ack_timeout_minutes": bad}),
			http.StatusBadRequest, klaxon.EINVALID, "ack_timeout_minutes")
	}
	if got := e.ok(t, http.StatusOK, "GET", path, nil); got["ack_timeout_minutes"] != float64(30) {
		t.Fatalf("after refused patches %v", got)
	}
	if got := e.ok(t, http.StatusOK, "PATCH", path, map[string]any{"ack_timeout_minutes": 0}); got["ack_timeout_minutes"] != float64(0) {
		t.Fatalf("patched to 0 (never): %v", got)
	}
}
