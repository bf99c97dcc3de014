package statuspage

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/klaxonhq/klaxon/e2e/browser"
)

// visible is what a visitor sees, as the page's script-free DOM renders
// it.
type visible struct {
	Banner        string            `json:"banner"`
	BannerShown   bool              `json:"bannerShown"`
	States        map[string]string `json:"states"`
	Times         []string          `json:"times"`
	Affected      []string          `json:"affected"`
	ScrollWidth   int               `json:"scrollWidth"`
	OK            float64           `json:"ok"`
	Partial       float64           `json:"partial"`
	Major         float64           `json:"major"`
	NoData        float64           `json:"nodata"`
	BarsFit       bool              `json:"barsFit"`
	OutageSummary string            `json:"outageSummary"`
	Background    string            `json:"background"`
}

const readPage = `(() => {
	const all = s => Array.from(document.querySelectorAll(s));
	const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth; };
	const height = s => { const e = document.querySelector(s); return e ? e.getBoundingClientRect().height : -1; };
	const states = {};
	for (const row of all('.row')) states[row.querySelector('.cname').innerText.trim()] = row.querySelector('.state').innerText.trim();
	const banner = document.querySelector('#banner');
	const bars = all('ol.bars');
	return {
		banner: banner.innerText.trim(),
		bannerShown: shown(banner),
		states,
		times: all('#active-heading ~ .incident .when').filter(shown).map(e => e.innerText.trim()),
		affected: all('.affected').filter(shown).map(e => e.innerText.trim()),
		scrollWidth: document.documentElement.scrollWidth,
		ok: height('.bars .day-ok'), partial: height('.bars .day-partial'), major: height('.bars .day-major'), nodata: height('.bars .day-nodata'),
		barsFit: bars.length > 0 && bars.every(shown),
		outageSummary: all('details.outages summary').filter(shown).map(e => e.innerText.trim()).join('|'),
		background: getComputedStyle(document.body).backgroundColor,
	};
})()`

// TestBrowser renders the page in headless Chromium at desktop and phone
// sizes, in light and dark, and checks what a visitor sees.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	ctx := browser.Start(t)
	h, _ := newTestHandler(t, newFakeSource(fixtureSnapshot()), "")
	srv := httptest.NewServer(h)
	defer srv.Close()

	backgrounds := map[string]string{}
	for _, c := range []struct {
		name          string
		width, height int64
		scheme        string
	}{
		{"desktop", 1280, 800, "light"},
		{"phone", 375, 740, "light"},
		{"phone-dark", 375, 740, "dark"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, cancel := chromedp.NewContext(ctx)
			defer cancel()
			media := chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
				_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: c.scheme}},
				})
				return err
			})
			if err := chromedp.Do(tab, chromedp.EmulateViewport(c.width, c.height), media, chromedp.Navigate(srv.URL+"/")); err != nil {
				t.Fatal(err)
			}
			v, err := chromedp.Run(tab, chromedp.Evaluate[visible](readPage))
			if err != nil {
				t.Fatal(err)
			}
			backgrounds[c.scheme] = v.Background

			if v.Banner != "Partial System Outage" || !v.BannerShown {
				t.Errorf("banner %q shown %v", v.Banner, v.BannerShown)
			}
			for name, state := range map[string]string{
				"North America": "Partial Outage", "Web Interface": "Partial Outage", "Mobile Interface": "Degraded Performance",
				"Email Notifications": "Operational", "API": "Operational",
			} {
				if !strings.HasSuffix(v.States[name], state) {
					t.Errorf("%s shows %q, want %q", name, v.States[name], state)
				}
			}
			if len(v.Times) != 2 || v.Times[0] != "Posted 1 hour ago. Jan 23, 2018 - 15:02 PST" || v.Times[1] != "Posted 2 hours ago. Jan 23, 2018 - 14:16 PST" {
				t.Errorf("update times %q", v.Times)
			}
			if len(v.Affected) == 0 || v.Affected[0] != "This incident affected: North America (Web Interface, Mobile Interface)" {
				t.Errorf("affected %q", v.Affected)
			}
			if v.ScrollWidth > int(c.width) {
				t.Errorf("the page is %d px wide in a %d px window: it scrolls sideways", v.ScrollWidth, c.width)
			}
			// Severity shows in the bars' heights, not only their colours.
			if !(v.OK > v.Partial && v.Partial > v.Major && v.Major > v.NoData && v.NoData > 0) {
				t.Errorf("bar heights ok %.1f partial %.1f major %.1f nodata %.1f do not tell severities apart", v.OK, v.Partial, v.Major, v.NoData)
			}
			if !v.BarsFit {
				t.Error("the uptime bars do not fit the window")
			}
			if !strings.Contains(v.OutageSummary, "Outage days (1)") {
				t.Errorf("outage lists %q", v.OutageSummary)
			}
		})
	}
	if backgrounds["light"] == backgrounds["dark"] || backgrounds["dark"] == "" {
		t.Errorf("light and dark backgrounds: %q, %q", backgrounds["light"], backgrounds["dark"])
	}

	// The outage days read as text once opened, and the subscribe form
	// works from the page itself (the CSRF guard lets the page's own form
	// through).
	t.Run("keyboard and form", func(t *testing.T) {
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		if err := chromedp.Do(tab, chromedp.EmulateViewport(375, 740), chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("details.outages summary"))); err != nil {
			t.Fatal(err)
		}
		days, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('details.outages[open] ul').innerText`))
		if err != nil || !strings.Contains(days, "Jan 23, 2018: partial outage 2 h") {
			t.Errorf("outage days %q %v", days, err)
		}
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.CSS("#email"), "visitor@example.com"),
			chromedp.Click(chromedp.CSS(".subscribe button[type=submit]")),
		); err != nil { // the answer page is awaited below, by script: node ids go stale across the navigation

			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			heading, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('h1').innerText`))
			if err == nil && heading == "Check your inbox" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after subscribing the page says %q (%v)", heading, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if s := h.subs.(*fakeSubscriptions).get(1); s.Address != "visitor@example.com" {
			t.Errorf("stored %+v", s)
		}
	})
}
