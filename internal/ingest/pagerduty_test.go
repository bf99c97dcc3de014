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

// testRoutingKey is a well-formed routing key (32 characters).
const testRoutingKey = "e93facc04764012d7bfb002500d5d1a6"

// pdGood are PagerDuty alert events that must decode.
var pdGood = []struct {
	name string
	body string
	want klaxon.Event
}{
	{
		// PagerDuty's documented example, with a real routing key.
		name: "every field",
		body: `{
			"payload": {
				"summary": "DISK at 99% on machine prod-datapipe03.example.com",
				"timestamp": "2015-07-17T08:42:58.315+0000",
				"severity": "critical",
				"source": "prod-datapipe03.example.com",
				"component": "mysql",
				"group": "prod-datapipe",
				"class": "disk",
				"custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}
			},
			"routing_key": "` + testRoutingKey + `",
			"dedup_key": "srv01/mysql",
			"event_action": "trigger",
			"client": "Sample Monitoring Service",
			"client_url": "https://monitoring.service.com",
			"links": [{"href": "http://pagerduty.example.com", "text": "An example link."}],
			"images": [{"src": "https://chart.googleapis.com/chart?chs=600x400", "href": "https://google.com", "alt": "An example link with an image"}]
		}`,
		want: klaxon.Event{
			Action: klaxon.ActionTrigger, DedupKey: "srv01/mysql",
			Summary: "DISK at 99% on machine prod-datapipe03.example.com", Severity: klaxon.SeverityCritical,
			Source: "prod-datapipe03.example.com", Component: "mysql", Group: "prod-datapipe", Class: "disk",
			Details: json.RawMessage(`{"free space": "1%", "ping time": "1500ms", "load avg": 0.75}`),
			Links: []klaxon.Link{
				{Href: "http://pagerduty.example.com", Text: "An example link."},
				{Href: "https://monitoring.service.com", Text: "Sample Monitoring Service"},
			},
			Images:    []klaxon.Image{{Src: "https://chart.googleapis.com/chart?chs=600x400", Href: "https://google.com", Alt: "An example link with an image"}},
			Timestamp: time.Date(2015, 7, 17, 8, 42, 58, 315e6, time.UTC),
		},
	},
	{
		name: "trigger without dedup key",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityError},
	},
	{
		name: "blank dedup key on a trigger is generated",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","dedup_key":"  ","payload":{"summary":"s","source":"h","severity":"error"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityError},
	},
	{
		name: "acknowledge",
		body: `{"routing_key":"` + testRoutingKey + `","dedup_key":"dedupkeyhere","event_action":"acknowledge"}`,
		want: klaxon.Event{Action: klaxon.ActionAcknowledge, DedupKey: "dedupkeyhere"},
	},
	{
		name: "resolve",
		body: `{"routing_key":"` + testRoutingKey + `","dedup_key":"dedupkeyhere","event_action":"resolve"}`,
		want: klaxon.Event{Action: klaxon.ActionResolve, DedupKey: "dedupkeyhere"},
	},
	{
		name: "resolve keeps what fits of its payload",
		body: `{"routing_key":"` + testRoutingKey + `","dedup_key":"k","event_action":"resolve","client_url":"https://c",
			"payload":{"summary":"` + strings.Repeat("s", 1100) + `","source":"h","severity":"ok","custom_details":{"a":1}}}`,
		want: klaxon.Event{Action: klaxon.ActionResolve, DedupKey: "k", Summary: strings.Repeat("s", 1024), Source: "h", Details: json.RawMessage(`{"a":1}`)},
	},
	{
		name: "unknown fields are ignored",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","service_key":"x","extra":[1,{"a":2}],
			"payload":{"summary":"s","source":"h","severity":"info","description":"old v1 field"},
			"links":[{"href":"https://a","rel":"x"}]}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo, Links: []klaxon.Link{{Href: "https://a"}}},
	},
	{
		name: "custom details string is wrapped",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":"free text"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo, Details: json.RawMessage(`{"custom_details":"free text"}`)},
	},
	{
		name: "custom details array is wrapped",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":[1,"two"]}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo, Details: json.RawMessage(`{"custom_details":[1,"two"]}`)},
	},
	{
		name: "custom details null is nothing",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":null}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo},
	},
	{
		name: "links without href and images without src are dropped",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"},
			"links":[{"text":"no href"},{"href":"https://a"},null],"images":[{"alt":"no src"}]}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo, Links: []klaxon.Link{{Href: "https://a"}}},
	},
	{
		name: "more than 50 links are cut to 50",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"},
			"client_url":"https://c","links":[` + repeatJoin(`{"href":"https://x"}`, 60) + `],"images":[` + repeatJoin(`{"src":"https://x"}`, 60) + `]}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo, Links: repeatLinks(50), Images: repeatImages(50)},
	},
	{
		name: "undocumented limits truncate",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","severity":"info",
			"source":"` + strings.Repeat("é", 2000) + `","component":"` + strings.Repeat("c", 2000) + `","group":"` + strings.Repeat("g", 2000) + `","class":"` + strings.Repeat("k", 2000) + `"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Severity: klaxon.SeverityInfo,
			Source: strings.Repeat("é", 1024), Component: strings.Repeat("c", 1024), Group: strings.Repeat("g", 1024), Class: strings.Repeat("k", 1024)},
	},
	{
		name: "RFC 3339 timestamp",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","timestamp":"2026-01-02T15:04:05-01:00"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo, Timestamp: time.Date(2026, 1, 2, 16, 4, 5, 0, time.UTC)},
	},
	{
		name: "unreadable timestamp is ignored",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","timestamp":"last tuesday"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: "s", Source: "h", Severity: klaxon.SeverityInfo},
	},
	{
		name: "summary of exactly 1024 characters",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"` + strings.Repeat("ü", 1024) + `","source":"h","severity":"warning"}}`,
		want: klaxon.Event{Action: klaxon.ActionTrigger, Summary: strings.Repeat("ü", 1024), Source: "h", Severity: klaxon.SeverityWarning},
	},
}

func TestDecodePagerDuty(t *testing.T) {
	for _, tc := range pdGood {
		t.Run(tc.name, func(t *testing.T) {
			key, got, problems := DecodePagerDuty([]byte(tc.body))
			if len(problems) > 0 {
				t.Fatalf("problems: %q", problems)
			}
			if key != testRoutingKey {
				t.Errorf("routing key = %q, want %q", key, testRoutingKey)
			}
			if !eventsEqual(got, tc.want) {
				t.Errorf("DecodePagerDuty =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// pdBad are PagerDuty alert events that must be refused, with every problem.
var pdBad = []struct {
	name     string
	body     string
	problems []string
}{
	{"empty body", ``, []string{"JSON parse error: body is empty; send a JSON object"}},
	{"not json", `routing_key=x`, []string{"JSON parse error: body is not valid JSON: invalid character 'r' looking for beginning of value (at byte 1)"}},
	{"trailing garbage", `{"routing_key":"` + testRoutingKey + `","event_action":"resolve","dedup_key":"k"}}`,
		[]string{"JSON parse error: body is not valid JSON: invalid character '}' after top-level value (at byte 92)"}},
	{"array", `[{"event_action":"trigger"}]`, []string{"Event object format is unrecognized (the body must be a JSON object, not array)"}},
	{"too large", `{"payload":{"custom_details":"` + strings.Repeat("x", klaxon.MaxEventBytes) + `"}}`, []string{"Event object is too large (maximum is 512 KB)"}},
	{"empty object", `{}`, []string{"'routing_key' cannot be blank", "'event_action' is missing or blank"}},
	{"short routing key, no action", `{"routing_key":"abc123"}`, []string{"Length of 'routing_key' is incorrect (should be 32 characters)", "'event_action' is missing or blank"}},
	{"long routing key", `{"routing_key":"` + testRoutingKey + `0","event_action":"resolve","dedup_key":"k"}`, []string{"Length of 'routing_key' is incorrect (should be 32 characters)"}},
	{"unknown action", `{"routing_key":"` + testRoutingKey + `","event_action":"page"}`,
		[]string{"'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"}},
	{"trigger without payload", `{"routing_key":"` + testRoutingKey + `","event_action":"trigger"}`,
		[]string{"'payload.summary' is missing or blank", "'payload.source' is missing or blank", "'payload.severity' is missing or blank"}},
	{"trigger with blank payload", `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":" ","source":"","severity":null}}`,
		[]string{"'payload.summary' is missing or blank", "'payload.source' is missing or blank", "'payload.severity' is missing or blank"}},
	{"unknown severity", `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"high"}}`,
		[]string{"'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"}},
	{"acknowledge without dedup key", `{"routing_key":"` + testRoutingKey + `","event_action":"acknowledge"}`, []string{"'dedup_key' is missing or blank"}},
	{"resolve with blank dedup key", `{"routing_key":"` + testRoutingKey + `","event_action":"resolve","dedup_key":"   "}`, []string{"'dedup_key' is missing or blank"}},
	{"summary too long", `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"` + strings.Repeat("s", 1025) + `","source":"h","severity":"info"}}`,
		[]string{"'payload.summary' is too long (maximum is 1024 characters)"}},
	{"dedup key too long", `{"routing_key":"` + testRoutingKey + `","event_action":"resolve","dedup_key":"` + strings.Repeat("k", 256) + `"}`,
		[]string{"'dedup_key' is too long (maximum is 255 characters)"}},
	{"everything wrong at once", `{"routing_key":"short","event_action":"trigger","dedup_key":"` + strings.Repeat("k", 300) + `","payload":{"severity":"urgent"}}`,
		[]string{
			"Length of 'routing_key' is incorrect (should be 32 characters)",
			"'dedup_key' is too long (maximum is 255 characters)",
			"'payload.summary' is missing or blank",
			"'payload.source' is missing or blank",
			"'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
		}},

	// Wrong JSON types: every one is listed, and none is reported again as missing.
	{"routing key number", `{"routing_key":12345678901234567890123456789012,"event_action":"resolve","dedup_key":"k"}`,
		[]string{"'routing_key' is invalid (must be a string, not number)"}},
	{"payload string", `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":"disk full"}`,
		[]string{"'payload' is invalid (must be an object, not string)"}},
	{"wrong types everywhere", `{"routing_key":"` + testRoutingKey + `","event_action":["trigger"],"dedup_key":7,
		"payload":{"summary":5,"source":true,"severity":{},"component":1,"group":[],"class":2,"timestamp":1700000000},
		"client":1,"client_url":{},"links":[{"href":1},"x",{"text":[]}],"images":[5,{"src":{},"alt":1}]}`,
		[]string{
			"'event_action' is invalid (must be a string, not array)",
			"'dedup_key' is invalid (must be a string, not number)",
			"'payload.summary' is invalid (must be a string, not number)",
			"'payload.source' is invalid (must be a string, not boolean)",
			"'payload.severity' is invalid (must be a string, not object)",
			"'payload.component' is invalid (must be a string, not number)",
			"'payload.group' is invalid (must be a string, not array)",
			"'payload.class' is invalid (must be a string, not number)",
			"'payload.timestamp' is invalid (must be a string, not number)",
			"'client' is invalid (must be a string, not number)",
			"'client_url' is invalid (must be a string, not object)",
			"'links[0].href' is invalid (must be a string, not number)",
			"'links[1]' is invalid (must be an object, not string)",
			"'links[2].text' is invalid (must be a string, not array)",
			"'images[0]' is invalid (must be an object, not number)",
			"'images[1].src' is invalid (must be a string, not object)",
			"'images[1].alt' is invalid (must be a string, not number)",
		}},
	{"links object", `{"routing_key":"` + testRoutingKey + `","event_action":"resolve","dedup_key":"k","links":{"href":"x"},"images":"x"}`,
		[]string{"'links' is invalid (must be an array, not object)", "'images' is invalid (must be an array, not string)"}},
	{"type problems are capped", `{"links":[` + repeatJoin(`1`, 500) + `]}`, append(
		repeatProblems("'links[%d]' is invalid (must be an object, not number)", maxPDProblems),
		"'routing_key' cannot be blank", "'event_action' is missing or blank")},

	// Encoding.
	{"invalid utf-8", "{\"routing_key\":\"" + testRoutingKey + "\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"\xff\",\"source\":\"h\",\"severity\":\"info\"}}",
		[]string{"'payload.summary' is not valid UTF-8 (at byte 97)"}},
	{"invalid utf-8 in a key", "{\"\xff\":1,\"routing_key\":\"" + testRoutingKey + "\",\"event_action\":\"resolve\",\"dedup_key\":\"k\"}",
		[]string{"Event object is not valid UTF-8 (at byte 2)"}},
	{"nul in source", `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h\u0000","severity":"info"}}`,
		[]string{"'payload.source' must not contain NUL characters"}},
	{"nul in custom details", `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":"\u0000"}}`,
		[]string{"'payload.custom_details' must not contain NUL characters"}},
}

