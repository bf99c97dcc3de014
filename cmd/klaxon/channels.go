package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/chat"
	"github.com/klaxonhq/klaxon/internal/notify/email"
	"github.com/klaxonhq/klaxon/internal/notify/ntfy"
	"github.com/klaxonhq/klaxon/internal/notify/webhook"
)

// channelConfig is how the notification channels are reached: flags, each
// with a KLAXON_* environment variable. A channel left unconfigured is off,
// and a page for it falls over to the person's next contact method.
type channelConfig struct {
	smtpURL, smtpFrom string
	ntfyToken         string
	bundleWindow      time.Duration
}

func (c *channelConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.smtpURL, "smtp-url", envOr("KLAXON_SMTP_URL", ""), "SMTP server for email notifications: smtp://user:pass@host:587 (STARTTLS) or smtps://…:465 (env KLAXON_SMTP_URL)")
	fs.StringVar(&c.smtpFrom, "smtp-from", envOr("KLAXON_SMTP_FROM", ""), "sender of email notifications, e.g. \"Klaxon <klaxon@example.com>\" (env KLAXON_SMTP_FROM)")
	fs.StringVar(&c.ntfyToken, "ntfy-token", envOr("KLAXON_NTFY_TOKEN", ""), "access token for the ntfy server of push contact methods; empty publishes anonymously (env KLAXON_NTFY_TOKEN)")
	fs.DurationVar(&c.bundleWindow, "bundle-window", envDuration("KLAXON_BUNDLE_WINDOW", time.Minute), "after a page about a service, further pages about it to the same contact method wait this long and go out as one message; 0 or less sends each at once (env KLAXON_BUNDLE_WINDOW)")
}

// channels builds the configured notifiers. Errors name the setting.
func (c *channelConfig) channels() (map[klaxon.ContactType]notify.Notifier, error) {
	out := map[klaxon.ContactType]notify.Notifier{}
	if c.smtpURL != "" || c.smtpFrom != "" {
		s, err := email.New(email.Config{URL: c.smtpURL, From: c.smtpFrom})
		if err != nil {
			return nil, usageError{fmt.Sprintf("--smtp-url / --smtp-from (KLAXON_SMTP_URL / KLAXON_SMTP_FROM): %v", err)}
		}
		out[klaxon.ContactEmail] = s
	}
	// Push, chat and webhooks need no account: the address is the endpoint.
	push, err := ntfy.New(ntfy.Config{Token: c.ntfyToken})
	if err != nil {
		return nil, usageError{fmt.Sprintf("--ntfy-token (KLAXON_NTFY_TOKEN): %v", err)}
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
