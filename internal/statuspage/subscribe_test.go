package statuspage

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// fakeSubscriptions keeps subscribers in memory, with the store's rules
// that matter here: one subscriber per address, components must exist.
type fakeSubscriptions struct {
	mu      sync.Mutex
	subs    map[int64]*klaxon.StatusSubscriber
	byEmail map[string]int64
	created int // calls that created a subscriber
	err     error
}

func newFakeSubscriptions() *fakeSubscriptions {
	return &fakeSubscriptions{subs: map[int64]*klaxon.StatusSubscriber{}, byEmail: map[string]int64{}}
}

func (f *fakeSubscriptions) CreateStatusSubscriber(ctx context.Context, actor string, s *klaxon.StatusSubscriber) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	if actor != publicActor {
		return false, errors.New("unexpected actor " + actor)
	}
	for _, id := range s.Components {
		if id > 100 {
			return false, klaxon.FieldError("components", "component %d does not exist", id)
		}
	}
	if id, ok := f.byEmail[s.Address]; ok {
		*s = *f.subs[id]
		return false, nil
	}
	s.ID = int64(len(f.subs) + 1)
	s.CreatedAt = fixtureNow
	cp := *s
	f.subs[s.ID] = &cp
	f.byEmail[s.Address] = s.ID
	f.created++
	return true, nil
}

func (f *fakeSubscriptions) ConfirmStatusSubscriber(ctx context.Context, id int64) (klaxon.StatusSubscriber, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return klaxon.StatusSubscriber{}, f.err
	}
	s, ok := f.subs[id]
	if !ok {
		return klaxon.StatusSubscriber{}, klaxon.Errorf(klaxon.ENOTFOUND, "subscriber %d not found", id)
	}
	if s.ConfirmedAt.IsZero() {
		s.ConfirmedAt = fixtureNow
	}
	return *s, nil
}

func (f *fakeSubscriptions) UnsubscribeStatusSubscriber(ctx context.Context, actor string, id int64) (klaxon.StatusSubscriber, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return klaxon.StatusSubscriber{}, f.err
	}
	s, ok := f.subs[id]
	if !ok {
		return klaxon.StatusSubscriber{}, klaxon.Errorf(klaxon.ENOTFOUND, "subscriber %d not found", id)
	}
	if s.UnsubscribedAt.IsZero() {
		s.UnsubscribedAt = fixtureNow
	}
	return *s, nil
}

func (f *fakeSubscriptions) get(id int64) klaxon.StatusSubscriber {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.subs[id]; ok {
		return *s
	}
	return klaxon.StatusSubscriber{}
}

func post(h http.Handler, target string, form url.Values, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// subscriptionHandler has limits loose enough for the tests that do not
// test them (all their requests come from httptest's one address).
func subscriptionHandler(t *testing.T) (*Handler, *fakeSubscriptions) {
	t.Helper()
	return subscriptionHandlerWith(t, Config{Logger: slog.New(slog.DiscardHandler),
		SubscribeLimit: SubscribeLimit{PerClient: Rate{Requests: -1}, Global: Rate{Requests: -1}}})
}

// subscriptionHandlerWith fills in cfg's source, subscriptions, key and
// clock (a fixedClock at fixtureNow).
func subscriptionHandlerWith(t *testing.T, cfg Config) (*Handler, *fakeSubscriptions) {
	t.Helper()
	subs := newFakeSubscriptions()
	cfg.Source, cfg.Subscriptions, cfg.Tokens = newFakeSource(fixtureSnapshot()), subs, Tokens{Key: []byte("k")}
	if cfg.Clock == nil {
		cfg.Clock = &fixedClock{t: fixtureNow}
	}
	return New(cfg), subs
}

// sameOrigin is what a browser sends with the page's own form.
var sameOrigin = []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"}

// crossSite is what a browser sends with another site's form.
var crossSite = []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}

