package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// validEvent is a minimal valid trigger.
const validEvent = `{"action":"trigger","dedup_key":"ok","summary":"fine","severity":"info"}`

// eventCase is one bad native event and the field its error must name.
type eventCase struct {
	name  string
	body  string
	field string
}

// badEvents are native event bodies that must be refused, each naming the
// field at fault. In a batch the same element is refused with the field
// prefixed by its index.
var badEvents = []eventCase{
	// Wrong JSON types, field by field.
	{"action number", `{"action":5,"summary":"s","severity":"info"}`, "action"},
	{"action null", `{"action":null,"summary":"s","severity":"info"}`, "action"},
	{"dedup_key number", `{"action":"trigger","dedup_key":12,"summary":"s","severity":"info"}`, "dedup_key"},
	{"summary number", `{"action":"trigger","summary":1,"severity":"info"}`, "summary"},
	{"summary object", `{"action":"trigger","summary":{"a":1},"severity":"info"}`, "summary"},
	{"severity bool", `{"action":"trigger","summary":"s","severity":true}`, "severity"},
	{"source array", `{"action":"trigger","summary":"s","severity":"info","source":["a"]}`, "source"},
	{"component number", `{"action":"trigger","summary":"s","severity":"info","component":1}`, "component"},
	{"group number", `{"action":"trigger","summary":"s","severity":"info","group":1}`, "group"},
	{"class number", `{"action":"trigger","summary":"s","severity":"info","class":1}`, "class"},
	{"details string", `{"action":"trigger","summary":"s","severity":"info","details":"text"}`, "details"},
	{"details array", `{"action":"trigger","summary":"s","severity":"info","details":[1]}`, "details"},
	{"links object", `{"action":"trigger","summary":"s","severity":"info","links":{"href":"x"}}`, "links"},
	{"links element string", `{"action":"trigger","summary":"s","severity":"info","links":["https://x"]}`, "links[0]"},
	{"links href number", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"https://a"},{"href":2}]}`, "links[1].href"},
	{"images src number", `{"action":"trigger","summary":"s","severity":"info","images":[{"src":1}]}`, "images[0].src"},
	{"timestamp number", `{"action":"trigger","summary":"s","severity":"info","timestamp":1700000000}`, "timestamp"},
	// Missing required fields.
	{"action missing", `{"summary":"s","severity":"info"}`, "action"},
	{"summary missing", `{"action":"trigger","severity":"info"}`, "summary"},
	{"summary blank", `{"action":"trigger","summary":"   ","severity":"info"}`, "summary"},
	{"severity missing", `{"action":"trigger","summary":"s"}`, "severity"},
	{"acknowledge without dedup_key", `{"action":"acknowledge"}`, "dedup_key"},
	{"resolve without dedup_key", `{"action":"resolve","summary":"s"}`, "dedup_key"},
	{"links href missing", `{"action":"trigger","summary":"s","severity":"info","links":[{"text":"no href"}]}`, "links[0].href"},
	{"images src missing", `{"action":"trigger","summary":"s","severity":"info","images":[{"alt":"no src"}]}`, "images[0].src"},
	// Invalid enum values.
	{"action bogus", `{"action":"explode","summary":"s","severity":"info"}`, "action"},
	{"action case", `{"action":"Trigger","summary":"s","severity":"info"}`, "action"},
	{"action PagerDuty name", `{"event_action":"trigger","summary":"s","severity":"info"}`, "event_action"},
	{"severity bogus", `{"action":"trigger","summary":"s","severity":"high"}`, "severity"},
	{"severity bogus on resolve", `{"action":"resolve","dedup_key":"k","severity":"bogus"}`, "severity"},
	// Unknown fields and bad values.
	{"unknown field", `{"action":"trigger","summary":"s","severity":"info","colour":"red"}`, "colour"},
	{"unknown link field", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"h","url":"u"}]}`, "links[0].url"},
	{"duplicate field", `{"action":"trigger","summary":"s","summary":"t","severity":"info"}`, "summary"},
	{"timestamp not RFC 3339", `{"action":"trigger","summary":"s","severity":"info","timestamp":"yesterday"}`, "timestamp"},
	{"summary too long", `{"action":"trigger","summary":"` + strings.Repeat("s", 1025) + `","severity":"info"}`, "summary"},
	{"dedup_key too long", `{"action":"trigger","dedup_key":"` + strings.Repeat("k", 256) + `","summary":"s","severity":"info"}`, "dedup_key"},
	{"source too long", `{"action":"trigger","summary":"s","severity":"info","source":"` + strings.Repeat("s", 1025) + `"}`, "source"},
	{"too many links", `{"action":"trigger","summary":"s","severity":"info","links":[` + strings.TrimSuffix(strings.Repeat(`{"href":"h"},`, 51), ",") + `]}`, "links"},
	{"NUL in summary", `{"action":"trigger","summary":"a\u0000b","severity":"info"}`, "summary"},
	{"invalid UTF-8 in summary", "{\"action\":\"trigger\",\"summary\":\"a\xffb\",\"severity\":\"info\"}", "summary"},
	// Not one JSON object.
	{"empty", ``, "body"},
	{"whitespace", "  \n", "body"},
	{"not JSON", `action=trigger`, "body"},
	{"truncated", `{"action":"trigger"`, "body"},
	{"null", `null`, "body"},
	{"string", `"trigger"`, "body"},
	{"array", `[` + validEvent + `]`, "body"},
	{"trailing garbage", validEvent + `x`, "body"},
	{"two objects", validEvent + validEvent, "body"},
}

