package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/klaxonhq/klaxon/e2e/browser"
	"github.com/klaxonhq/klaxon/e2e/harness"
)

// TestStatusPageInBrowser opens the demo's status page in headless
// Chromium, at a desktop size and at a phone's 375 px, as a visitor would:
// the banner, the North America group and its components with their
// states, uptime bars readable as text, no horizontal scrolling on the
// phone; and the past incident's page with every update at its time in the
// page's zone (Pacific), the affected line and the postmortem.
func TestStatusPageInBrowser(t *testing.T) {
	srv := startServer(t, harness.Options{DataDir: t.TempDir(), Args: []string{"--demo", "--canary-interval", "0"}})
	ctx := browser.Start(t)
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", 375, 740}} {
		t.Run(size.name, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.width, size.height), chromedp.Navigate(srv.URL+"/")); err != nil {
				t.Fatal(err)
			}
			text, err := browser.VisibleText(ctx)
			if err != nil {
				t.Fatal(err)
			}
			scrollWidth, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Klaxon Demo Status", "North America", "Web Interface", "SMS Notifications",
				"Database upgrade", "Operational"} {
				if !strings.Contains(text, want) {
					t.Errorf("the page as seen lacks %q:\n%s", want, text)
				}
			}
			if !regexp.MustCompile(`All Systems Operational|Partial System Outage|Major System Outage|Partially Degraded Service|Minor Service Outage`).MatchString(text) {
				t.Errorf("no banner on the page:\n%s", text)
			}
			if scrollWidth > size.width {
				t.Errorf("the page is %d px wide in a %d px window: it scrolls sideways", scrollWidth, size.width)
			}

			// The past incident is in the history, a link away.
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/history")); err != nil {
				t.Fatal(err)
			}
			incidentHref, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`[...document.querySelectorAll('a')].find(a => a.textContent.includes('Delayed SMS'))?.getAttribute('href') ?? ''`))
			if err != nil || !strings.HasPrefix(incidentHref, "/incidents/") {
				t.Fatalf("no link to the past incident in the history: %q %v", incidentHref, err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+incidentHref)); err != nil {
				t.Fatal(err)
			}
			incident, err := browser.VisibleText(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Delayed SMS and voice notifications in North America",
				"This incident affected: North America (SMS Notifications, Voice Notifications)",
				"Resolved", "Monitoring", "Identified", "Investigating", "What happened"} {
				if !strings.Contains(incident, want) {
					t.Errorf("the incident page as seen lacks %q:\n%s", want, incident)
				}
			}
			if !regexp.MustCompile(`[A-Z][a-z]{2} \d{1,2}, \d{4} - 14:16 P[SD]T`).MatchString(incident) {
				t.Errorf("the first update is not shown at 14:16 Pacific time:\n%s", incident)
			}
		})
	}
}
