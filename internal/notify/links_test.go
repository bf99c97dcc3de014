package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinksRoundTripAndRefuseTampering(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	k := NewLinker([]byte("key"), "https://klaxon.example.com/")
	l := Link{AlertID: 4711, UserID: 3, NotificationID: 99, Action: ReplyResolve, Expires: now.Add(LinkTTL)}
	u := k.URL(l)
	if !strings.HasPrefix(u, "https://klaxon.example.com/r/") {
		t.Fatalf("url %q", u)
	}
	token := strings.TrimPrefix(u, "https://klaxon.example.com/r/")
	got, err := k.Parse(token, now)
	if err != nil || got != l {
		t.Fatalf("parse = %+v, %v; want %+v", got, err, l)
	}
	if _, err := k.Parse(token, now.Add(LinkTTL)); !errors.Is(err, ErrLinkExpired) {
		t.Errorf("at expiry: %v", err)
	}
	if _, err := NewLinker([]byte("other key"), "").Parse(token, now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("another key: %v", err)
	}
	for i := range token {
		for _, c := range []byte{'A', '_', '.', '-'} {
			if token[i] == c {
				continue
			}
			forged := token[:i] + string(c) + token[i+1:]
			if _, err := k.Parse(forged, now); err == nil {
				t.Fatalf("forged token %q accepted", forged)
			}
		}
	}
	if NewLinker([]byte("key"), "").URL(l) != "" {
		t.Error("no public URL, yet a link")
	}
}

func FuzzParseLink(f *testing.F) {
	k := NewLinker([]byte("key"), "https://x")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Add(k.Token(Link{AlertID: 1, UserID: 2, NotificationID: 3, Action: ReplyAcknowledge, Expires: now.Add(time.Hour)}))
	f.Add("")
	f.Add(".")
	f.Add("AAAA.BBBB")
	f.Fuzz(func(t *testing.T, token string) {
		l, err := k.Parse(token, now)
		if err == nil && (k.Token(l) != token || l.Action == "") {
			t.Fatalf("accepted %q as %+v, which signs as %q", token, l, k.Token(l))
		}
	})
}