// TestEventBadInput sends every bad event to POST /api/v1/events: each is a
// 400 naming the field, and nothing accepted before is lost.
func TestEventBadInput(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	svc, key := e.serviceWithKey(t, "events-bad")
	first := e.trigger(t, key, "keep", "accepted before")
	before := e.totals(t, "")
	for _, tc := range badEvents {
		t.Run(tc.name, func(t *testing.T) {
			r := e.event(t, key, tc.body)
			wantError(t, r, http.StatusBadRequest, klaxon.EINVALID, tc.field)
			if after := e.totals(t, ""); after != before {
				t.Errorf("alerts changed: %+v → %+v", before, after)
			}
		})
	}
	if a := e.alert(t, first); num(t, a, "event_count") != 1 || a["service_id"] != svc {
		t.Errorf("first alert changed: %v", a)
	}
	if id := e.trigger(t, key, "keep", "still works"); id != first {
		t.Errorf("trigger after bad input opened %s, want %s", id, first)
	}
}

// TestBatchBadElements sends every bad event as an element of a batch,
// between two good ones: the batch is 202, the bad element is rejected with
// its index in the field, and the good ones are stored.
func TestBatchBadElements(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	svc, key := e.serviceWithKey(t, "batch-bad")
	q := "service=" + svc
	stored := 0
	for i, tc := range badEvents {
		if !json.Valid([]byte(tc.body)) || !utf8.ValidString(tc.body) {
			continue // not one JSON value: see TestBatchBadBody and the UTF-8 case below
		}
		t.Run(tc.name, func(t *testing.T) {
			good := func(n int) string {
				return fmt.Sprintf(`{"action":"trigger","dedup_key":"g%d-%d","summary":"good","severity":"info"}`, i, n)
			}
			body := "[" + good(0) + "," + tc.body + "," + good(2) + "]"
			r := e.batch(t, key, body)
			if r.status != http.StatusAccepted {
				t.Fatalf("got %s, want 202", r)
			}
			m := r.obj(t)
			if num(t, m, "accepted") != 2 || num(t, m, "rejected") != 1 {
				t.Errorf("counts: %v", m)
			}
			res := list(t, m, "results")
			if len(res) != 3 {
				t.Fatalf("results: %v", res)
			}
			want := "[1]"
			if tc.field != "body" {
				want += "." + tc.field
			}
			er, _ := res[1]["error"].(map[string]any)
			if res[1]["status"] != "rejected" || er["code"] != "invalid" || er["field"] != want || er["message"] == "" {
				t.Errorf("results[1] = %v, want rejected naming %s", res[1], want)
			}
			if res[0]["status"] != "accepted" || res[2]["status"] != "accepted" {
				t.Errorf("good elements: %v", res)
			}
			stored += 2
			if n := e.totals(t, q); n.events != stored {
				t.Errorf("stored events %d, want %d", n.events, stored)
			}
		})
	}
	t.Run("invalid UTF-8 in element", func(t *testing.T) {
		r := e.batch(t, key, "["+validEvent+",{\"action\":\"trigger\",\"summary\":\"a\xffb\",\"severity\":\"info\"}]")
		if r.status != http.StatusAccepted {
			t.Fatalf("got %s, want 202", r)
		}
		res := list(t, r.obj(t), "results")
		if er, _ := res[1]["error"].(map[string]any); er["field"] != "[1].summary" {
			t.Errorf("results[1] = %v, want [1].summary", res[1])
		}
	})
}

