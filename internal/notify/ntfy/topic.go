package ntfy

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// MaxTopicLength is the longest topic name an ntfy server accepts: its
// topic rule is 1 to 64 of A-Z, a-z, 0-9, '-' and '_'.
const MaxTopicLength = 64

// Topic is a push contact method's address taken apart: the ntfy server to
// publish to and the topic on it that the person's phone subscribes to.
type Topic struct {
	// Server is the server's base URL, scheme and host (with port), without
	// a trailing slash: "https://ntfy.sh". JSON messages are POSTed to
	// Server + "/".
	Server string
	// Name is the topic name: "klaxon-alice".
	Name string
}

// URL is the topic URL the person entered, rebuilt: Server + "/" + Name.
func (t Topic) URL() string { return t.Server + "/" + t.Name }

// ParseTopicURL checks a push address such as "https://ntfy.sh/klaxon-alice"
// or "http://ntfy.internal:8080/oncall" and splits it into server and topic.
//
// It is strict on purpose, because a wrong address pages no one: the URL
// must be http or https with a host, carry no user name or password
// (credentials belong in the channel's configuration, not in an address
// shown in the console), no query, no fragment and no percent-escapes, and
// its path must be exactly one segment that is a valid ntfy topic name.
//
// Errors are klaxon field errors on "address" that say what is wrong
// without repeating the address: on an anonymous server the topic name is
// the only thing keeping strangers out, so it stays out of logs.
func ParseTopicURL(addr string) (Topic, error) {
	switch {
	case addr == "":
		return Topic{}, bad("is required")
	case len(addr) > klaxon.MaxURLLength:
		return Topic{}, bad("is too long for a URL")
	case !utf8.ValidString(addr) || strings.ContainsFunc(addr, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return Topic{}, bad("must be a URL without spaces or control characters")
	case strings.ContainsAny(addr, "%#?"):
		return Topic{}, bad("must not contain a query, a fragment or percent-escapes; a topic URL is a server and a topic name")
	}
	u, err := url.Parse(addr)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Opaque != "", u.Host == "", u.Hostname() == "":
		return Topic{}, bad("must be an http or https topic URL such as https://ntfy.sh/my-topic")
	case u.User != nil:
		return Topic{}, bad("must not contain a user name or password; set ntfy credentials in the server configuration")
	}
	name, _ := strings.CutPrefix(u.Path, "/")
	switch {
	case name == "":
		return Topic{}, bad("must name a topic after the server, such as https://ntfy.sh/my-topic")
	case strings.Contains(name, "/"):
		return Topic{}, bad("must be the server followed by one topic name, such as https://ntfy.sh/my-topic")
	case !ValidTopicName(name):
		return Topic{}, bad("must end in a topic name of 1 to 64 letters, digits, '-' or '_'")
	}
	return Topic{Server: u.Scheme + "://" + u.Host, Name: name}, nil
}

// ValidTopicName reports whether name is a topic an ntfy server accepts:
// 1 to 64 of A-Z, a-z, 0-9, '-' and '_' (the server's own topic rule).
func ValidTopicName(name string) bool {
	if name == "" || len(name) > MaxTopicLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func bad(msg string) error { return klaxon.FieldError("address", "%s", msg) }
