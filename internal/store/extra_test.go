package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// Details that are not JSON are refused with an error naming them, never
// stored.
func TestEventExtraBadDetails(t *testing.T) {
	for _, d := range []string{`{`, `{"a":}`, `nope`, `{"a":1}}`, "\"\xff"} {
		if _, err := (&eventExtra{Summary: "s", Details: json.RawMessage(d)}).encode(); err == nil {
			t.Errorf("details %q encoded without an error", d)
		}
	}
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
