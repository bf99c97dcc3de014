package ingest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// nativeGood are native events that must decode, with what they decode to.
var nativeGood = []struct {
	name string
	body string
	want klaxon.Event
}{
	{
		name: "every field",
		body: `{
			"action": "trigger",
			"dedup_key": "db-1/disk",
			"summary": "Disk 95% full on db-1",
			"severity": "critical",
			"source": "db-1.example.com",
			"component": "postgres",
			"group": "prod-db",
			"class": "disk",
			"details": {"free": "5%", "load": [0.5, 0.7], "nested": {"ok": false}},
			"links": [{"href": "https://grafana.example.com/d/1", "text": "Dashboard"}, {"href": "https://runbooks.example.com/disk"}],
			"images": [{"src": "https://img.example.com/disk.png", "href": "https://grafana.example.com/d/1", "alt": "Disk graph"}],
			"timestamp": "2026-03-04T17:04:05.123456789+02:00"
		}`,
		want: klaxon.Event{
			Action: klaxon.ActionTrigger, DedupKey: "db-1/disk", Summary: "Disk 95% full on db-1",
			Severity: klaxon.SeverityCritical, Source: "db-1.example.com", Component: "postgres",
			Group: "prod-db", Class: "disk",
			Details: json.RawMessage(`{"free": "5%", "load": [0.5, 0.7], "nested": {"ok": false}}`),
			Links: []klaxon.Link{
				{Href: "https://grafana.example.com/d/1", Text: "Dashboard"},
				{Href: "https://runbooks.example.com/disk"},
			},
			Images:    []klaxon.Image{{Src: "https://img.example.com/disk.png", Href: "https://grafana.example.com/d/1", Alt: "Disk graph"}},
			Timestamp: time.Date(2026, 3, 4, 15, 4, 5, 123456789, time.UTC),
		},
	},
	{
		name: "trigger without dedup key",
		body: `{"action":"trigger","summary":"CPU hot","severity":"warning"}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "CPU hot", Severity: klaxon.SeverityWarning},
	},
	{
		name: "acknowledge",
		body: `{"action":"acknowledge","dedup_key":"k1"}`,
		want: klaxon.Event{Action: klaxon.ActionAcknowledge, DedupKey: "k1"},
	},
	{
		name: "resolve with severity and summary",
		body: `{"action":"resolve","dedup_key":"k1","severity":"info","summary":"back to normal"}`,
		want: klaxon.Event{Action: klaxon.ActionResolve, DedupKey: "k1", Severity: klaxon.SeverityInfo, Summary: "back to normal"},
	},
	{
		name: "nulls are absent",
		body: `{"action":"trigger","summary":"s","severity":"error","source":null,"details":null,"links":null,"images":null,"timestamp":null}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityError},
	},
	{
		name: "empty arrays are absent",
		body: `{"action":"trigger","summary":"s","severity":"error","links":[],"images":[]}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityError},
	},
	{
		name: "empty details object is kept",
		body: `{"action":"trigger","summary":"s","severity":"error","details":{}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityError, Details: json.RawMessage(`{}`)},
	},
	{
		name: "timestamp in UTC without fraction",
		body: `{"action":"trigger","summary":"s","severity":"info","timestamp":"2026-01-02T15:04:05Z"}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityInfo, Timestamp: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
	},
	{
		name: "empty timestamp is absent",
		body: `{"action":"trigger","summary":"s","severity":"info","timestamp":""}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityInfo},
	},
	{
		name: "escaped key names a known field",
		body: `{"action":"trigger","summ\u0061ry":"s","severity":"info"}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityInfo},
	},
	{
		name: "escapes and unicode in values",
		body: `{"action":"trigger","summary":"l\u00e9gende \"quoted\" 🔥\n","severity":"info","details":{"path":"C:\\u0000dir"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "légende \"quoted\" 🔥\n", Severity: klaxon.SeverityInfo, Details: json.RawMessage(`{"path":"C:\\u0000dir"}`)},
	},
	{
		name: "summary of exactly 1024 multibyte characters",
		body: `{"action":"trigger","summary":"` + strings.Repeat("é", 1024) + `","severity":"info"}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: strings.Repeat("é", 1024), Severity: klaxon.SeverityInfo},
	},
	{
		name: "fifty links",
		body: `{"action":"trigger","summary":"s","severity":"info","links":[` + repeatJoin(`{"href":"https://x"}`, 50) + `]}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityInfo, Links: repeatLinks(50)},
	},
	{
		name: "whitespace around the object",
		body: " \n\t{\"action\":\"acknowledge\",\"dedup_key\":\"k\"}\r\n ",
		want: klaxon.Event{Action: klaxon.ActionAcknowledge, DedupKey: "k"},
	},
}

