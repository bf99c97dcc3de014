package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/chat"
	"github.com/klaxonhq/klaxon/internal/notify/email"
	"github.com/klaxonhq/klaxon/internal/notify/ntfy"
	"github.com/klaxonhq/klaxon/internal/notify/smsgateway"
	"github.com/klaxonhq/klaxon/internal/notify/twilio"
	"github.com/klaxonhq/klaxon/internal/notify/webhook"
)

// channelConfig is how the notification channels are reached: flags, each
// with a KLAXON_* environment variable. A channel left unconfigured is off,
// and a page for it falls over to the person's next contact method.
type channelConfig struct {
	smtpURL, smtpFrom string
	ntfyToken         string
	ntfyURL           string
	bundleWindow      time.Duration
	canaryInterval    time.Duration
	canaryTimeout     time.Duration

	// SMS and voice: a Twilio account, a generic HTTP SMS gateway, or both
	// (smsProvider picks the one that sends SMS; voice is Twilio's).
	twilioSID, twilioFrom, twilioBaseURL string
	twilioToken                          secretFlag
	smsProvider                          string
	gatewayURL, gatewayMethod            string
	gatewayBody, gatewayContentType      string
	gatewayIDField                       string
	gatewayHeaders                       headerFlag
}

func (c *channelConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.smtpURL, "smtp-url", envOr("KLAXON_SMTP_URL", ""), "SMTP server for email notifications: smtp://user:pass@host:587 (STARTTLS) or smtps://…:465 (env KLAXON_SMTP_URL)")
	fs.StringVar(&c.smtpFrom, "smtp-from", envOr("KLAXON_SMTP_FROM", ""), "sender of email notifications, e.g. \"Klaxon <klaxon@example.com>\" (env KLAXON_SMTP_FROM)")
	fs.StringVar(&c.ntfyToken, "ntfy-token", envOr("KLAXON_NTFY_TOKEN", ""), "access token for your ntfy server (--ntfy-url); empty publishes anonymously (env KLAXON_NTFY_TOKEN)")
	fs.StringVar(&c.ntfyURL, "ntfy-url", envOr("KLAXON_NTFY_URL", ""), "the ntfy server --ntfy-token belongs to, e.g. https://ntfy.example.com: the token is sent only to topics there (env KLAXON_NTFY_URL)")
	fs.DurationVar(&c.canaryInterval, "canary-interval", envDuration("KLAXON_CANARY_INTERVAL", 5*time.Minute), "how often the self-test sends a synthetic event through the whole path and expects a notification; 0 turns it off (env KLAXON_CANARY_INTERVAL)")
	fs.DurationVar(&c.canaryTimeout, "canary-timeout", envDuration("KLAXON_CANARY_TIMEOUT", 30*time.Second), "how long the self-test waits for its notification before failing /readyz and raising the alarm (env KLAXON_CANARY_TIMEOUT)")
	fs.DurationVar(&c.bundleWindow, "bundle-window", envDuration("KLAXON_BUNDLE_WINDOW", time.Minute), "after a page about a service, further pages about it to the same contact method wait this long and go out as one message; 0 or less sends each at once (env KLAXON_BUNDLE_WINDOW)")

	fs.StringVar(&c.twilioSID, "twilio-account-sid", envOr("KLAXON_TWILIO_ACCOUNT_SID", ""), "Twilio account SID (AC…) for SMS and voice contact methods (env KLAXON_TWILIO_ACCOUNT_SID)")
	c.twilioToken.v = envOr("KLAXON_TWILIO_AUTH_TOKEN", "")
	fs.Var(&c.twilioToken, "twilio-auth-token", "Twilio auth token; it also checks the signature of Twilio's callbacks. Prefer the environment: a flag shows in the process list (env KLAXON_TWILIO_AUTH_TOKEN)")
	fs.StringVar(&c.twilioFrom, "twilio-from", envOr("KLAXON_TWILIO_FROM", ""), "the Twilio number pages come from, E.164 such as +14155550100 (env KLAXON_TWILIO_FROM)")
	fs.StringVar(&c.twilioBaseURL, "twilio-base-url", envOr("KLAXON_TWILIO_BASE_URL", twilio.DefaultBaseURL), "Twilio's REST API (env KLAXON_TWILIO_BASE_URL)")
	fs.StringVar(&c.smsProvider, "sms-provider", envOr("KLAXON_SMS_PROVIDER", ""), "what sends SMS: twilio or gateway; default twilio when a Twilio account is configured, else gateway (env KLAXON_SMS_PROVIDER)")
	fs.StringVar(&c.gatewayURL, "sms-gateway-url", envOr("KLAXON_SMS_GATEWAY_URL", ""), "URL template of a generic HTTP SMS gateway, e.g. \"https://sms.example.com/send?to={{query .To}}&text={{query .Text}}\" (env KLAXON_SMS_GATEWAY_URL)")
	fs.StringVar(&c.gatewayMethod, "sms-gateway-method", envOr("KLAXON_SMS_GATEWAY_METHOD", "POST"), "HTTP method of the SMS gateway: GET, POST, PUT or PATCH (env KLAXON_SMS_GATEWAY_METHOD)")
	fs.StringVar(&c.gatewayBody, "sms-gateway-body", envOr("KLAXON_SMS_GATEWAY_BODY", ""), "body template of the SMS gateway request, e.g. {\"to\": {{json .To}}, \"text\": {{json .Text}}}; empty sends none (env KLAXON_SMS_GATEWAY_BODY)")
	fs.StringVar(&c.gatewayContentType, "sms-gateway-content-type", envOr("KLAXON_SMS_GATEWAY_CONTENT_TYPE", ""), "media type of the SMS gateway body, e.g. application/json (env KLAXON_SMS_GATEWAY_CONTENT_TYPE)")
	c.gatewayHeaders.setEnv(envOr("KLAXON_SMS_GATEWAY_HEADER", ""))
	fs.Var(&c.gatewayHeaders, "sms-gateway-header", "a header sent to the SMS gateway, \"Name: value\" (an API key); repeat for several. Values are secrets, never shown (env KLAXON_SMS_GATEWAY_HEADER, one per line)")
	fs.StringVar(&c.gatewayIDField, "sms-gateway-message-id-field", envOr("KLAXON_SMS_GATEWAY_MESSAGE_ID_FIELD", ""), "dotted path of the message id in the gateway's JSON answer, e.g. data.id (env KLAXON_SMS_GATEWAY_MESSAGE_ID_FIELD)")
}

