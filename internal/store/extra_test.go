package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// encode must store what json.Marshal stored before it: the same bytes for
// the text fields, and details and links that decode the same.
func TestEventExtraEncodeAsMarshal(t *testing.T) {
	cases := []eventExtra{
		{},
		{Severity: "critical", Summary: "CPU above 95% on web-1", Source: "web-1"},
		{Summary: "quotes \" and \\ backslash, <tags> & amps", Class: "x"},
		{Summary: "controls \x00 \x01 \x1f \b \f \n \r \t end"},
		{Summary: "invalid \xff\xfe utf-8 \xc3", Group: "\xe2\x82"},
		{Summary: "ü ✓ 🚨 \u2028 \u2029 separators"},
		{Component: "db", Details: json.RawMessage(`{ "free" : "0%",  "nested": {"a": [1, 2, 3]}, "html": "<b>&</b>" }`)},
		{Details: json.RawMessage(`[1,2]`), Links: []klaxon.Link{{Href: "https://runbook", Text: "run <book>"}}, Images: []klaxon.Image{{Src: "https://graph.png", Alt: "graph"}}},
		{Links: []klaxon.Link{{Href: "https://x"}}},
	}
	for _, x := range cases {
		got, err := x.encode()
		if err != nil {
			t.Fatalf("%+v: %v", x, err)
		}
		want := marshalExtra(t, x)
		if x.Details == nil && (got != want) {
			t.Errorf("encode(%+v)\n = %s\nwant %s", x, got, want)
		}
		if !sameExtra(t, got, want) {
			t.Errorf("encode(%+v) = %s decodes unlike json.Marshal's %s", x, got, want)
		}
	}
}

func TestEventExtraBadDetails(t *testing.T) {
	for _, d := range []string{`{`, `{"a":}`, `nope`, `{"a":1}}`, "\"\xff"} {
		if _, err := (&eventExtra{Summary: "s", Details: json.RawMessage(d)}).encode(); err == nil {
			t.Errorf("details %q encoded without an error", d)
		}
	}
}

func FuzzEventExtraEncode(f *testing.F) {
	f.Add("critical", "CPU above 95% <on> web-1", "web-1", "db", "prod", "disk", `{"a":[1,"x"]}`, "https://runbook")
	f.Add("", "\x00\xff\u2028", "", "", "", "", ``, "")
	f.Add("info", "\"\\", "s", "", "", "", `  [ 1 , 2 ] `, "")
	f.Fuzz(func(t *testing.T, severity, summary, source, component, group, class, details, link string) {
		x := eventExtra{Severity: severity, Summary: summary, Source: source, Component: component, Group: group, Class: class}
		if details != "" {
			x.Details = json.RawMessage(details)
		}
		if link != "" {
			x.Links = []klaxon.Link{{Href: link}}
		}
		got, err := x.encode()
		want, werr := json.Marshal(x)
		if (err != nil) != (werr != nil) {
			t.Fatalf("encode error %v, json.Marshal error %v", err, werr)
		}
		if err != nil {
			return
		}
		if string(want) == "{}" {
			want = nil
		}
		if x.Details == nil && got != string(want) {
			t.Fatalf("encode = %s, json.Marshal = %s", got, want)
		}
		if !sameExtra(t, got, string(want)) {
			t.Fatalf("encode = %s decodes unlike json.Marshal's %s", got, want)
		}
	})
}

func marshalExtra(t *testing.T, x eventExtra) string {
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) == "{}" {
		return ""
	}
	return string(b)
}

// sameExtra compares two encodings by what they decode to, details included
// as values (the two compact them differently: Marshal escapes < > &).
func sameExtra(t *testing.T, a, b string) bool {
	t.Helper()
	xa, err := decodeExtra(a)
	if err != nil {
		t.Fatalf("decoding %s: %v", a, err)
	}
	xb, err := decodeExtra(b)
	if err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	var da, db any
	if len(xa.Details) > 0 {
		json.Unmarshal(xa.Details, &da)
	}
	if len(xb.Details) > 0 {
		json.Unmarshal(xb.Details, &db)
	}
	xa.Details, xb.Details = nil, nil
	return reflect.DeepEqual(xa, xb) && reflect.DeepEqual(da, db)
}

// An event stored in the layout a later release will write (severity …
// class in extra, their columns empty) reads back whole beside one stored
// now (columns), so that this release can be run again after that one.
func TestEventsOfBothLayoutsReadBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, svc := openFoldStore(t, path)
	res, err := s.Ingest(ctx, []klaxon.Event{{ServiceID: svc.ID, IntegrationID: 1, Action: klaxon.ActionTrigger,
		DedupKey: "k", Summary: "summary now", Severity: klaxon.SeverityError, Source: "host-now", Class: "now"}})
	if err != nil {
		t.Fatal(err)
	}
	alertID := res[0].AlertID
	s.Close()

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var severity, summary, extra string
	if err := db.QueryRow(`SELECT severity, summary, extra FROM events WHERE alert_id = ?`, alertID).Scan(&severity, &summary, &extra); err != nil {
		t.Fatal(err)
	}
	if severity != "error" || summary != "summary now" || extra != "" {
		t.Fatalf("this release stored severity %q, summary %q, extra %q: the previous release reads the columns", severity, summary, extra)
	}
	if _, err := db.Exec(`INSERT INTO events (alert_id, service_id, integration_id, action, dedup_key, severity, summary, source, component, grp, class, extra, ts, received_at)
VALUES (?, ?, 1, 'trigger', 'k', '', '', '', '', '', '', '{"severity":"warning","summary":"summary later","source":"host-later","component":"comp-later","group":"grp-later","class":"later","details":{"n":1}}', 1, 2)`, alertID, svc.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, _ = openFoldStore(t, path) // the recount at Open lists the row on its alert
	defer s.Close()
	evs, err := s.AlertEvents(ctx, alertID)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	later, now := evs[0], evs[1] // newest first
	if later.Summary != "summary later" || later.Severity != klaxon.SeverityWarning || later.Source != "host-later" ||
		later.Component != "comp-later" || later.Group != "grp-later" || later.Class != "later" || string(later.Details) != `{"n":1}` {
		t.Fatalf("event in the later layout read back as %+v", later)
	}
	if now.Summary != "summary now" || now.Severity != klaxon.SeverityError || now.Source != "host-now" || now.Class != "now" {
		t.Fatalf("event stored now read back as %+v", now)
	}
}