func TestDecodeNative(t *testing.T) {
	for _, tc := range nativeGood {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeNative([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeNative: %v", err)
			}
			if !eventsEqual(got, tc.want) {
				t.Errorf("DecodeNative =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// nativeBad are native bodies that must be refused, with the error.
var nativeBad = []struct {
	name    string
	body    string
	code    klaxon.ErrorCode
	field   string
	message string // a part of the message
}{
	// The body as a whole.
	{"empty body", ``, klaxon.EINVALID, "body", "is empty"},
	{"blank body", " \n\t ", klaxon.EINVALID, "body", "is empty"},
	{"not json", `hello`, klaxon.EINVALID, "body", "is not valid JSON: invalid character 'h' looking for beginning of value (at byte 1)"},
	{"truncated json", `{"action":"trigger"`, klaxon.EINVALID, "body", "is not valid JSON"},
	{"single quotes", `{'action':'trigger'}`, klaxon.EINVALID, "body", "is not valid JSON"},
	{"trailing comma", `{"action":"trigger",}`, klaxon.EINVALID, "body", "is not valid JSON"},
	{"array", `[{"action":"trigger","summary":"s","severity":"info"}]`, klaxon.EINVALID, "body", "must be a JSON object, not array"},
	{"string", `"trigger"`, klaxon.EINVALID, "body", "must be a JSON object, not string"},
	{"number", `42`, klaxon.EINVALID, "body", "must be a JSON object, not number"},
	{"null", `null`, klaxon.EINVALID, "body", "must be a JSON object, not null"},
	{"trailing garbage", `{"action":"acknowledge","dedup_key":"k"} x`, klaxon.EINVALID, "body", "after top-level value"},
	{"two objects", `{"action":"acknowledge","dedup_key":"k"}{"action":"acknowledge","dedup_key":"k"}`, klaxon.EINVALID, "body", "after top-level value"},
	{"too large", `{"action":"trigger","summary":"s","severity":"info","details":{"x":"` + strings.Repeat("a", klaxon.MaxEventBytes) + `"}}`, klaxon.ETOOLARGE, "body", "at most 524288"},

	// Wrong JSON types, every field.
	{"action number", `{"action":1}`, klaxon.EINVALID, "action", "must be a string, not number"},
	{"dedup_key boolean", `{"action":"acknowledge","dedup_key":true}`, klaxon.EINVALID, "dedup_key", "must be a string, not boolean"},
	{"summary number", `{"action":"trigger","summary":12345,"severity":"info"}`, klaxon.EINVALID, "summary", "must be a string, not number"},
	{"severity array", `{"action":"trigger","summary":"s","severity":["critical"]}`, klaxon.EINVALID, "severity", "must be a string, not array"},
	{"source object", `{"action":"trigger","summary":"s","severity":"info","source":{"host":"a"}}`, klaxon.EINVALID, "source", "must be a string, not object"},
	{"component number", `{"action":"trigger","summary":"s","severity":"info","component":1.5}`, klaxon.EINVALID, "component", "must be a string, not number"},
	{"group boolean", `{"action":"trigger","summary":"s","severity":"info","group":false}`, klaxon.EINVALID, "group", "must be a string, not boolean"},
	{"class array", `{"action":"trigger","summary":"s","severity":"info","class":[]}`, klaxon.EINVALID, "class", "must be a string, not array"},
	{"details string", `{"action":"trigger","summary":"s","severity":"info","details":"disk full"}`, klaxon.EINVALID, "details", "must be an object, not string"},
	{"details array", `{"action":"trigger","summary":"s","severity":"info","details":[1,2]}`, klaxon.EINVALID, "details", "must be an object, not array"},
	{"details number", `{"action":"trigger","summary":"s","severity":"info","details":5}`, klaxon.EINVALID, "details", "must be an object, not number"},
	{"links string", `{"action":"trigger","summary":"s","severity":"info","links":"https://x"}`, klaxon.EINVALID, "links", "must be an array, not string"},
	{"links object", `{"action":"trigger","summary":"s","severity":"info","links":{"href":"https://x"}}`, klaxon.EINVALID, "links", "must be an array, not object"},
	{"images number", `{"action":"trigger","summary":"s","severity":"info","images":3}`, klaxon.EINVALID, "images", "must be an array, not number"},
	{"timestamp number", `{"action":"trigger","summary":"s","severity":"info","timestamp":1767366245}`, klaxon.EINVALID, "timestamp", "must be a string, not number"},
	{"first wrong type in document order", `{"summary":5,"action":7}`, klaxon.EINVALID, "summary", "must be a string, not number"},

	// Wrong types inside links and images.
	{"link href number", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"https://a"},{"href":7}]}`, klaxon.EINVALID, "links[1].href", "must be a string, not number"},
	{"link not an object", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"https://a"},"https://b"]}`, klaxon.EINVALID, "links[1]", "must be an object, not string"},
	{"link text object", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"https://a","text":{"a":1}}]}`, klaxon.EINVALID, "links[0].text", "must be a string, not object"},
	{"image alt array", `{"action":"trigger","summary":"s","severity":"info","images":[{"src":"https://a","alt":[]}]}`, klaxon.EINVALID, "images[0].alt", "must be a string, not array"},
	{"image nested array", `{"action":"trigger","summary":"s","severity":"info","images":[[]]}`, klaxon.EINVALID, "images[0]", "must be an object, not array"},

	// Unknown and repeated fields.
	{"unknown field", `{"action":"trigger","summary":"s","severty":"critical"}`, klaxon.EINVALID, "severty", "is not a known field"},
	{"field with wrong case", `{"action":"trigger","Summary":"s","severity":"info"}`, klaxon.EINVALID, "Summary", "is not a known field"},
	{"unknown link field", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"https://a"},{"url":"https://b"}]}`, klaxon.EINVALID, "links[1].url", "is not a known field"},
	{"unknown image field", `{"action":"trigger","summary":"s","severity":"info","images":[{"src":"https://a","title":"t"}]}`, klaxon.EINVALID, "images[0].title", "is not a known field"},
	{"pagerduty body", `{"routing_key":"k","event_action":"trigger","payload":{}}`, klaxon.EINVALID, "routing_key", "is not a known field"},
	{"long unknown field is clipped", `{"` + strings.Repeat("x", 1000) + `":1}`, klaxon.EINVALID, strings.Repeat("x", maxNameInError) + "…", "is not a known field"},
	{"empty field name", `{"action":"acknowledge","dedup_key":"k","":1}`, klaxon.EINVALID, `""`, "is not a known field"},
	{"empty field name in a link", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"h","":1}]}`, klaxon.EINVALID, `links[0].""`, "is not a known field"},
	{"repeated field", `{"action":"trigger","summary":"a","summary":"b","severity":"info"}`, klaxon.EINVALID, "summary", "is given more than once"},

	// Values.
	{"missing action", `{"summary":"s","severity":"info"}`, klaxon.EINVALID, "action", "is required"},
	{"unknown action", `{"action":"page","summary":"s","severity":"info"}`, klaxon.EINVALID, "action", `must be trigger, acknowledge or resolve, not "page"`},
	{"action with wrong case", `{"action":"Trigger","summary":"s","severity":"info"}`, klaxon.EINVALID, "action", "must be trigger, acknowledge or resolve"},
	{"missing summary", `{"action":"trigger","severity":"info"}`, klaxon.EINVALID, "summary", "is required for a trigger"},
	{"blank summary", `{"action":"trigger","summary":"  \t ","severity":"info"}`, klaxon.EINVALID, "summary", "is required for a trigger"},
	{"missing severity", `{"action":"trigger","summary":"s"}`, klaxon.EINVALID, "severity", "is required for a trigger"},
	{"unknown severity", `{"action":"trigger","summary":"s","severity":"high"}`, klaxon.EINVALID, "severity", `not "high"`},
	{"severity with wrong case", `{"action":"trigger","summary":"s","severity":"CRITICAL"}`, klaxon.EINVALID, "severity", "must be critical, error, warning or info"},
	{"resolve with unknown severity", `{"action":"resolve","dedup_key":"k","severity":"ok"}`, klaxon.EINVALID, "severity", "must be critical, error, warning or info"},
	{"acknowledge without dedup key", `{"action":"acknowledge"}`, klaxon.EINVALID, "dedup_key", "is required to acknowledge"},
	{"resolve without dedup key", `{"action":"resolve","dedup_key":""}`, klaxon.EINVALID, "dedup_key", "is required to resolve"},
	{"link without href", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"https://a"},{"text":"no href"}]}`, klaxon.EINVALID, "links[1].href", "is required"},
	{"link null", `{"action":"trigger","summary":"s","severity":"info","links":[null]}`, klaxon.EINVALID, "links[0].href", "is required"},
	{"image without src", `{"action":"trigger","summary":"s","severity":"info","images":[{"alt":"a"}]}`, klaxon.EINVALID, "images[0].src", "is required"},

	// Too long.
	{"summary too long", `{"action":"trigger","summary":"` + strings.Repeat("s", 1025) + `","severity":"info"}`, klaxon.EINVALID, "summary", "is 1025 characters long; at most 1024"},
	{"dedup key too long", `{"action":"resolve","dedup_key":"` + strings.Repeat("k", 256) + `"}`, klaxon.EINVALID, "dedup_key", "is 256 characters long; at most 255"},
	{"source too long", `{"action":"trigger","summary":"s","severity":"info","source":"` + strings.Repeat("é", 1025) + `"}`, klaxon.EINVALID, "source", "is 1025 characters long"},
	{"component too long", `{"action":"trigger","summary":"s","severity":"info","component":"` + strings.Repeat("c", 1025) + `"}`, klaxon.EINVALID, "component", "at most 1024"},
	{"group too long", `{"action":"trigger","summary":"s","severity":"info","group":"` + strings.Repeat("g", 1025) + `"}`, klaxon.EINVALID, "group", "at most 1024"},
	{"class too long", `{"action":"trigger","summary":"s","severity":"info","class":"` + strings.Repeat("c", 1025) + `"}`, klaxon.EINVALID, "class", "at most 1024"},
	{"51 links", `{"action":"trigger","summary":"s","severity":"info","links":[` + repeatJoin(`{"href":"https://x"}`, 51) + `]}`, klaxon.EINVALID, "links", "has 51 entries; at most 50"},
	{"huge number of links", `{"action":"trigger","summary":"s","severity":"info","links":[` + repeatJoin(`{"href":"h"}`, 20000) + `]}`, klaxon.EINVALID, "links", "has 20000 entries"},
	{"51 images", `{"action":"trigger","summary":"s","severity":"info","images":[` + repeatJoin(`{"src":"https://x"}`, 51) + `]}`, klaxon.EINVALID, "images", "has 51 entries"},

	// Encoding.
	{"invalid utf-8 in summary", "{\"action\":\"trigger\",\"summary\":\"bad \xff byte\",\"severity\":\"info\"}", klaxon.EINVALID, "summary", "is not valid UTF-8 (at byte 35)"},
	{"invalid utf-8 in link text", "{\"action\":\"trigger\",\"summary\":\"s\",\"severity\":\"info\",\"links\":[{\"href\":\"https://a\",\"text\":\"\xc3\x28\"}]}", klaxon.EINVALID, "links[0].text", "is not valid UTF-8"},
	{"invalid utf-8 in details", "{\"action\":\"trigger\",\"summary\":\"s\",\"severity\":\"info\",\"details\":{\"note\":\"\xed\xa0\x80\"}}", klaxon.EINVALID, "details.note", "is not valid UTF-8"},
	{"invalid utf-8 in a key", "{\"action\":\"trigger\",\"summary\":\"s\",\"severity\":\"info\",\"details\":{\"\xff\":1}}", klaxon.EINVALID, "details", "is not valid UTF-8"},
	{"nul in summary", `{"action":"trigger","summary":"a\u0000b","severity":"info"}`, klaxon.EINVALID, "summary", "must not contain NUL"},
	{"nul in link href", `{"action":"trigger","summary":"s","severity":"info","links":[{"href":"https://a\u0000"}]}`, klaxon.EINVALID, "links[0].href", "must not contain NUL"},
	{"nul in details", `{"action":"trigger","summary":"s","severity":"info","details":{"a":["\u0000"]}}`, klaxon.EINVALID, "details", "must not contain NUL"},

	// Timestamps.
	{"timestamp words", `{"action":"trigger","summary":"s","severity":"info","timestamp":"yesterday"}`, klaxon.EINVALID, "timestamp", `must be an RFC 3339 time such as "2026-01-02T15:04:05Z", not "yesterday"`},
	{"timestamp with space", `{"action":"trigger","summary":"s","severity":"info","timestamp":"2026-01-02 15:04:05Z"}`, klaxon.EINVALID, "timestamp", "must be an RFC 3339 time"},
	{"timestamp offset without colon", `{"action":"trigger","summary":"s","severity":"info","timestamp":"2015-07-17T08:42:58.315+0000"}`, klaxon.EINVALID, "timestamp", "must be an RFC 3339 time"},
	{"timestamp without zone", `{"action":"trigger","summary":"s","severity":"info","timestamp":"2026-01-02T15:04:05"}`, klaxon.EINVALID, "timestamp", "must be an RFC 3339 time"},
	{"timestamp month 13", `{"action":"trigger","summary":"s","severity":"info","timestamp":"2026-13-01T00:00:00Z"}`, klaxon.EINVALID, "timestamp", "must be an RFC 3339 time"},
	{"timestamp blank", `{"action":"trigger","summary":"s","severity":"info","timestamp":" "}`, klaxon.EINVALID, "timestamp", "must be an RFC 3339 time"},
}

