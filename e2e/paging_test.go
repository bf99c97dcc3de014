package e2e

// Helpers for the paging tests (notify_test.go): a person, schedule, policy
// and service to page, the notification log, and response links.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// startMailServer starts a harness.MailServer on a free loopback port,
// closed when the test ends.
func startMailServer(t *testing.T) *harness.MailServer {
	t.Helper()
	m, err := harness.StartMailServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// mailArgs are the serve flags that send email through m, unbundled.
func mailArgs(m *harness.MailServer) []string {
	return []string{"--smtp-url", m.URL(), "--smtp-from", "Klaxon <klaxon@example.com>", "--bundle-window", "0"}
}

// pagingSetup is what setUpPaging made: one person with an email contact
// method and a high-urgency rule, on call on a schedule that is step 1 of
// the policy of service "payments-api", and the service's integration key.
type pagingSetup struct {
	email, userID, contactID, scheduleID, policyID, serviceID, key string
}

func setUpPaging(t *testing.T, srv *harness.Server, email string) pagingSetup {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	do := func(path string, in any) string {
		t.Helper()
		var out struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		if err := srv.Do(ctx, "POST", path, in, &out); err != nil {
			t.Fatalf("setting up paging: %v", err)
		}
		if out.Key != "" {
			return out.Key
		}
		return out.ID
	}
	p := pagingSetup{email: email}
	name := strings.ToUpper(email[:1]) + email[1:strings.Index(email, "@")]
	p.userID = do("/api/v1/users", map[string]any{"name": name + " Tester", "email": email, "role": "responder"})
	p.contactID = do("/api/v1/users/"+p.userID+"/contact-methods", map[string]any{"type": "email", "address": email})
	do("/api/v1/users/"+p.userID+"/notification-rules", map[string]any{"contact_method_id": p.contactID, "delay_minutes": 0, "urgency": "high"})
	p.scheduleID = do("/api/v1/schedules", map[string]any{"name": "Primary", "time_zone": "UTC", "layers": []any{map[string]any{
		"name": "Everyone", "start": "2026-01-05T00:00", "rotation": map[string]any{"unit": "day", "every": 1}, "users": []string{p.userID}}}})
	p.policyID = do("/api/v1/escalation-policies", map[string]any{"name": "Payments", "steps": []any{
		map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "schedule", "id": p.scheduleID}}},
		map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "user", "id": p.userID}}},
	}})
	p.serviceID = do("/api/v1/services", map[string]any{"name": "payments-api", "escalation_policy_id": p.policyID})
	p.key = do("/api/v1/services/"+p.serviceID+"/integrations", map[string]any{"kind": "api"})
	return p
}

// notificationJSON is a notification as the API lists it.
type notificationJSON struct {
	ID              string     `json:"id"`
	AlertID         string     `json:"alert_id"`
	UserID          string     `json:"user_id"`
	ContactMethodID string     `json:"contact_method_id"`
	Type            string     `json:"type"`
	Kind            string     `json:"kind"`
	Step            string     `json:"step"`
	Status          string     `json:"status"`
	Reason          string     `json:"reason"`
	Attempts        int        `json:"attempts"`
	LastError       string     `json:"last_error"`
	ProviderID      string     `json:"provider_id"`
	DueAt           time.Time  `json:"due_at"`
	SentAt          *time.Time `json:"sent_at"`
}

func notifications(t *testing.T, srv *harness.Server, alertID int64) []notificationJSON {
	t.Helper()
	var out struct {
		Notifications []notificationJSON `json:"notifications"`
	}
	getJSON(t, srv, fmt.Sprintf("/api/v1/alerts/%d/notifications", alertID), &out)
	return out.Notifications
}

// alertWithLog is an alert as GET /api/v1/alerts/{id} shows it, with its
// log.
type alertWithLog struct {
	Status string `json:"status"`
	Log    []struct {
		Kind    string `json:"kind"`
		Actor   string `json:"actor"`
		Message string `json:"message"`
	} `json:"log"`
}

func alertState(t *testing.T, srv *harness.Server, id int64) alertWithLog {
	t.Helper()
	var a alertWithLog
	getJSON(t, srv, fmt.Sprintf("/api/v1/alerts/%d", id), &a)
	return a
}

func logEntry(a alertWithLog, kind string) (e struct{ Kind, Actor, Message string }, ok bool) {
	for _, l := range a.Log {
		if l.Kind == kind {
			return struct{ Kind, Actor, Message string }{l.Kind, l.Actor, l.Message}, true
		}
	}
	return e, false
}

func parseMail(t *testing.T, m harness.Mail) harness.Email {
	t.Helper()
	e, err := m.Parse()
	if err != nil {
		t.Fatalf("%v\n%s", err, m.Data)
	}
	return e
}

// responseLink finds "<label>: <url>" in an email's text part.
func responseLink(t *testing.T, text, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + label + `:\s+(\S+)\s*$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %q link in the email text:\n%s", label, text)
	}
	return m[1]
}

// splitLink cuts a response link into its base (up to and with "/r/") and
// its token.
func splitLink(t *testing.T, link string) (base, token string) {
	t.Helper()
	i := strings.LastIndex(link, "/r/")
	if i < 0 {
		t.Fatalf("link %q has no /r/", link)
	}
	return link[:i+3], link[i+3:]
}

// fetch sends a request with no body and no redirects and returns the
// status and body.
func fetch(t *testing.T, method, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls check every 50 ms (a page re-rendered in the
// background, a job recorded by the engine) until it passes, and fails the
// test with check's last answer when within has passed.
func eventually(t *testing.T, what string, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor is eventually for a condition with nothing to say while it does
// not hold.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	eventually(t, what, timeout, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("timed out after %s", timeout)
	})
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// changeChar replaces the character at i with another of the base64url
// alphabet.
func changeChar(s string, i int) string {
	j := strings.IndexByte(base64URLAlphabet, s[i])
	c := base64URLAlphabet[(j+1)%len(base64URLAlphabet)]
	return s[:i] + string(c) + s[i+1:]
}

// reencode spells unpadded base64url s differently without changing the
// bytes it decodes to, by setting an unused low bit of its last character;
// false when s has no unused bits.
func reencode(s string) (string, bool) {
	unused := (6 * len(s)) % 8 // bits of the last character past the last byte
	if unused == 0 {
		return "", false
	}
	last := strings.IndexByte(base64URLAlphabet, s[len(s)-1])
	return s[:len(s)-1] + string(base64URLAlphabet[last|1]), last&1 == 0
}