// TestBatchBadBody sends batches that fail as a whole.
func TestBatchBadBody(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "batch-body")
	e.trigger(t, key, "keep", "accepted before")
	before := e.totals(t, "")
	many := "[" + strings.TrimSuffix(strings.Repeat(validEvent+",", klaxon.MaxBatchEvents+1), ",") + "]"
	for _, tc := range []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"whitespace", " \n "},
		{"not JSON", "events please"},
		{"object", validEvent},
		{"null", "null"},
		{"number", "1"},
		{"empty array", "[]"},
		{"truncated", "[" + validEvent},
		{"trailing garbage", "[" + validEvent + "] x"},
		{"two arrays", "[" + validEvent + "][" + validEvent + "]"},
		{"trailing comma", "[" + validEvent + ",]"},
		{"1001 events", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.batch(t, key, tc.body), http.StatusBadRequest, klaxon.EINVALID, "body")
			if after := e.totals(t, ""); after != before {
				t.Errorf("alerts changed: %+v → %+v", before, after)
			}
		})
	}
	t.Run("1000 events", func(t *testing.T) {
		body := "[" + strings.TrimSuffix(strings.Repeat(validEvent+",", klaxon.MaxBatchEvents), ",") + "]"
		r := e.batch(t, key, body)
		if r.status != http.StatusAccepted || num(t, r.obj(t), "accepted") != klaxon.MaxBatchEvents {
			t.Fatalf("full batch: %s", r)
		}
		if after := e.totals(t, ""); after.events != before.events+klaxon.MaxBatchEvents {
			t.Errorf("after a full batch: %+v, want %d events", after, before.events+klaxon.MaxBatchEvents)
		}
	})
}

// padded returns a valid event of exactly size bytes (whitespace padding
// inside the object).
func padded(t testing.TB, dedup string, size int) string {
	t.Helper()
	head := `{"action":"trigger","dedup_key":"` + dedup + `","summary":"big","severity":"info"`
	if size < len(head)+1 {
		t.Fatalf("size %d too small", size)
	}
	return head + strings.Repeat(" ", size-len(head)-1) + "}"
}

// TestEventSizeLimits checks the 512 KiB event and 8 MiB batch bounds
// exactly, with Content-Length and chunked.
func TestEventSizeLimits(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "sizes")
	e.trigger(t, key, "keep", "accepted before")
	for _, chunked := range []bool{false, true} {
		wrap := func(s string) any {
			if chunked {
				return onlyReader{strings.NewReader(s)}
			}
			return s
		}
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			before := e.totals(t, "")
			// One event.
			if r := e.event(t, key, wrap(padded(t, "at-limit", klaxon.MaxEventBytes))); r.status != http.StatusAccepted {
				t.Errorf("event of exactly 512 KiB: %s", r)
			}
			wantError(t, e.event(t, key, wrap(padded(t, "over", klaxon.MaxEventBytes+1))), http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")
			big := `{"action":"trigger","summary":"s","severity":"info","details":{"blob":"` + strings.Repeat("x", 600<<10) + `"}}`
			wantError(t, e.event(t, key, wrap(big)), http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")

			// A batch: 8 MiB passes, one byte more does not.
			elem := padded(t, "batch-elem", 500<<10)
			n := klaxon.MaxBatchBytes / (len(elem) + 1)
			body := "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
			body = body[:len(body)-1] + strings.Repeat(" ", klaxon.MaxBatchBytes-len(body)) + "]"
			if len(body) != klaxon.MaxBatchBytes {
				t.Fatalf("built a batch of %d bytes", len(body))
			}
			if r := e.batch(t, key, wrap(body)); r.status != http.StatusAccepted || num(t, r.obj(t), "accepted") != float64(n) {
				t.Errorf("batch of exactly 8 MiB: %s", r)
			}
			wantError(t, e.batch(t, key, wrap(body[:len(body)-1]+" ]")), http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")

			// An element over 512 KiB inside a batch is rejected alone.
			r := e.batch(t, key, wrap("["+padded(t, "too-big", klaxon.MaxEventBytes+1)+","+validEvent+"]"))
			if r.status != http.StatusAccepted {
				t.Fatalf("batch with one oversized element: %s", r)
			}
			res := list(t, r.obj(t), "results")
			if er, _ := res[0]["error"].(map[string]any); res[0]["status"] != "rejected" || er["code"] != "too_large" || er["field"] != "[0]" {
				t.Errorf("oversized element: %v", res[0])
			}
			if res[1]["status"] != "accepted" {
				t.Errorf("element after the oversized one: %v", res[1])
			}
			if after := e.totals(t, ""); after.events != before.events+1+n+1 {
				t.Errorf("events %d → %d, want +%d", before.events, after.events, 1+n+1)
			}
		})
	}
}

