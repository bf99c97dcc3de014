package chat

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// Flavor is the kind of chat server behind an incoming-webhook URL: each
// wants its own JSON.
type Flavor string

// The flavours.
const (
	// Slack takes Block Kit blocks with a text fallback.
	Slack Flavor = "slack"
	// Mattermost takes Slack's older format: text, username, attachments.
	// Rocket.Chat, Zulip's Slack-compatible endpoint and other
	// "Slack-compatible" servers take it too, which is why an unknown host
	// is sent this format.
	Mattermost Flavor = "mattermost"
	// Teams is a Microsoft Teams Workflows ("When a Teams webhook request
	// is received") webhook, which takes an Adaptive Card in a message.
	Teams Flavor = "teams"
)

// Address is a chat contact method's address taken apart: the flavour and
// the webhook URL to POST to (without any flavour prefix).
type Address struct {
	Flavor Flavor
	URL    string
}

// ParseAddress reads a chat contact method's address, which is the
// channel's incoming-webhook URL, and decides which flavour it is.
//
// The rule, in order:
//
//  1. An explicit prefix wins: "slack+https://…", "mattermost+https://…",
//     "teams+https://…" (or "+http://" for a server on a private network).
//     Use it for a self-hosted server, or a proxy, whose host says nothing.
//  2. Without a prefix, the host decides: hooks.slack.com is Slack; a host
//     ending in .webhook.office.com, .logic.azure.com or .powerplatform.com
//     is Teams (Workflows and the older connector URLs both take Adaptive
//     Cards).
//  3. Any other host is Mattermost, which speaks the Slack-compatible
//     format that most self-hosted chat servers accept.
//
// The URL must be http or https with a host, and carry no user name or
// password and no fragment; a query is allowed (Teams Workflows URLs sign
// themselves with one). Errors are klaxon field errors on "address" that
// never repeat the address: a webhook URL is a credential, anyone who has
// it can post to the channel.
func ParseAddress(addr string) (Address, error) {
	switch {
	case addr == "":
		return Address{}, bad("is required")
	case len(addr) > klaxon.MaxURLLength:
		return Address{}, bad("is too long for a URL")
	case !utf8.ValidString(addr) || strings.ContainsFunc(addr, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return Address{}, bad("must be a URL without spaces or control characters")
	}
	var flavor Flavor
	raw := addr
	if scheme, rest, ok := strings.Cut(addr, "://"); ok {
		if name, transport, ok := strings.Cut(strings.ToLower(scheme), "+"); ok {
			switch Flavor(name) {
			case Slack, Mattermost, Teams:
				flavor = Flavor(name)
			default:
				return Address{}, bad("has an unknown prefix; use slack+, mattermost+ or teams+ before https://")
			}
			raw = transport + "://" + rest
		}
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Opaque != "", u.Host == "", u.Hostname() == "":
		return Address{}, bad("must be the channel's incoming-webhook URL, http or https, such as https://hooks.slack.com/services/…")
	case u.User != nil:
		return Address{}, bad("must not contain a user name or password")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return Address{}, bad("must not have a fragment")
	}
	if flavor == "" {
		flavor = detect(u.Hostname())
	}
	return Address{Flavor: flavor, URL: raw}, nil
}

// detect picks the flavour of an unprefixed URL from its host.
func detect(host string) Flavor {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case host == "hooks.slack.com":
		return Slack
	case strings.HasSuffix(host, ".webhook.office.com"),
		strings.HasSuffix(host, ".logic.azure.com"),
		strings.HasSuffix(host, ".powerplatform.com"):
		return Teams
	}
	return Mattermost
}

func bad(msg string) error { return klaxon.FieldError("address", "%s", msg) }