func TestDecodeNativeErrors(t *testing.T) {
	for _, tc := range nativeBad {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeNative([]byte(tc.body))
			checkError(t, err, tc.code, tc.field, tc.message)
			if !reflect.DeepEqual(ev, klaxon.Event{}) {
				t.Errorf("an event came with the error: %+v", ev)
			}
		})
	}
}

// checkError asserts that err is a *klaxon.Error with the code and field, and
// a message that holds message.
func checkError(t *testing.T, err error, code klaxon.ErrorCode, field, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s %q: %q", code, field, message)
	}
	e, ok := err.(*klaxon.Error)
	if !ok {
		t.Fatalf("error %T %v is not a *klaxon.Error", err, err)
	}
	if e.Code != code || e.Field != field || !strings.Contains(e.Message, message) {
		t.Errorf("error = %s %q: %q\nwant    %s %q: …%q…", e.Code, e.Field, e.Message, code, field, message)
	}
}

// eventsEqual compares events, timestamps by instant.
func eventsEqual(a, b klaxon.Event) bool {
	if !a.Timestamp.Equal(b.Timestamp) || !a.ReceivedAt.Equal(b.ReceivedAt) {
		return false
	}
	a.Timestamp, b.Timestamp, a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func repeatJoin(s string, n int) string {
	return strings.TrimSuffix(strings.Repeat(s+",", n), ",")
}

func repeatLinks(n int) []klaxon.Link {
	links := make([]klaxon.Link, n)
	for i := range links {
		links[i] = klaxon.Link{Href: "https://x"}
	}
	return links
}

// The shapes must list exactly the fields of the wire structs they guard, or
// a field would be decoded but refused as unknown, or checked but never read.
func TestShapesMatchWireStructs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape *shape
		wire  any
	}{
		{"native", nativeShape, nativeEvent{}},
		{"link", linkShape, wireLink{}},
		{"image", imageShape, wireImage{}},
		{"pagerduty", pdEventShape, pdEvent{}},
		{"pagerduty payload", pdEventShape.fields[3].shape, pdPayload{}},
		{"pagerduty change", pdChangeShape, pdChangeEvent{}},
		{"pagerduty change payload", pdChangeShape.fields[1].shape, pdChangePayload{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for _, f := range tc.shape.fields {
				names = append(names, f.name)
			}
			var tags []string
			typ := reflect.TypeOf(tc.wire)
			for i := range typ.NumField() {
				tags = append(tags, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
			}
			if fmt.Sprint(names) != fmt.Sprint(tags) {
				t.Errorf("shape fields %v\nwire fields  %v", names, tags)
			}
		})
	}
}
