package chat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/notifytest"
)

type answer struct {
	status      int
	contentType string
	retryAfter  string
	location    string
	body        string
}

type want int

const (
	ok want = iota
	retry
	permanent
)

// TestAnswers is the table of each service's answers and what the engine
// is told: delivered, retry (after what the service asked), or give up and
// fail over.
func TestAnswers(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		prefix     string
		answer     answer
		want       want
		retryAfter time.Duration
	}{
		// Slack: 200 "ok"; documented errors are 400 invalid_payload,
		// 403 action_prohibited, 404 channel_not_found, 410
		// channel_is_archived, 500 rollup_error.
		{"Slack ok", "slack+", answer{200, "text/html", "", "", "ok"}, ok, 0},
		{"Slack ok with a newline", "slack+", answer{200, "text/html", "", "", "ok\n"}, ok, 0},
		{"Slack 200 with a web page", "slack+", answer{200, "text/html", "", "", "<!DOCTYPE html><title>Sign in</title>"}, permanent, 0},
		{"Slack 200 with JSON", "slack+", answer{200, "application/json", "", "", `{"ok":false}`}, permanent, 0},
		{"Slack 200 empty", "slack+", answer{200, "text/html", "", "", ""}, permanent, 0},
		{"Slack invalid_payload", "slack+", answer{400, "text/html", "", "", "invalid_payload"}, permanent, 0},
		{"Slack invalid_blocks", "slack+", answer{400, "text/html", "", "", "invalid_blocks"}, permanent, 0},
		{"Slack action_prohibited", "slack+", answer{403, "text/html", "", "", "action_prohibited"}, permanent, 0},
		{"Slack channel_not_found", "slack+", answer{404, "text/html", "", "", "channel_not_found"}, permanent, 0},
		{"Slack no_service", "slack+", answer{404, "text/html", "", "", "no_service"}, permanent, 0},
		{"Slack channel_is_archived", "slack+", answer{410, "text/html", "", "", "channel_is_archived"}, permanent, 0},
		{"Slack rate limited", "slack+", answer{429, "text/html", "30", "", "rate_limited"}, retry, 30 * time.Second},
		{"Slack rollup_error", "slack+", answer{500, "text/html", "", "", "rollup_error"}, retry, 0},
		{"Slack unavailable", "slack+", answer{503, "text/html", now.Add(90 * time.Second).Format(time.RFC1123), "", ""}, retry, 90 * time.Second},
		{"Slack redirect is not followed", "slack+", answer{302, "", "", "https://elsewhere.example/", ""}, permanent, 0},

		// Mattermost: 200 "ok"; errors are JSON AppErrors. Other
		// Slack-compatible servers answer 2xx with other bodies.
		{"Mattermost ok", "mattermost+", answer{200, "text/plain", "", "", "ok"}, ok, 0},
		{"Slack-compatible server answering JSON", "mattermost+", answer{200, "application/json", "", "", `{"success":true}`}, ok, 0},
		{"Mattermost 200 with a web page", "mattermost+", answer{200, "text/html", "", "", "\n<html><body>login</body></html>"}, permanent, 0},
		{"Mattermost parse error", "mattermost+", answer{400, "application/json", "", "", `{"id":"web.incoming_webhook.parse.app_error","status_code":400}`}, permanent, 0},
		{"Mattermost webhook deleted", "mattermost+", answer{400, "application/json", "", "", `{"id":"web.incoming_webhook.invalid.app_error","status_code":400}`}, permanent, 0},
		{"Mattermost webhooks disabled", "mattermost+", answer{501, "application/json", "", "", `{"id":"web.incoming_webhook.disabled.app_error","status_code":501}`}, retry, 0},
		{"Mattermost rate limited", "mattermost+", answer{429, "text/plain", "5", "", "limit exceeded"}, retry, 5 * time.Second},

		// Teams Workflows: 202 Accepted (some flows 200); Logic Apps
		// errors are JSON objects.
		{"Teams accepted", "teams+", answer{202, "", "", "", ""}, ok, 0},
		{"Teams 200", "teams+", answer{200, "application/json", "", "", ""}, ok, 0},
		{"Teams 200 with a web page", "teams+", answer{200, "text/html", "", "", "<!doctype html><p>Sign in to your account"}, permanent, 0},
		{"Teams bad card", "teams+", answer{400, "application/json", "", "", `{"error":{"code":"TriggerInputSchemaMismatch","message":"The input body for trigger 'manual' of type 'Request' did not match its schema definition."}}`}, permanent, 0},
		{"Teams bad signature", "teams+", answer{401, "application/json", "", "", `{"error":{"code":"DirectApiInvalidAuthorizationSignature","message":"The provided authorization token is not valid."}}`}, permanent, 0},
		{"Teams flow deleted", "teams+", answer{404, "application/json", "", "", `{"error":{"code":"WorkflowNotFound","message":"The workflow was not found."}}`}, permanent, 0},
		{"Teams throttled", "teams+", answer{429, "application/json", "60", "", `{"error":{"code":"WorkflowRequestsThrottled"}}`}, retry, time.Minute},
		{"Teams gateway timeout", "teams+", answer{504, "", "", "", ""}, retry, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.answer.contentType != "" {
					w.Header().Set("Content-Type", tc.answer.contentType)
				}
				if tc.answer.retryAfter != "" {
					w.Header().Set("Retry-After", tc.answer.retryAfter)
				}
				if tc.answer.location != "" {
					w.Header().Set("Location", tc.answer.location)
				}
				w.WriteHeader(tc.answer.status)
				w.Write([]byte(tc.answer.body))
			}))
			defer srv.Close()
			c, _ := New(Config{Now: func() time.Time { return now }})
			m := alertMessage(tc.prefix+srv.URL+"/hooks/webhooksecret", diskFull)
			_, err := c.Notify(t.Context(), m)
			switch {
			case tc.want == ok && err != nil:
				t.Fatalf("Notify: %v", err)
			case tc.want == ok:
				return
			}
			notifytest.WantFailure(t, err, tc.want == permanent, tc.retryAfter, "webhooksecret")
		})
	}
}

func TestNotifyHonoursDeadline(t *testing.T) {
	srv := notifytest.StalledServer(t)
	c, _ := New(Config{})
	for _, prefix := range []string{"slack+", "mattermost+", "teams+"} {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		start := time.Now()
		_, err := c.Notify(ctx, alertMessage(prefix+srv.URL+"/hooks/stalledsecret", diskFull))
		cancel()
		notifytest.WantDeadline(t, prefix, err, time.Since(start), 5*time.Second, "stalledsecret")
	}
}

func TestNotifyUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := "slack+" + srv.URL + "/services/T/B/gonesecret"
	srv.Close()
	c, _ := New(Config{})
	_, err := c.Notify(t.Context(), alertMessage(addr, diskFull))
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "gonesecret") {
		t.Fatalf("err = %v, want a retryable error that does not leak the URL", err)
	}
}

func TestNotifyRefusesBadMessages(t *testing.T) {
	c, _ := New(Config{})
	for name, m := range map[string]notify.Message{
		"bad address":           alertMessage("ftp://hooks.slack.com/x", diskFull),
		"no alerts":             alertMessage("https://hooks.slack.com/x"),
		"verification, no code": {Kind: notify.KindVerification, To: notify.Recipient{Address: "https://hooks.slack.com/x"}},
		"unknown kind":          {Kind: "fax", To: notify.Recipient{Address: "https://hooks.slack.com/x"}},
	} {
		if _, err := c.Notify(t.Context(), m); !notify.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
		}
	}
}
