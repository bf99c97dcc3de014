package statuspage

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/mmcdole/gofeed"
)

// TestFeedsParse parses both feeds with gofeed, as a reader would, and
// checks their entries: newest first, absolute links, each update's time
// in the page's zone, status and text.
func TestFeedsParse(t *testing.T) {
	docs := renderFixture(t)
	for path, wantType := range map[string]string{"/history.atom": "atom", "/history.rss": "rss"} {
		t.Run(wantType, func(t *testing.T) {
			feed, err := gofeed.NewParser().ParseString(string(docs[path].body))
			if err != nil {
				t.Fatal(err)
			}
			if feed.FeedType != wantType {
				t.Errorf("feed type %q, want %q", feed.FeedType, wantType)
			}
			if feed.Title != "Klaxon Status - Incident History" || feed.Link != "https://status.example.com/" {
				t.Errorf("title %q link %q", feed.Title, feed.Link)
			}
			var titles []string
			for _, it := range feed.Items {
				titles = append(titles, it.Title)
			}
			if got := strings.Join(titles, " | "); got != "Delayed notifications | Database upgrade | Email outage | Slow dashboards" {
				t.Errorf("items %q, want the most recently updated first", got)
			}
			first := feed.Items[0]
			if first.Link != "https://status.example.com/incidents/100" {
				t.Errorf("link %q", first.Link)
			}
			if first.UpdatedParsed == nil && first.PublishedParsed == nil {
				t.Error("the entry has no date")
			}
			date := first.UpdatedParsed
			if date == nil {
				date = first.PublishedParsed
			}
			if !date.Equal(pst(1, 23, 15, 2)) {
				t.Errorf("date %v, want the latest update's %v", date, pst(1, 23, 15, 2))
			}
			content := first.Content
			if content == "" {
				content = first.Description
			}
			for _, want := range []string{
				"<small>Jan 23, 2018 - 15:02 PST</small><br><strong>Identified</strong> - We found a stuck queue",
				"<small>Jan 23, 2018 - 14:16 PST</small><br><strong>Investigating</strong> - Notifications are delayed.<br>We are looking into it.",
				"This incident affected: North America (Web Interface, Mobile Interface)",
			} {
				if !strings.Contains(content, want) {
					t.Errorf("content lacks %q:\n%s", want, content)
				}
			}
			if strings.Index(content, "15:02") > strings.Index(content, "14:16") {
				t.Error("updates are not newest first")
			}
			if wantType == "atom" && (first.GUID == "" || !strings.HasPrefix(first.GUID, "tag:status.example.com,2005:Incident/100")) {
				t.Errorf("atom id %q", first.GUID)
			}
		})
	}
}

// TestFeedsAtMost50 checks the cap.
func TestFeedsAtMost50(t *testing.T) {
	snap := fixtureSnapshot()
	snap.Incidents = nil
	for i := 1; i <= 70; i++ {
		at := fixtureNow.Add(-time.Duration(i) * time.Hour)
		snap.Incidents = append(snap.Incidents, klaxon.StatusIncident{ID: int64(i), Name: fmt.Sprint("incident ", i),
			Status: klaxon.IncidentResolved, CreatedAt: at, UpdatedAt: at})
	}
	docs, err := render(snap, fixtureNow, "https://status.example.com", renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/history.atom", "/history.rss"} {
		feed, err := gofeed.NewParser().ParseString(string(docs[path].body))
		if err != nil {
			t.Fatal(err)
		}
		if len(feed.Items) != 50 || feed.Items[0].Title != "incident 1" || feed.Items[49].Title != "incident 50" {
			t.Errorf("%s: %d items, first %q", path, len(feed.Items), feed.Items[0].Title)
		}
	}
}
