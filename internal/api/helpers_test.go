package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// env is one API server on a fresh store, with an owner token bootstrapped.
type env struct {
	srv    *httptest.Server
	store  *store.Store
	client *http.Client
	owner  string // the bootstrap owner token's secret
}

// newEnv starts an API server over a store opened by open. cfg.Store and
// cfg.Logger are filled in.
func newEnv(t testing.TB, open storetest.Opener, opts store.Options, cfg api.Config) *env {
	t.Helper()
	st := open(t, opts)
	owner := klaxon.NewAPIToken()
	ok, err := st.Bootstrap(context.Background(), &klaxon.User{Name: "Admin", Email: "a@x"}, owner)
	if err != nil || !ok {
		t.Fatalf("bootstrap: created=%v err=%v", ok, err)
	}
	cfg.Store = st
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := httptest.NewServer(api.New(cfg))
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	t.Cleanup(tr.CloseIdleConnections)
	return &env{srv: srv, store: st, owner: owner, client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// sqliteEnv is the common case: SQLite, no rate limit.
func sqliteEnv(t testing.TB) *env {
	t.Helper()
	return newEnv(t, storetest.OpenSQLite, store.Options{}, api.Config{})
}

// resp is an answer, read in full.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string {
	b := r.body
	if len(b) > 600 {
		b = append(b[:600:600], "…"...)
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// obj decodes the body as a JSON object.
func (r resp) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r)
	}
	return m
}

// onlyReader hides a reader's length, so that the request is sent chunked,
// without Content-Length.
type onlyReader struct{ io.Reader }

// request describes one call. body may be nil (no body), a string or []byte
// (sent as is), or anything else (sent as JSON).
type request struct {
	method, path string
	auth         string // the Authorization header, verbatim
	body         any
}

func (e *env) send(t testing.TB, rq request) resp {
	t.Helper()
	var rd io.Reader
	switch b := rq.body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal request: %v", err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(context.Background(), rq.method, e.srv.URL+rq.path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", rq.auth)
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", rq.method, rq.path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: body}
}

// call sends a management request with an API token (none when token is "").
func (e *env) call(t testing.TB, method, path, token string, body any) resp {
	t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return e.send(t, request{method: method, path: path, auth: auth, body: body})
}

// ok sends a management request as owner and wants the given status.
func (e *env) ok(t testing.TB, want int, method, path string, body any) map[string]any {
	t.Helper()
	r := e.call(t, method, path, e.owner, body)
	if r.status != want {
		t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	return r.obj(t)
}

// event posts one native event with the integration key as bearer token.
func (e *env) event(t testing.TB, key string, body any) resp {
	t.Helper()
	return e.send(t, request{method: "POST", path: "/api/v1/events", auth: "Bearer " + key, body: body})
}

// batch posts a batch of native events.
func (e *env) batch(t testing.TB, key string, body any) resp {
	t.Helper()
	return e.send(t, request{method: "POST", path: "/api/v1/events/batch", auth: "Bearer " + key, body: body})
}

// pd posts a PagerDuty Events v2 body to path (/v2/enqueue or /v2/change/enqueue).
func (e *env) pd(t testing.TB, path string, body any) resp {
	t.Helper()
	return e.send(t, request{method: "POST", path: path, body: body})
}

// trigger posts a trigger and wants 202; it returns the alert id.
func (e *env) trigger(t testing.TB, key, dedup, summary string) string {
	t.Helper()
	r := e.event(t, key, map[string]any{"action": "trigger", "dedup_key": dedup, "summary": summary, "severity": "error"})
	if r.status != http.StatusAccepted {
		t.Fatalf("trigger %q: %s", dedup, r)
	}
	id, _ := r.obj(t)["alert_id"].(string)
	if id == "" {
		t.Fatalf("trigger %q: no alert_id: %s", dedup, r)
	}
	return id
}

// createService creates a service and returns its id.
func (e *env) createService(t testing.TB, name string) string {
	t.Helper()
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/services", map[string]any{"name": name, "description": "about " + name})
	return str(t, m, "id")
}

// createIntegration creates an integration and returns its id and key.
func (e *env) createIntegration(t testing.TB, serviceID, kind string) (id, key string) {
	t.Helper()
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/services/"+serviceID+"/integrations", map[string]any{"kind": kind})
	return str(t, m, "id"), str(t, m, "key")
}

// serviceWithKey creates a service with one api integration.
func (e *env) serviceWithKey(t testing.TB, name string) (serviceID, key string) {
	t.Helper()
	serviceID = e.createService(t, name)
	_, key = e.createIntegration(t, serviceID, "api")
	return serviceID, key
}

// createToken creates an API token with the given role as owner and returns
// its id and secret.
func (e *env) createToken(t testing.TB, name string, role klaxon.Role) (id, secret string) {
	t.Helper()
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": name, "role": role})
	return str(t, m, "id"), str(t, m, "token")
}

// alerts lists every alert matching query (without limit or cursor),
// following next_cursor.
func (e *env) alerts(t testing.TB, query string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for range 1000 {
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatalf("query %q: %v", query, err)
		}
		q.Set("limit", "1000")
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		m := e.ok(t, http.StatusOK, "GET", "/api/v1/alerts?"+q.Encode(), nil)
		for _, a := range list(t, m, "alerts") {
			out = append(out, a)
		}
		cursor, _ = m["next_cursor"].(string)
		if cursor == "" {
			return out
		}
	}
	t.Fatal("alerts: more than 1000 pages")
	return nil
}

