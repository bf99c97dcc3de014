package chat

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"unicode/utf8"
)

// The fakes below answer as the real services document, and check what
// they receive against the documented formats: an unknown key, a missing
// field or a broken Block Kit limit fails the test and is answered with
// the service's own error.

// fakeServer records the JSON bodies posted to one webhook path.
type fakeServer struct {
	t     *testing.T
	path  string
	query string // the query the webhook URL carries, which must arrive intact
	check func(t *testing.T, body map[string]any) (status int, answer string)
	ok    func(w http.ResponseWriter)

	mu       sync.Mutex
	received []map[string]any
	raw      [][]byte
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.t.Errorf("method %s, want POST", r.Method)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path != f.path || r.URL.RawQuery != f.query {
		f.t.Errorf("posted to %s?%s, want %s?%s", r.URL.Path, r.URL.RawQuery, f.path, f.query)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		f.t.Errorf("body is not a JSON object: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if status, answer := f.check(f.t, body); status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, answer)
		return
	}
	f.mu.Lock()
	f.received = append(f.received, body)
	f.raw = append(f.raw, data)
	f.mu.Unlock()
	f.ok(w)
}

func (f *fakeServer) last(t *testing.T) map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) == 0 {
		t.Fatal("nothing was posted")
	}
	return f.received[len(f.received)-1]
}

func start(t *testing.T, f *fakeServer) string {
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	u := srv.URL + f.path
	if f.query != "" {
		u += "?" + f.query
	}
	return u
}

// fakeSlack is an incoming webhook: 200 "ok" (served as text/html, as
// Slack does), or 400 invalid_payload / invalid_blocks / no_text.
func fakeSlack() *fakeServer {
	return &fakeServer{
		path:  "/services/T0001/B0001/slacksecret",
		check: checkSlack,
		ok: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "ok")
		},
	}
}

func checkSlack(t *testing.T, body map[string]any) (int, string) {
	invalid := func(format string, args ...any) (int, string) {
		t.Errorf("Slack: "+format, args...)
		return http.StatusBadRequest, "invalid_blocks"
	}
	if err := onlyKeys(body, "text", "blocks"); err != nil {
		return invalid("%v", err)
	}
	text, _ := body["text"].(string)
	blocks, _ := body["blocks"].([]any)
	if text == "" {
		return invalid("no text fallback")
	}
	if len(blocks) == 0 || len(blocks) > 50 {
		return invalid("%d blocks; a message holds 1 to 50", len(blocks))
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		block, _ := b.(map[string]any)
		switch block["type"] {
		case "header":
			if err := onlyKeys(block, "type", "text"); err != nil {
				return invalid("block %d: %v", i, err)
			}
			if err := textObject(block["text"], "plain_text", 150); err != nil {
				return invalid("header: %v", err)
			}
		case "section":
			if err := onlyKeys(block, "type", "text"); err != nil {
				return invalid("block %d: %v", i, err)
			}
			if err := textObject(block["text"], "mrkdwn", 3000); err != nil {
				return invalid("section: %v", err)
			}
		case "context":
			if err := onlyKeys(block, "type", "elements"); err != nil {
				return invalid("block %d: %v", i, err)
			}
			els, _ := block["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				return invalid("context with %d elements", len(els))
			}
			for _, e := range els {
				if err := textObject(e, "mrkdwn", 3000); err != nil {
					return invalid("context: %v", err)
				}
			}
		case "actions":
			if err := onlyKeys(block, "type", "elements"); err != nil {
				return invalid("block %d: %v", i, err)
			}
			els, _ := block["elements"].([]any)
			if len(els) == 0 || len(els) > 25 {
				return invalid("actions with %d elements", len(els))
			}
			for _, e := range els {
				button, _ := e.(map[string]any)
				if err := onlyKeys(button, "type", "text", "url", "action_id", "style"); err != nil {
					return invalid("button: %v", err)
				}
				if err := textObject(button["text"], "plain_text", 75); err != nil {
					return invalid("button: %v", err)
				}
				url, _ := button["url"].(string)
				id, _ := button["action_id"].(string)
				style, hasStyle := button["style"]
				switch {
				case button["type"] != "button":
					return invalid("element type %v", button["type"])
				case url == "" || len(url) > 3000:
					return invalid("button url %q", url)
				case id == "" || len(id) > 255 || ids[id]:
					return invalid("action_id %q missing, too long or not unique", id)
				case hasStyle && style != "primary" && style != "danger":
					return invalid("button style %v", style)
				}
				ids[id] = true
			}
		default:
			return invalid("block %d has type %v", i, block["type"])
		}
	}
	return 0, ""
}

