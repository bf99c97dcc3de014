package main

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// demoStatusGroup holds the demo's components, one per demo service, as the
// status page of a real notification service groups them by region.
const demoStatusGroup = "North America"

// loadDemoStatusPage gives the demo a status page (DESIGN.md §10): the
// "North America" group with a component per demo service, each following
// its service, a resolved incident from twelve days ago imported with its
// original times and a published postmortem, and a maintenance next week.
// It runs once: a page that already has components is left alone.
func loadDemoStatusPage(ctx context.Context, st *store.Store, services map[string]klaxon.Service, now time.Time) error {
	const actor = "system (demo)"
	existing, err := st.ListStatusComponents(ctx)
	if err != nil || len(existing) > 0 {
		return err
	}
	name, zone, about := "Klaxon Demo Status", "America/Los_Angeles", "Live status of the Klaxon demo's notification service."
	if _, err := st.UpdateStatusPage(ctx, actor, klaxon.StatusPagePatch{Name: &name, TimeZone: &zone, Description: &about}); err != nil {
		return err
	}
	ids := map[string]int64{}
	for _, d := range demoServices {
		c, err := st.CreateStatusComponent(ctx, actor, klaxon.NewStatusComponent{Name: d.name, Description: d.description, Group: demoStatusGroup})
		if err != nil {
			return fmt.Errorf("component %q: %w", d.name, err)
		}
		ids[d.name] = c.ID
		if svc, ok := services[d.name]; ok {
			follow := true
			state := klaxon.ComponentPartialOutage
			if _, err := st.UpdateStatusComponent(ctx, actor, c.ID, klaxon.ComponentPatch{ServiceID: &svc.ID, FollowService: &follow, FollowState: &state}); err != nil {
				return fmt.Errorf("component %q: %w", d.name, err)
			}
		}
	}

	// A past incident, imported with its original times, as an admin
	// moving from another status page would.
	pacific, err := time.LoadLocation(zone)
	if err != nil {
		return err
	}
	y, m, d := now.In(pacific).AddDate(0, 0, -12).Date()
	began := time.Date(y, m, d, 14, 16, 0, 0, pacific) // 2:16 pm on the page's clock
	sms, voice := ids["SMS Notifications"], ids["Voice Notifications"]
	inc, err := st.CreateStatusIncident(ctx, actor, klaxon.NewIncident{
		Name: "Delayed SMS and voice notifications in North America", Status: klaxon.IncidentInvestigating,
		Message: "We are investigating delays in SMS and voice notifications to North American numbers.",
		Components: map[int64]klaxon.ComponentState{
			sms: klaxon.ComponentPartialOutage, voice: klaxon.ComponentDegraded,
		},
		At: began,
	})
	if err != nil {
		return fmt.Errorf("demo incident: %w", err)
	}
	updates := []klaxon.NewIncidentUpdate{
		{Status: klaxon.IncidentIdentified, At: began.Add(22 * time.Minute),
			Message:    "A carrier gateway is rejecting a share of our traffic. We are moving traffic to a second carrier.",
			Components: map[int64]klaxon.ComponentState{sms: klaxon.ComponentMajorOutage}},
		{Status: klaxon.IncidentMonitoring, At: began.Add(51 * time.Minute),
			Message:    "Traffic now flows through the second carrier and delays are back to normal. We are monitoring.",
			Components: map[int64]klaxon.ComponentState{sms: klaxon.ComponentOperational, voice: klaxon.ComponentOperational}},
		{Status: klaxon.IncidentResolved, At: began.Add(95 * time.Minute),
			Message: "This incident has been resolved. Messages queued during the incident were all delivered."},
	}
	for _, u := range updates {
		if _, _, err := st.AddIncidentUpdate(ctx, actor, inc.ID, u); err != nil {
			return fmt.Errorf("demo incident update: %w", err)
		}
	}
	if _, err := st.SetPostmortem(ctx, actor, inc.ID, klaxon.Postmortem{Body: demoPostmortem, PublishedAt: began.Add(3 * 24 * time.Hour)}); err != nil {
		return fmt.Errorf("demo postmortem: %w", err)
	}

	start := now.AddDate(0, 0, 7).Truncate(time.Hour)
	if _, err := st.CreateMaintenance(ctx, actor, klaxon.NewMaintenance{
		Name: "Database upgrade", Message: "We are upgrading the database behind the REST API. Requests may be slower for a few minutes.",
		Components: []int64{ids["REST API"]}, ScheduledFor: start, ScheduledUntil: start.Add(time.Hour),
	}); err != nil {
		return fmt.Errorf("demo maintenance: %w", err)
	}
	return nil
}

const demoPostmortem = `## What happened

For 51 minutes, SMS and voice notifications to North American numbers were
delayed by up to 9 minutes. One of our two carrier gateways began rejecting
about a third of our messages after a configuration change on its side.

## Why it took 22 minutes to find

Our retries hid the rejections: every message was eventually sent, so the
delivery-failure alert never fired. Only the latency alert did.

## What we are changing

- Alert on the *rejection rate* per carrier, not only on final failures.
- Move traffic between carriers automatically when one rejects more than 5%.
- Run a monthly drill that fails one carrier on purpose.
`