// totals is what the store holds, seen through the API: the number of
// alerts and the sum of their event counts.
type totals struct{ alerts, events int }

func (e *env) totals(t testing.TB, query string) totals {
	t.Helper()
	var n totals
	for _, a := range e.alerts(t, query) {
		n.alerts++
		n.events += int(num(t, a, "event_count"))
	}
	return n
}

// alert fetches one alert with its events.
func (e *env) alert(t testing.TB, id string) map[string]any {
	t.Helper()
	return e.ok(t, http.StatusOK, "GET", "/api/v1/alerts/"+id, nil)
}

// wantError checks that r is status with the error body
// {"error":{"code","message"[,"field"]}}, and nothing else.
func wantError(t testing.TB, r resp, status int, code klaxon.ErrorCode, field string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status: got %s, want %d", r, status)
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Errorf("error body is not a JSON object: %v: %s", err, r)
		return
	}
	if len(body) != 1 || body["error"] == nil {
		t.Errorf("error body must be exactly {\"error\":{…}}: %s", r)
		return
	}
	var e map[string]any
	if err := json.Unmarshal(body["error"], &e); err != nil {
		t.Errorf("\"error\" is not an object: %s", r)
		return
	}
	for k := range e {
		if k != "code" && k != "message" && k != "field" {
			t.Errorf("error has unexpected key %q: %s", k, r)
		}
	}
	if got, _ := e["code"].(string); got != string(code) {
		t.Errorf("error code %q, want %q: %s", got, code, r)
	}
	if msg, _ := e["message"].(string); strings.TrimSpace(msg) == "" {
		t.Errorf("error message is empty: %s", r)
	}
	gotField, hasField := e["field"].(string)
	switch {
	case field == "" && hasField:
		t.Errorf("error names field %q, want none: %s", gotField, r)
	case field != "" && gotField != field:
		t.Errorf("error field %q, want %q: %s", gotField, field, r)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		wantRetryAfter(t, r)
	}
}

// wantRetryAfter checks that Retry-After is a whole number of seconds ≥ 1,
// and returns it.
func wantRetryAfter(t testing.TB, r resp) int {
	t.Helper()
	v := r.header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1 (%s)", v, r)
	}
	return n
}

// wantPDInvalid checks PagerDuty's 400 answer and returns its errors.
func wantPDInvalid(t testing.TB, r resp) []string {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Errorf("got %s, want 400", r)
		return nil
	}
	m := r.obj(t)
	if m["status"] != "invalid event" || m["message"] != "Event object is invalid" {
		t.Errorf("PagerDuty invalid answer: %s", r)
	}
	raw, _ := m["errors"].([]any)
	if len(raw) == 0 {
		t.Errorf("PagerDuty invalid answer lists no errors: %s", r)
	}
	var errs []string
	for _, x := range raw {
		s, ok := x.(string)
		if !ok || s == "" {
			t.Errorf("errors[] holds %v, want non-empty strings: %s", x, r)
		}
		errs = append(errs, s)
	}
	return errs
}

// str reads a string field that must be present and non-empty.
func str(t testing.TB, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok || s == "" {
		t.Fatalf("%q: got %#v, want a non-empty string in %v", key, m[key], m)
	}
	return s
}

// num reads a number field.
func num(t testing.TB, m map[string]any, key string) float64 {
	t.Helper()
	n, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%q: got %#v, want a number in %v", key, m[key], m)
	}
	return n
}

// list reads an array of objects.
func list(t testing.TB, m map[string]any, key string) []map[string]any {
	t.Helper()
	raw, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%q: got %#v, want an array in %v", key, m[key], m)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		o, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("%q[%d]: got %#v, want an object", key, i, x)
		}
		out[i] = o
	}
	return out
}

// hasKeys checks that m has at least the given keys.
func hasKeys(t testing.TB, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing %q in %v", what, k, m)
		}
	}
}

// keysOf returns m's keys, sorted.
func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ids returns the "id" of each object.
func ids(t testing.TB, objs []map[string]any) []string {
	t.Helper()
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = str(t, o, "id")
	}
	return out
}

// isTime checks that v is an RFC 3339 time string.
func isTime(t testing.TB, what string, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("%s: %#v is not an RFC 3339 time", what, v)
	}
	return tm
}