func textObject(v any, kind string, max int) error {
	obj, _ := v.(map[string]any)
	if err := onlyKeys(obj, "type", "text"); err != nil {
		return err
	}
	text, _ := obj["text"].(string)
	if obj["type"] != kind || text == "" || utf8.RuneCountInString(text) > max {
		return fmt.Errorf("text object %v: want type %s and 1 to %d characters", obj, kind, max)
	}
	return nil
}

// fakeMattermost is an incoming webhook: 200 "ok" as text/plain, or a
// JSON AppError.
func fakeMattermost() *fakeServer {
	return &fakeServer{
		path:  "/hooks/xxx-generatedkey-xxx",
		check: checkMattermost,
		ok: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "ok")
		},
	}
}

func checkMattermost(t *testing.T, body map[string]any) (int, string) {
	appError := `{"id":"web.incoming_webhook.parse.app_error","message":"Unable to parse incoming data.","detailed_error":"","request_id":"hoan6o9ws7rp5xj7wu9rmysrte","status_code":400}`
	invalid := func(format string, args ...any) (int, string) {
		t.Errorf("Mattermost: "+format, args...)
		return http.StatusBadRequest, appError
	}
	if err := onlyKeys(body, "text", "username", "attachments"); err != nil {
		return invalid("%v", err)
	}
	if body["username"] != "Klaxon" {
		return invalid("username %v", body["username"])
	}
	if text, _ := body["text"].(string); text == "" {
		return invalid("no text")
	}
	atts, _ := body["attachments"].([]any)
	for _, a := range atts {
		att, _ := a.(map[string]any)
		if err := onlyKeys(att, "fallback", "color", "title", "text"); err != nil {
			return invalid("attachment: %v", err)
		}
		for _, k := range []string{"fallback", "color", "title", "text"} {
			if s, _ := att[k].(string); s == "" {
				return invalid("attachment without %s", k)
			}
		}
	}
	return 0, ""
}

// fakeTeams is a Workflows trigger URL: 202 Accepted with an empty body,
// or a Logic Apps error object.
func fakeTeams() *fakeServer {
	return &fakeServer{
		path:  "/workflows/0123abcd/triggers/manual/paths/invoke",
		query: "api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=teamssecret",
		check: checkTeams,
		ok:    func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) },
	}
}

func checkTeams(t *testing.T, body map[string]any) (int, string) {
	invalid := func(format string, args ...any) (int, string) {
		t.Errorf("Teams: "+format, args...)
		return http.StatusBadRequest, `{"error":{"code":"InvalidRequestContent","message":"The request content is not valid."}}`
	}
	if err := onlyKeys(body, "type", "attachments"); err != nil || body["type"] != "message" {
		return invalid("message %v: %v", body["type"], err)
	}
	atts, _ := body["attachments"].([]any)
	if len(atts) != 1 {
		return invalid("%d attachments", len(atts))
	}
	att, _ := atts[0].(map[string]any)
	if err := onlyKeys(att, "contentType", "contentUrl", "content"); err != nil || att["contentType"] != "application/vnd.microsoft.card.adaptive" {
		return invalid("attachment %v: %v", att["contentType"], err)
	}
	card, _ := att["content"].(map[string]any)
	if err := onlyKeys(card, "$schema", "type", "version", "body", "actions"); err != nil {
		return invalid("card: %v", err)
	}
	if card["type"] != "AdaptiveCard" || card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" || card["version"] != "1.4" {
		return invalid("card type %v, schema %v, version %v", card["type"], card["$schema"], card["version"])
	}
	items, _ := card["body"].([]any)
	if len(items) == 0 {
		return invalid("empty card body")
	}
	for _, it := range items {
		tb, _ := it.(map[string]any)
		if err := onlyKeys(tb, "type", "text", "wrap", "weight", "size", "color", "isSubtle", "spacing"); err != nil || tb["type"] != "TextBlock" || tb["text"] == "" {
			return invalid("body item %v: %v", tb, err)
		}
	}
	acts, _ := card["actions"].([]any)
	for _, a := range acts {
		act, _ := a.(map[string]any)
		if err := onlyKeys(act, "type", "title", "url"); err != nil || act["type"] != "Action.OpenUrl" || act["title"] == "" || act["url"] == "" {
			return invalid("action %v: %v", act, err)
		}
	}
	return 0, ""
}

func onlyKeys(m map[string]any, keys ...string) error {
	if m == nil {
		return fmt.Errorf("not an object")
	}
	allowed := map[string]bool{}
	for _, k := range keys {
		allowed[k] = true
	}
	for k := range m {
		if !allowed[k] {
			return fmt.Errorf("unknown key %q", k)
		}
	}
	return nil
}