// channels builds the configured notifiers. publicURL is where Twilio
// reaches this server with delivery reports and the keys pressed during
// calls. Errors name the setting, never a secret's value.
func (c *channelConfig) channels(publicURL string) (map[klaxon.ContactType]notify.Notifier, error) {
	out := map[klaxon.ContactType]notify.Notifier{}
	if err := c.phoneChannels(out, strings.TrimRight(publicURL, "/")); err != nil {
		return nil, err
	}
	if c.smtpURL != "" || c.smtpFrom != "" {
		s, err := email.New(email.Config{URL: c.smtpURL, From: c.smtpFrom})
		if err != nil {
			return nil, usageError{fmt.Sprintf("--smtp-url / --smtp-from (KLAXON_SMTP_URL / KLAXON_SMTP_FROM): %v", err)}
		}
		out[klaxon.ContactEmail] = s
	}
	// Push, chat and webhooks need no account: the address is the endpoint.
	push, err := ntfy.New(ntfy.Config{Token: c.ntfyToken, Server: c.ntfyURL})
	if err != nil {
		return nil, usageError{fmt.Sprintf("--ntfy-token / --ntfy-url (KLAXON_NTFY_TOKEN / KLAXON_NTFY_URL): %v", err)}
	}
	out[klaxon.ContactPush] = push
	if out[klaxon.ContactChat], err = chat.New(chat.Config{}); err != nil {
		return nil, err
	}
	if out[klaxon.ContactWebhook], err = webhook.New(webhook.Config{}); err != nil {
		return nil, err
	}
	return out, nil
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(envOr(name, "")); err == nil {
		return v
	}
	return def
}

// twilioConfigured reports whether any Twilio setting is given: then all
// that an account needs must be.
func (c *channelConfig) twilioConfigured() bool {
	return c.twilioSID != "" || c.twilioToken.v != "" || c.twilioFrom != ""
}

// twilioAuthToken is the token that checks Twilio's callbacks; empty when
// no Twilio account is configured, which turns the callback routes off.
func (c *channelConfig) twilioAuthToken() string {
	if !c.twilioConfigured() {
		return ""
	}
	return c.twilioToken.v
}

