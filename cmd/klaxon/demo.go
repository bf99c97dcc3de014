package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// demoServices mirror the parts of a real notification service (DESIGN.md
// §10), so the demo alerts on things a visitor recognises.
var demoServices = []struct{ name, description string }{
	{"Web Interface", "The operator console"},
	{"Mobile Interface", "The console on phones"},
	{"Email Notifications", "Outbound email to responders"},
	{"SMS Notifications", "Outbound SMS to responders"},
	{"Voice Notifications", "Outbound phone calls to responders"},
	{"Mobile Push Notifications", "Push messages to the mobile app"},
	{"Conferencing", "Bridges for major incidents"},
	{"Integration Platform", "Inbound integrations from monitoring tools"},
	{"REST API", "The public REST API"},
	{"Email Initiation", "Events started by inbound email"},
}

// loadDemo creates the demo organisation on first use and prints an
// integration key per service. Keys are stored hashed and cannot be shown
// again, so on later starts the demo keys are rotated and the new ones
// printed.
func loadDemo(ctx context.Context, st *store.Store, stdout io.Writer) error {
	const actor = "system (demo)"
	existing := map[string]klaxon.Service{}
	list, err := st.ListServices(ctx, klaxon.Page{Limit: klaxon.MaxPageSize})
	if err != nil {
		return err
	}
	for _, svc := range list {
		existing[svc.Name] = svc
	}
	ours := map[string]klaxon.Service{} // the demo's services, which its status components follow
	fmt.Fprintln(stdout, "Demo organisation loaded. Integration keys (use with 'klaxon inject --key KEY' or POST /api/v1/events):")
	for _, d := range demoServices {
		svc, ok := existing[d.name]
		var key string
		if !ok {
			svc = klaxon.Service{Name: d.name, Description: d.description}
			if err := st.CreateService(ctx, actor, &svc); err != nil {
				return err
			}
			in := klaxon.Integration{ServiceID: svc.ID, Kind: klaxon.IntegrationAPI, Name: demoIntegrationName}
			if key, err = st.CreateIntegration(ctx, actor, &in); err != nil {
				return err
			}
			if err := demoAlerts(ctx, st, svc, in); err != nil {
				return err
			}
		} else {
			// Only the demo's own integration is rotated: a real service
			// that happens to share a demo name keeps its keys.
			demo, err := demoIntegration(ctx, st, svc.ID)
			if err != nil {
				return err
			}
			if demo == 0 {
				fmt.Fprintf(stdout, "  %-26s (a service of this name exists and is not the demo's; left alone)\n", d.name)
				continue
			}
			if _, key, err = st.RotateIntegrationKey(ctx, actor, svc.ID, demo); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "  %-26s %s\n", d.name, key)
		ours[d.name] = svc
	}
	if err := loadDemoStatusPage(ctx, st, ours, time.Now()); err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	return nil
}

// demoIntegrationName marks the integrations the demo created.
const demoIntegrationName = "klaxon-demo"

// demoIntegration finds the demo's integration on a service, or 0.
func demoIntegration(ctx context.Context, st *store.Store, serviceID int64) (int64, error) {
	ins, err := st.ListIntegrations(ctx, serviceID)
	if err != nil {
		return 0, err
	}
	for _, in := range ins {
		if in.Name == demoIntegrationName {
			return in.ID, nil
		}
	}
	return 0, nil
}

// demoAlerts gives two of the demo services something to look at: an open
// alert and a resolved one.
func demoAlerts(ctx context.Context, st *store.Store, svc klaxon.Service, in klaxon.Integration) error {
	var events []klaxon.Event
	switch svc.Name {
	case "SMS Notifications":
		events = []klaxon.Event{{Action: klaxon.ActionTrigger, DedupKey: "sms-delivery-latency", Severity: klaxon.SeverityCritical,
			Summary: "SMS delivery latency above 60 s in North America", Source: "carrier-gateway-1"}}
	case "REST API":
		events = []klaxon.Event{
			{Action: klaxon.ActionTrigger, DedupKey: "api-5xx", Severity: klaxon.SeverityError, Summary: "REST API 5xx rate above 2%", Source: "lb-east"},
			{Action: klaxon.ActionResolve, DedupKey: "api-5xx"},
		}
	}
	for i := range events {
		events[i].ServiceID, events[i].IntegrationID = svc.ID, in.ID
	}
	if len(events) == 0 {
		return nil
	}
	_, err := st.Ingest(ctx, events)
	return err
}
