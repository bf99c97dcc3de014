package notify

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

func TestStatusTitle(t *testing.T) {
	page := klaxon.StatusPage{Name: "Acme Status"}
	inc := klaxon.StatusIncident{ID: 12, Name: "Checkout errors", Status: klaxon.IncidentMonitoring}
	for _, tc := range []struct {
		name string
		m    Message
		want string
	}{
		{"update", Message{Kind: KindStatusUpdate, Status: &StatusNotice{Page: page, Incident: inc,
			Update: updateOf(klaxon.IncidentIdentified)}}, "[Acme Status] Checkout errors: Identified"},
		{"update keeping the status", Message{Kind: KindStatusUpdate, Status: &StatusNotice{Page: page, Incident: inc}},
			"[Acme Status] Checkout errors: Monitoring"},
		{"maintenance", Message{Kind: KindStatusUpdate, Status: &StatusNotice{Page: page, Incident: inc,
			Update: updateOf(klaxon.MaintenanceInProgress)}}, "[Acme Status] Checkout errors: In progress"},
		{"confirm", Message{Kind: KindStatusConfirm, Status: &StatusNotice{Page: page}}, "Confirm your subscription to Acme Status"},
		{"no notice", Message{Kind: KindStatusUpdate}, ""},
	} {
		if got := StatusTitle(tc.m); got != tc.want {
			t.Errorf("%s: StatusTitle = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func updateOf(s klaxon.IncidentStatus) klaxon.IncidentUpdate { return klaxon.IncidentUpdate{Status: s} }

func TestStatusTime(t *testing.T) {
	at := time.Date(2018, 1, 23, 22, 16, 30, 0, time.UTC)
	for zone, want := range map[string]string{
		"America/Los_Angeles": "Jan 23, 2018 - 14:16 PST",
		"Europe/Berlin":       "Jan 23, 2018 - 23:16 CET",
		"Asia/Kolkata":        "Jan 24, 2018 - 03:46 IST",
		"UTC":                 "Jan 23, 2018 - 22:16 UTC",
		"":                    "Jan 23, 2018 - 22:16 UTC",
		"Not/AZone":           "Jan 23, 2018 - 22:16 UTC",
	} {
		if got := StatusTime(at, zone); got != want {
			t.Errorf("StatusTime(%q) = %q, want %q", zone, got, want)
		}
	}
}

func TestIncidentURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://status.acme.example":  "https://status.acme.example/incidents/12",
		"https://status.acme.example/": "https://status.acme.example/incidents/12",
		"https://acme.example/status/": "https://acme.example/status/incidents/12",
	} {
		n := StatusNotice{PageURL: base, Incident: klaxon.StatusIncident{ID: 12}}
		if got := n.IncidentURL(); got != want {
			t.Errorf("IncidentURL(%q) = %q, want %q", base, got, want)
		}
	}
}