func TestDecodePagerDutyProblems(t *testing.T) {
	for _, tc := range pdBad {
		t.Run(tc.name, func(t *testing.T) {
			_, ev, problems := DecodePagerDuty([]byte(tc.body))
			if !reflect.DeepEqual(problems, tc.problems) {
				t.Errorf("problems =\n%q\nwant\n%q", problems, tc.problems)
			}
			if !reflect.DeepEqual(ev, klaxon.Event{}) {
				t.Errorf("an event came with the problems: %+v", ev)
			}
		})
	}
}

// pdChangeGood are PagerDuty change events that must decode.
var pdChangeGood = []struct {
	name string
	body string
	want klaxon.ChangeEvent
}{
	{
		// PagerDuty's documented example, with a real routing key.
		name: "every field",
		body: `{
			"routing_key": "` + testRoutingKey + `",
			"payload": {
				"summary": "Build Success: Increase snapshot create timeout to 30 seconds",
				"timestamp": "2020-07-17T08:42:58.315+0000",
				"source": "acme-build-pipeline-tool-default-i-9999",
				"custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"}
			},
			"links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}]
		}`,
		want: klaxon.ChangeEvent{
			Summary:   "Build Success: Increase snapshot create timeout to 30 seconds",
			Source:    "acme-build-pipeline-tool-default-i-9999",
			Details:   json.RawMessage(`{"build_state": "passed", "build_number": "2", "run_time": "1236s"}`),
			Links:     []klaxon.Link{{Href: "https://acme.pagerduty.dev/build/2", Text: "View more details in Acme!"}},
			Timestamp: time.Date(2020, 7, 17, 8, 42, 58, 315e6, time.UTC),
		},
	},
	{
		name: "summary only",
		body: `{"routing_key":"` + testRoutingKey + `","payload":{"summary":"deployed v2"}}`,
		want: klaxon.ChangeEvent{Summary: "deployed v2"},
	},
	{
		name: "images and unknown fields are ignored, details wrapped",
		body: `{"routing_key":"` + testRoutingKey + `","event_action":"trigger","images":[{"src":"https://i"}],
			"payload":{"summary":"deployed","severity":"info","custom_details":42},"links":[{"text":"no href"}]}`,
		want: klaxon.ChangeEvent{Summary: "deployed", Details: json.RawMessage(`{"custom_details":42}`)},
	},
}

