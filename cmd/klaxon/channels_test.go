package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/fake"
	"github.com/klaxonhq/klaxon/internal/notify/smsgateway"
	"github.com/klaxonhq/klaxon/internal/notify/twilio"
)

const testPublicURL = "https://klaxon.example.com/"

func parseServe(t *testing.T, args ...string) serveConfig {
	t.Helper()
	c, err := serveFlags(args, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("serve %q: %v", args, err)
	}
	return c
}

var page = notify.Message{IdempotencyKey: "k1", Kind: notify.KindAlert, Service: "payments",
	To:     notify.Recipient{Address: "+14155550100"},
	Alerts: []notify.Alert{{ID: 9, Number: 1, Summary: "disk full", Severity: klaxon.SeverityCritical}}}

func TestTwilioChannelsFromTheEnvironment(t *testing.T) {
	tw := fake.NewTwilio(t)
	t.Setenv("KLAXON_TWILIO_ACCOUNT_SID", tw.SID)
	t.Setenv("KLAXON_TWILIO_AUTH_TOKEN", tw.Token)
	t.Setenv("KLAXON_TWILIO_FROM", tw.From)
	t.Setenv("KLAXON_TWILIO_BASE_URL", tw.URL)
	c := parseServe(t)
	chans, err := c.channels.channels(testPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	if c.channels.twilioAuthToken() != tw.Token {
		t.Error("the API is not given the auth token to check callbacks with")
	}
	if _, ok := chans[klaxon.ContactSMS].(*twilio.SMS); !ok {
		t.Fatalf("sms channel %T, want Twilio's", chans[klaxon.ContactSMS])
	}
	if _, err := chans[klaxon.ContactSMS].Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if _, err := chans[klaxon.ContactVoice].Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if got := tw.Messages()[0].Form.Get("StatusCallback"); got != "https://klaxon.example.com/providers/twilio/status" {
		t.Errorf("message StatusCallback %q", got)
	}
	if got := tw.Calls()[0].Form.Get("Twiml"); !strings.Contains(got, `action="https://klaxon.example.com/providers/twilio/voice?n=k1"`) {
		t.Errorf("call script %s", got)
	}

	// -h never shows the token the environment gave.
	var help bytes.Buffer
	if _, err := serveFlags([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if strings.Contains(help.String(), tw.Token) || !strings.Contains(help.String(), "-twilio-auth-token") {
		t.Errorf("help shows the token, or not the flag:\n%s", help.String())
	}
}

func TestSMSGatewayChannel(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b.String())
		mu.Unlock()
		w.Write([]byte(`{"data":{"id":"gw-1"}}`))
	}))
	defer srv.Close()
	t.Setenv("KLAXON_SMS_GATEWAY_HEADER", "X-Api-Key: secret-key-1\nX-Team: ops")
	c := parseServe(t, "--sms-gateway-url", srv.URL+"/send", "--sms-gateway-body", `{"to":{{json .To}},"text":{{json .Text}}}`,
		"--sms-gateway-content-type", "application/json", "--sms-gateway-message-id-field", "data.id")
	chans, err := c.channels.channels(testPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := chans[klaxon.ContactSMS].(*smsgateway.Gateway); !ok {
		t.Fatalf("sms channel %T, want the gateway", chans[klaxon.ContactSMS])
	}
	if chans[klaxon.ContactVoice] != nil || c.channels.twilioAuthToken() != "" {
		t.Error("voice, or Twilio's callbacks, without a Twilio account")
	}
	r, err := chans[klaxon.ContactSMS].Notify(context.Background(), page)
	if err != nil || r.ProviderID != "gw-1" {
		t.Fatalf("notify: %+v %v", r, err)
	}
	if got[0].Header.Get("X-Api-Key") != "secret-key-1" || got[0].Header.Get("X-Team") != "ops" || !strings.Contains(bodies[0], `"to":"+14155550100"`) {
		t.Errorf("gateway got %v %s", got[0].Header, bodies[0])
	}
	// A header flag replaces the environment's.
	c = parseServe(t, "--sms-gateway-url", srv.URL+"/send", "--sms-gateway-header", "Authorization: Bearer abc")
	if h := c.channels.gatewayHeaders.headers; len(h) != 1 || h["Authorization"] != "Bearer abc" {
		t.Errorf("headers %v", h)
	}
}

func TestPhoneChannelMistakes(t *testing.T) {
	tw := fake.NewTwilio(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"twilio without a token", []string{"--twilio-account-sid", tw.SID, "--twilio-from", tw.From}, "AuthToken"},
		{"a bad SID", []string{"--twilio-account-sid", "nope", "--twilio-auth-token", tw.Token, "--twilio-from", tw.From}, "AccountSID"},
		{"twilio provider without an account", []string{"--sms-provider", "twilio"}, "needs a Twilio account"},
		{"gateway provider without a URL", []string{"--sms-provider", "gateway"}, "needs --sms-gateway-url"},
		{"an unknown provider", []string{"--sms-provider", "pigeon"}, "must be twilio or gateway"},
		{"gateway settings without a URL", []string{"--sms-gateway-body", "x"}, "need --sms-gateway-url"},
		{"a malformed header", []string{"--sms-gateway-url", "https://sms.example.com/send", "--sms-gateway-header", "no-colon-" + tw.Token}, "Name: value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := serveFlags(tc.args, &bytes.Buffer{})
			if err == nil {
				_, err = c.channels.channels(testPublicURL)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tw.Token) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	// Without any SMS settings there is no SMS channel, and no error.
	c := parseServe(t)
	chans, err := c.channels.channels(testPublicURL)
	if err != nil || chans[klaxon.ContactSMS] != nil || chans[klaxon.ContactVoice] != nil {
		t.Fatalf("no settings: %v %v", chans, err)
	}
}