// phoneChannels adds the SMS and voice notifiers: Twilio's, and a generic
// gateway's for SMS when it is the chosen provider.
func (c *channelConfig) phoneChannels(out map[klaxon.ContactType]notify.Notifier, publicURL string) error {
	var tw *twilio.Client
	if c.twilioConfigured() {
		var err error
		tw, err = twilio.New(twilio.Config{AccountSID: c.twilioSID, AuthToken: c.twilioToken.v, From: c.twilioFrom,
			BaseURL: c.twilioBaseURL, StatusCallbackURL: publicURL + api.TwilioStatusPath, GatherURL: publicURL + api.TwilioVoicePath})
		if err != nil {
			return usageError{fmt.Sprintf("--twilio-account-sid / --twilio-auth-token / --twilio-from / --twilio-base-url (KLAXON_TWILIO_*): %v", err)}
		}
		out[klaxon.ContactVoice] = tw.Voice()
	}
	gatewayGiven := c.gatewayBody != "" || c.gatewayContentType != "" || c.gatewayIDField != "" || len(c.gatewayHeaders.headers) > 0
	if c.gatewayHeaders.err != nil {
		return usageError{fmt.Sprintf("--sms-gateway-header (KLAXON_SMS_GATEWAY_HEADER): %v", c.gatewayHeaders.err)}
	}
	if c.gatewayURL == "" && gatewayGiven {
		return usageError{"--sms-gateway-body, --sms-gateway-content-type, --sms-gateway-header and --sms-gateway-message-id-field need --sms-gateway-url (KLAXON_SMS_GATEWAY_URL)"}
	}
	provider := c.smsProvider
	if provider == "" {
		provider = "gateway"
		if tw != nil {
			provider = "twilio"
		}
	}
	switch provider {
	case "twilio":
		if tw == nil {
			return usageError{"--sms-provider twilio needs a Twilio account: --twilio-account-sid, --twilio-auth-token and --twilio-from (KLAXON_TWILIO_*)"}
		}
		out[klaxon.ContactSMS] = tw.SMS()
	case "gateway":
		if c.gatewayURL == "" {
			if c.smsProvider != "" {
				return usageError{"--sms-provider gateway needs --sms-gateway-url (KLAXON_SMS_GATEWAY_URL)"}
			}
			return nil // no SMS channel: SMS pages fall over to the next contact method
		}
		g, err := smsgateway.New(smsgateway.Config{URL: c.gatewayURL, Method: c.gatewayMethod, Body: c.gatewayBody,
			ContentType: c.gatewayContentType, Headers: c.gatewayHeaders.headers, MessageIDField: c.gatewayIDField})
		if err != nil {
			return usageError{fmt.Sprintf("--sms-gateway-* (KLAXON_SMS_GATEWAY_*): %v", err)}
		}
		out[klaxon.ContactSMS] = g
	default:
		return usageError{fmt.Sprintf("--sms-provider (KLAXON_SMS_PROVIDER) must be twilio or gateway, not %q", klaxon.Truncate(c.smsProvider, 40))}
	}
	return nil
}

// secretFlag is a flag whose value is a secret. It prints as empty, so that
// -h never shows a value that came from the environment.
type secretFlag struct{ v string }

func (f *secretFlag) String() string     { return "" }
func (f *secretFlag) Set(v string) error { f.v = v; return nil }

// headerFlag collects repeated "Name: value" headers. The environment's
// lines are the default; the first flag replaces them. It prints as empty:
// header values are API keys. A malformed header is reported when the
// channels are built, not by Set: the flag package would quote the value.
type headerFlag struct {
	headers  map[string]string
	fromFlag bool
	err      error
}

func (f *headerFlag) String() string { return "" }

func (f *headerFlag) Set(v string) error {
	if !f.fromFlag {
		f.headers, f.fromFlag, f.err = nil, true, nil
	}
	f.add(v)
	return nil
}

func (f *headerFlag) setEnv(v string) {
	for _, line := range strings.Split(v, "\n") {
		if strings.TrimSpace(line) != "" {
			f.add(line)
		}
	}
}

func (f *headerFlag) add(v string) {
	name, value, ok := strings.Cut(v, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" {
		if f.err == nil {
			f.err = errors.New(`a header must be written "Name: value"`) // v holds a secret: not shown
		}
		return
	}
	if f.headers == nil {
		f.headers = map[string]string{}
	}
	f.headers[name] = value
}
