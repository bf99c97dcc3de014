// Package browser starts Debian's Chromium, headless, for tests that look
// at Klaxon's pages as a visitor would (the statuspage package's tests and
// the end-to-end tests).
package browser

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium (apt-get install -y chromium).
const ChromiumPath = "/usr/bin/chromium"

// Start starts a headless Chromium for t, with a user data dir of its own,
// and returns the context that drives it (stopped when t ends). Without
// Chromium the test is skipped, unless KLAXON_REQUIRE_BROWSER=1 (as in
// CI), where it fails.
func Start(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("KLAXON_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KLAXON_REQUIRE_BROWSER=1 but there is no browser at %s (apt-get install -y chromium)", ChromiumPath)
		}
		t.Skipf("no browser at %s; install Debian's chromium, or set KLAXON_REQUIRE_BROWSER=1 to make this a failure", ChromiumPath)
	}
	// The flags this machine needs: no sandbox as root, no GPU, and no
	// background networking (the closed network refuses it, noisily).
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil { // start it now, so a failure is named
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	return bctx
}

// VisibleText is the text of the page the tab shows now, as a reader sees
// it (document.body.innerText). It asks by script rather than through a DOM
// node: chromedp's node ids can still name the previous document just after
// a navigation ("No node with given id found").
func VisibleText(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
}