func TestSubscribe(t *testing.T) {
	h, subs := subscriptionHandler(t)
	form := url.Values{"email": {"ops@example.com"}, "components": {"2", "6", "2"}}
	first := post(h, "/subscribe", form, sameOrigin...)
	if first.Code != 200 || !strings.Contains(first.Body.String(), "Check your inbox") {
		t.Fatalf("subscribe: %d %s", first.Code, first.Body.String())
	}
	if s := subs.get(1); s.Address != "ops@example.com" || s.Kind != klaxon.SubscriberEmail || !slices.Equal(s.Components, []int64{2, 6}) {
		t.Errorf("stored %+v", s)
	}
	if first.Header().Get("Cache-Control") != "no-store" {
		t.Error("a subscription answer may be cached")
	}
	// The same address again: the same answer, nothing new.
	second := post(h, "/subscribe", form, sameOrigin...)
	if second.Code != first.Code || second.Body.String() != first.Body.String() {
		t.Error("the answer tells a subscribed address from a new one")
	}
	if subs.created != 1 {
		t.Errorf("created %d subscribers", subs.created)
	}
	// components[] is read too.
	if w := post(h, "/subscribe", url.Values{"email": {"b@example.com"}, "components[]": {"3"}}, sameOrigin...); w.Code != 200 || !slices.Equal(subs.get(2).Components, []int64{3}) {
		t.Errorf("components[]: %d %+v", w.Code, subs.get(2))
	}
	// No components: everything.
	if w := post(h, "/subscribe", url.Values{"email": {"c@example.com"}}); w.Code != 200 || len(subs.get(3).Components) != 0 {
		t.Errorf("no components: %d %+v", w.Code, subs.get(3))
	}

	for _, c := range []struct {
		name string
		form url.Values
		want string
	}{
		{"bad address", url.Values{"email": {"not an address"}}, "plain email address"},
		{"named address", url.Values{"email": {"Ops <ops@example.com>"}}, "plain email address"},
		{"bad component", url.Values{"email": {"d@example.com"}, "components": {"x"}}, "choose components"},
		{"unknown component", url.Values{"email": {"d@example.com"}, "components": {"500"}}, "choose components"},
	} {
		w := post(h, "/subscribe", c.form, sameOrigin...)
		if w.Code != 400 || !strings.Contains(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), `action="/subscribe"`) {
			t.Errorf("%s: %d, want 400 with %q and the form", c.name, w.Code, c.want)
		}
	}

	// A too large body is refused.
	big := url.Values{"email": {"e@example.com"}, "pad": {strings.Repeat("x", maxFormBody)}}
	if w := post(h, "/subscribe", big, sameOrigin...); w.Code != 400 {
		t.Errorf("a %d-byte form: %d", len(big.Encode()), w.Code)
	}

	// A failing store: try again, nothing leaked.
	subs.err = errors.New("pq: connection refused to db.internal")
	w := post(h, "/subscribe", url.Values{"email": {"f@example.com"}}, sameOrigin...)
	if w.Code != 503 || strings.Contains(w.Body.String(), "db.internal") {
		t.Errorf("store down: %d %s", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("store down: Retry-After %q", got)
	}

	// Too many pending subscriptions: try again in an hour, not an error.
	subs.err = klaxon.Errorf(klaxon.EOVERLOAD, "too many subscriptions are waiting for confirmation")
	w = post(h, "/subscribe", url.Values{"email": {"g@example.com"}}, sameOrigin...)
	if w.Code != 503 || w.Header().Get("Retry-After") != "3600" || !strings.Contains(w.Body.String(), "Please try again later") ||
		strings.Contains(w.Body.String(), "waiting for confirmation") || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("store full: %d Retry-After %q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
}

// TestTokensNotLogged checks that a failing confirm or unsubscribe logs
// its route, never its path: the path holds the subscriber's token.
func TestTokensNotLogged(t *testing.T) {
	var mu sync.Mutex
	var logs strings.Builder
	h, subs := subscriptionHandlerWith(t, Config{Logger: slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, nil))})
	post(h, "/subscribe", url.Values{"email": {"ops@example.com"}}, sameOrigin...)
	subs.err = errors.New("pq: connection refused")
	for _, c := range []struct{ route, path string }{
		{"confirm", h.tokens.ConfirmURL("", 1)},
		{"unsubscribe", h.tokens.UnsubscribeURL("", 1)},
	} {
		_, token, _ := strings.Cut(strings.TrimPrefix(c.path, "/subscriptions/"), "/")
		if len(token) < 10 {
			t.Fatalf("no token in %q", c.path)
		}
		for _, form := range []url.Values{nil, {"List-Unsubscribe": {"One-Click"}}} {
			if w := post(h, c.path, form, sameOrigin...); w.Code != 503 {
				t.Fatalf("%s with the store down: %d", c.route, w.Code)
			}
		}
		mu.Lock()
		out := logs.String()
		logs.Reset()
		mu.Unlock()
		if !strings.Contains(out, "route="+c.route) || !strings.Contains(out, "connection refused") {
			t.Errorf("%s: the failure is not logged with its route:\n%s", c.route, out)
		}
		if strings.Contains(out, token) || strings.Contains(out, token[:len(token)/2]) {
			t.Errorf("%s: the log holds the token:\n%s", c.route, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestSubscribeRefusesCrossOrigin checks the CSRF guard: another site's
// form cannot subscribe an address.
func TestSubscribeRefusesCrossOrigin(t *testing.T) {
	h, subs := subscriptionHandler(t)
	w := post(h, "/subscribe", url.Values{"email": {"victim@example.com"}}, crossSite...)
	if w.Code != 403 || subs.created != 0 {
		t.Errorf("cross-site subscribe: %d, %d created", w.Code, subs.created)
	}
	w = post(h, "/subscribe", url.Values{"email": {"victim@example.com"}}, "Origin", "https://evil.example")
	if w.Code != 403 || subs.created != 0 {
		t.Errorf("cross-origin (Origin only) subscribe: %d", w.Code)
	}
}

// TestConfirmAndUnsubscribe walks the links of the emails.
func TestConfirmAndUnsubscribe(t *testing.T) {
	h, subs := subscriptionHandler(t)
	post(h, "/subscribe", url.Values{"email": {"ops@example.com"}}, sameOrigin...)
	confirm := h.tokens.ConfirmURL("https://status.example.com", 1)
	unsubscribe := h.tokens.UnsubscribeURL("https://status.example.com/", 1)
	if !strings.HasPrefix(confirm, "https://status.example.com/subscriptions/confirm/") || !strings.HasPrefix(unsubscribe, "https://status.example.com/subscriptions/unsubscribe/") {
		t.Fatalf("links %s %s", confirm, unsubscribe)
	}
	confirmPath := strings.TrimPrefix(confirm, "https://status.example.com")
	unsubscribePath := strings.TrimPrefix(unsubscribe, "https://status.example.com")

	// Opening the link (as a mail scanner does) changes nothing.
	w := get(h, "GET", confirmPath)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `<form method="post"><button type="submit">Confirm subscription</button></form>`) {
		t.Fatalf("confirm page: %d %s", w.Code, w.Body.String())
	}
	if w.Header().Get("Referrer-Policy") != "no-referrer" || w.Header().Get("Cache-Control") != "no-store" {
		t.Error("the token page may leak its address or be cached")
	}
	if !subs.get(1).ConfirmedAt.IsZero() {
		t.Fatal("GET confirmed")
	}
	// Another site cannot press the button.
	if w := post(h, confirmPath, nil, crossSite...); w.Code != 403 || !subs.get(1).ConfirmedAt.IsZero() {
		t.Errorf("cross-site confirm: %d", w.Code)
	}
	if w := post(h, confirmPath, nil, sameOrigin...); w.Code != 200 || !strings.Contains(w.Body.String(), "You are subscribed") || subs.get(1).ConfirmedAt.IsZero() {
		t.Fatalf("confirm: %d %s", w.Code, w.Body.String())
	}
	// Confirming twice is fine.
	if w := post(h, confirmPath, nil, sameOrigin...); w.Code != 200 {
		t.Errorf("second confirm: %d", w.Code)
	}

	// The tokens are not interchangeable.
	if w := post(h, strings.Replace(confirmPath, "confirm", "unsubscribe", 1), nil, sameOrigin...); w.Code != 404 || !subs.get(1).UnsubscribedAt.IsZero() {
		t.Errorf("a confirm token unsubscribed: %d", w.Code)
	}
	if w := get(h, "GET", strings.Replace(unsubscribePath, "unsubscribe", "confirm", 1)); w.Code != 404 {
		t.Errorf("an unsubscribe token opened the confirm page: %d", w.Code)
	}

	w = get(h, "GET", unsubscribePath)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Unsubscribe</button>") || !subs.get(1).UnsubscribedAt.IsZero() {
		t.Fatalf("unsubscribe page: %d", w.Code)
	}
	if w := post(h, unsubscribePath, nil, crossSite...); w.Code != 403 || !subs.get(1).UnsubscribedAt.IsZero() {
		t.Errorf("cross-site button unsubscribe: %d", w.Code)
	}
	if w := post(h, unsubscribePath, nil, sameOrigin...); w.Code != 200 || !strings.Contains(w.Body.String(), "You are unsubscribed") || subs.get(1).UnsubscribedAt.IsZero() {
		t.Errorf("unsubscribe: %d", w.Code)
	}
}

// TestOneClickUnsubscribe checks RFC 8058: the mail provider POSTs
// List-Unsubscribe=One-Click, from its own servers, urlencoded or
// multipart.
func TestOneClickUnsubscribe(t *testing.T) {
	h, subs := subscriptionHandler(t)
	for _, email := range []string{"a@example.com", "b@example.com"} {
		post(h, "/subscribe", url.Values{"email": {email}}, sameOrigin...)
	}
	w := post(h, h.tokens.UnsubscribeURL("", 1), url.Values{"List-Unsubscribe": {"One-Click"}}, crossSite...)
	if w.Code != 200 || subs.get(1).UnsubscribedAt.IsZero() {
		t.Errorf("one-click (urlencoded, cross-site): %d", w.Code)
	}

	body := "--B\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--B--\r\n"
	r := httptest.NewRequest("POST", h.tokens.UnsubscribeURL("", 2), strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	if rw.Code != 200 || subs.get(2).UnsubscribedAt.IsZero() {
		t.Errorf("one-click (multipart): %d %s", rw.Code, rw.Body.String())
	}
}

// TestBadTokens checks that a bad token is a bare 404 and reaches nothing.
func TestBadTokens(t *testing.T) {
	h, subs := subscriptionHandler(t)
	post(h, "/subscribe", url.Values{"email": {"ops@example.com"}}, sameOrigin...)
	good := strings.TrimPrefix(h.tokens.ConfirmURL("", 1), confirmPath)
	other := Tokens{Key: []byte("another key")}
	for _, token := range []string{
		"", "x", "x.y", good + "A", good[:len(good)-1], strings.ToUpper(good), strings.Replace(good, ".", "", 1),
		strings.TrimPrefix(other.ConfirmURL("", 1), confirmPath), h.tokens.token(purposeConfirm, 0),
	} {
		for _, method := range []string{"GET", "POST"} {
			r := httptest.NewRequest(method, confirmPath+url.PathEscape(token), nil)
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 404 {
				t.Errorf("%s %q: %d", method, token, w.Code)
			}
		}
	}
	if !subs.get(1).ConfirmedAt.IsZero() {
		t.Error("a bad token confirmed")
	}
	// A good token for a subscriber the store does not know: 404 too.
	if w := post(h, h.tokens.ConfirmURL("", 77), nil, sameOrigin...); w.Code != 404 {
		t.Errorf("unknown subscriber: %d", w.Code)
	}
	// Without subscriptions, the routes answer 404 and the form is gone.
	plain := New(Config{Source: newFakeSource(fixtureSnapshot()), Tokens: Tokens{Key: []byte("k")}, Clock: &fixedClock{t: fixtureNow},
		Logger: slog.New(slog.DiscardHandler)})
	if w := get(plain, "GET", h.tokens.ConfirmURL("", 1)); w.Code != 404 {
		t.Errorf("confirm without subscriptions: %d", w.Code)
	}
	if w := post(plain, "/subscribe", url.Values{"email": {"x@example.com"}}, sameOrigin...); w.Code != 404 {
		t.Errorf("subscribe without subscriptions: %d", w.Code)
	}
}

func TestTokens(t *testing.T) {
	k := Tokens{Key: []byte("secret")}
	for _, id := range []int64{1, 127, 128, 1 << 40, 1<<63 - 1} {
		for _, purpose := range []string{purposeConfirm, purposeUnsubscribe} {
			got, ok := k.verify(purpose, k.token(purpose, id))
			if !ok || got != id {
				t.Errorf("%s %d: %d %v", purpose, id, got, ok)
			}
		}
		if _, ok := k.verify(purposeUnsubscribe, k.token(purposeConfirm, id)); ok {
			t.Errorf("a confirm token for %d unsubscribes", id)
		}
		if _, ok := (Tokens{Key: []byte("other")}).verify(purposeConfirm, k.token(purposeConfirm, id)); ok {
			t.Errorf("another key accepts %d", id)
		}
	}
	empty := Tokens{}
	if empty.ConfirmURL("https://x", 1) != "" || empty.UnsubscribeURL("https://x", 1) != "" {
		t.Error("an empty key makes links")
	}
	if _, ok := empty.verify(purposeConfirm, empty.token(purposeConfirm, 1)); ok {
		t.Error("an empty key accepts a token")
	}
	if k.ConfirmURL("https://x", 0) != "" {
		t.Error("a link for id 0")
	}
	u := k.UnsubscribeURL("https://status.example.com/", 42)
	token, ok := strings.CutPrefix(u, "https://status.example.com/subscriptions/unsubscribe/")
	if !ok || !regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`).MatchString(token) {
		t.Errorf("link %q is not the path and a URL-safe token", u)
	}
}

// FuzzTokenVerify feeds the parser anything: it must not panic, and what it
// accepts must be exactly a token the key made (one spelling per id).
func FuzzTokenVerify(f *testing.F) {
	k := Tokens{Key: []byte("fuzz key")}
	f.Add(k.token(purposeConfirm, 1))
	f.Add(k.token(purposeUnsubscribe, 1<<40))
	f.Add("AQE.AAAA")
	f.Add("")
	f.Add("....")
	f.Fuzz(func(t *testing.T, token string) {
		for _, purpose := range []string{purposeConfirm, purposeUnsubscribe} {
			id, ok := k.verify(purpose, token)
			if !ok {
				continue
			}
			if id <= 0 || k.token(purpose, id) != token {
				t.Fatalf("accepted %q as %d, which the key spells %q", token, id, k.token(purpose, id))
			}
		}
	})
}

// TestMessagePagesUseThePage checks the frame of per-request pages.
func TestMessagePagesUseThePage(t *testing.T) {
	h, _ := subscriptionHandler(t)
	w := post(h, "/subscribe", url.Values{"email": {"ops@example.com"}}, sameOrigin...)
	if !strings.Contains(w.Body.String(), "<title>Check your inbox - Klaxon Status</title>") {
		t.Errorf("title: %s", w.Body.String()[:300])
	}
}