// TestEventKeys checks integration-key authentication on both native
// endpoints: the bearer header and ?key=.
func TestEventKeys(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	svc, key := e.serviceWithKey(t, "keys")
	intID := str(t, list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+svc+"/integrations", nil), "integrations")[0], "id")
	rotatedAway := key
	key = str(t, e.ok(t, http.StatusOK, "POST", "/api/v1/services/"+svc+"/integrations/"+intID+"/rotate", nil), "key")
	_, apiToken := e.createToken(t, "not-a-key", "owner")
	e.trigger(t, key, "keep", "accepted before")

	for _, path := range []string{"/api/v1/events", "/api/v1/events/batch"} {
		before := e.totals(t, "")
		body := validEvent
		if strings.HasSuffix(path, "batch") {
			body = "[" + validEvent + "]"
		}
		for _, tc := range []struct {
			name, auth, query string
		}{
			{"no key", "", ""},
			{"empty bearer", "Bearer ", ""},
			{"bearer without space", "Bearer" + key, ""},
			{"basic auth", "Basic " + key, ""},
			{"raw key", key, ""},
			{"unknown key", "Bearer 0123456789abcdef0123456789abcdef", ""},
			{"short key", "Bearer abc", ""},
			{"rotated key", "Bearer " + rotatedAway, ""},
			{"rotated key in query", "", "?key=" + rotatedAway},
			{"unknown key in query", "", "?key=ffffffffffffffffffffffffffffffff"},
			{"empty key in query", "", "?key="},
			{"key in other parameter", "", "?routing_key=" + key},
			{"API token as key", "Bearer " + apiToken, ""},
			{"bearer wins over query", "Bearer 0123456789abcdef0123456789abcdef", "?key=" + key},
			{"key with spaces", "Bearer " + key[:16] + " " + key[16:], ""},
		} {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				r := e.send(t, request{method: "POST", path: path + tc.query, auth: tc.auth, body: body})
				wantError(t, r, http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
				if after := e.totals(t, ""); after != before {
					t.Errorf("alerts changed: %+v → %+v", before, after)
				}
			})
		}
		// An unknown key with a bad or oversized body is still 401: nothing
		// about the body is told to, or read from, a sender without a key.
		t.Run(path+"/unknown key, bad body", func(t *testing.T) {
			r := e.send(t, request{method: "POST", path: path, auth: "Bearer 0123456789abcdef0123456789abcdef", body: `{"action":5}`})
			wantError(t, r, http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
		})
		t.Run(path+"/no key, oversized body", func(t *testing.T) {
			r := e.send(t, request{method: "POST", path: path, body: strings.Repeat(" ", klaxon.MaxBatchBytes+1)})
			wantError(t, r, http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
		})
		t.Run(path+"/good key", func(t *testing.T) {
			for _, rq := range []request{
				{method: "POST", path: path, auth: "Bearer " + key, body: body},
				{method: "POST", path: path, auth: "BEARER  " + key + " ", body: body},
				{method: "POST", path: path + "?key=" + key, body: body},
				{method: "POST", path: path + "?key=" + key + "&other=1", body: body},
			} {
				if r := e.send(t, rq); r.status != http.StatusAccepted {
					t.Errorf("%+v: %s", rq, r)
				}
			}
		})
	}
}

// TestEventAnswerShape pins the JSON types of the 202 answers.
func TestEventAnswerShape(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "shape")
	r := e.event(t, key, `{"action":"trigger","dedup_key":"shape","summary":"s","severity":"info"}`)
	var typed struct {
		Status   string  `json:"status"`
		AlertID  *string `json:"alert_id"`
		DedupKey string  `json:"dedup_key"`
	}
	if err := json.Unmarshal(r.body, &typed); err != nil || typed.AlertID == nil {
		t.Errorf("202 body %s: alert_id must be a string (%v)", r, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	r = e.batch(t, key, `[{"action":"resolve","dedup_key":"nothing-open"},{"action":"trigger","summary":"s","severity":"info"}]`)
	res := list(t, r.obj(t), "results")
	// As for a single event, a resolve that matched nothing has alert_id null.
	if v, has := res[0]["alert_id"]; !has || v != nil {
		t.Errorf("batch result for a resolve that matched nothing: alert_id %#v (present %v), want null", v, has)
	}
	if res[0]["status"] != "accepted" || res[0]["dedup_key"] != "nothing-open" {
		t.Errorf("batch resolve result: %v", res[0])
	}
	if _, ok := res[1]["alert_id"].(string); !ok {
		t.Errorf("batch alert_id is not a string: %v", res[1])
	}
}
