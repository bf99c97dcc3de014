package smsgateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/notifytest"
)

// The same rows as every HTTP channel's table of answers. One row differs
// from Twilio's by design: a 2xx with a body that is not the expected JSON
// is a success without an id, because a generic gateway's answer format is
// its own and sending again would page twice.
var answerTable = []struct {
	name       string
	status     int
	retryAfter string
	body       string
	wantErr    bool
	permanent  bool
	wantDelay  time.Duration
	wantID     string
}{
	{name: "201 created", status: 201, body: `{"data":{"id":"msg-9"}}`, wantID: "msg-9"},
	{name: "400 invalid number", status: 400, wantErr: true, permanent: true, body: `{"error":"invalid number"}`},
	{name: "401 bad key", status: 401, wantErr: true, permanent: true, body: `{"error":"bad key Bearer ` + secretKey + `"}`},
	{name: "404 wrong URL", status: 404, wantErr: true, permanent: true, body: "not found"},
	{name: "408 timeout", status: 408, wantErr: true},
	{name: "429 with Retry-After", status: 429, retryAfter: "7", wantErr: true, wantDelay: 7 * time.Second},
	{name: "500 internal error", status: 500, wantErr: true},
	{name: "503 unavailable", status: 503, retryAfter: "3", wantErr: true, wantDelay: 3 * time.Second},
	{name: "201 with garbage", status: 201, body: "<html>oops</html>"},
	{name: "200 without the id field", status: 200, body: `{"status":"queued"}`},
}

func TestAnswers(t *testing.T) {
	for _, tt := range answerTable {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			rec.handle = func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}
			rcpt, err := mustNew(t, jsonConfig(rec.srv.URL)).Notify(context.Background(), alertMessage())
			if !tt.wantErr {
				if err != nil || rcpt.ProviderID != tt.wantID {
					t.Fatalf("Notify = %+v, %v; want ProviderID %q", rcpt, err, tt.wantID)
				}
				return
			}
			var ne *notify.Error
			if !errors.As(err, &ne) {
				t.Fatalf("Notify error %v is not a *notify.Error", err)
			}
			if got := notify.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			if d, _ := notify.RetryAfterOf(err); d != tt.wantDelay {
				t.Errorf("RetryAfter = %v, want %v", d, tt.wantDelay)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Errorf("error %q shows the API key", err)
			}
		})
	}
}

func TestStalledGatewayHonoursDeadline(t *testing.T) {
	rec := newRecorder(t)
	rec.handle = notifytest.StalledHandler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := mustNew(t, jsonConfig(rec.srv.URL)).Notify(ctx, alertMessage())
	notifytest.WantDeadline(t, "Notify", err, time.Since(start), 2*time.Second)
}