func TestDecodePagerDutyChange(t *testing.T) {
	for _, tc := range pdChangeGood {
		t.Run(tc.name, func(t *testing.T) {
			key, got, problems := DecodePagerDutyChange([]byte(tc.body))
			if len(problems) > 0 {
				t.Fatalf("problems: %q", problems)
			}
			if key != testRoutingKey {
				t.Errorf("routing key = %q, want %q", key, testRoutingKey)
			}
			if !got.Timestamp.Equal(tc.want.Timestamp) {
				t.Errorf("timestamp = %v, want %v", got.Timestamp, tc.want.Timestamp)
			}
			got.Timestamp, tc.want.Timestamp = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DecodePagerDutyChange =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// pdChangeBad are PagerDuty change events that must be refused.
var pdChangeBad = []struct {
	name     string
	body     string
	problems []string
}{
	{"empty body", ``, []string{"JSON parse error: body is empty; send a JSON object"}},
	{"number", `12`, []string{"Event object format is unrecognized (the body must be a JSON object, not number)"}},
	{"empty object", `{}`, []string{"'routing_key' cannot be blank", "'payload.summary' is missing or blank"}},
	{"short routing key", `{"routing_key":"R123","payload":{"summary":"s"}}`, []string{"Length of 'routing_key' is incorrect (should be 32 characters)"}},
	{"summary too long", `{"routing_key":"` + testRoutingKey + `","payload":{"summary":"` + strings.Repeat("s", 1025) + `"}}`,
		[]string{"'payload.summary' is too long (maximum is 1024 characters)"}},
	{"wrong types", `{"routing_key":"` + testRoutingKey + `","payload":{"summary":["s"],"source":1,"timestamp":false},"links":"x"}`,
		[]string{
			"'payload.summary' is invalid (must be a string, not array)",
			"'payload.source' is invalid (must be a string, not number)",
			"'payload.timestamp' is invalid (must be a string, not boolean)",
			"'links' is invalid (must be an array, not string)",
		}},
	{"payload array", `{"routing_key":"` + testRoutingKey + `","payload":[]}`, []string{"'payload' is invalid (must be an object, not array)"}},
	{"nul in link", `{"routing_key":"` + testRoutingKey + `","payload":{"summary":"s"},"links":[{"href":"https://a","text":"\u0000"}]}`,
		[]string{"'links[0].text' must not contain NUL characters"}},
}

func TestDecodePagerDutyChangeProblems(t *testing.T) {
	for _, tc := range pdChangeBad {
		t.Run(tc.name, func(t *testing.T) {
			_, ev, problems := DecodePagerDutyChange([]byte(tc.body))
			if !reflect.DeepEqual(problems, tc.problems) {
				t.Errorf("problems =\n%q\nwant\n%q", problems, tc.problems)
			}
			if !reflect.DeepEqual(ev, klaxon.ChangeEvent{}) {
				t.Errorf("an event came with the problems: %+v", ev)
			}
		})
	}
}

func TestPagerDutyTimestamps(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2015-07-17T08:42:58.315+0000", time.Date(2015, 7, 17, 8, 42, 58, 315e6, time.UTC)},
		{"2015-07-17T08:42:58+0200", time.Date(2015, 7, 17, 6, 42, 58, 0, time.UTC)},
		{"2015-07-17T08:42:58.315-0130", time.Date(2015, 7, 17, 10, 12, 58, 315e6, time.UTC)},
		{"2015-07-17T08:42:58Z", time.Date(2015, 7, 17, 8, 42, 58, 0, time.UTC)},
		{"2015-07-17T08:42:58.123456789+05:30", time.Date(2015, 7, 17, 3, 12, 58, 123456789, time.UTC)},
		{"", time.Time{}},
		{"2015-07-17", time.Time{}},
		{"1437122578", time.Time{}},
		{"2015-07-17T08:42:58", time.Time{}},
	} {
		if got := pdTime(tc.in); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("pdTime(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func repeatImages(n int) []klaxon.Image {
	images := make([]klaxon.Image, n)
	for i := range images {
		images[i] = klaxon.Image{Src: "https://x"}
	}
	return images
}

func repeatProblems(format string, n int) []string {
	problems := make([]string, n)
	for i := range problems {
		problems[i] = fmt.Sprintf(format, i)
	}
	return problems
}
