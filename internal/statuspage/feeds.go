package statuspage

import (
	"encoding/xml"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The feeds carry one entry per incident or maintenance, the most recently
// updated first, at most maxListed; an entry's content is every update,
// newest first, as HTML (escaped inside the XML, as both formats want).

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Links   []atomLink  `xml:"link"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string      `xml:"id"`
	Published string      `xml:"published"`
	Updated   string      `xml:"updated"`
	Link      atomLink    `xml:"link"`
	Title     string      `xml:"title"`
	Content   atomContent `xml:"content"`
}

type atomContent struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Description string  `xml:"description"`
	PubDate     string  `xml:"pubDate"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// feedIncidents are the incidents the feeds carry: most recently updated
// first.
func feedIncidents(p *prepared) []klaxon.StatusIncident {
	list := append([]klaxon.StatusIncident(nil), p.incidents...)
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].UpdatedAt, list[j].UpdatedAt
		if !a.Equal(b) {
			return a.After(b)
		}
		return list[i].ID > list[j].ID
	})
	return firstN(list, maxListed)
}

// feedContent is an incident's updates as HTML: each a paragraph with its
// time, its status and its text, all escaped.
func feedContent(p *prepared, inc klaxon.StatusIncident) string {
	var b strings.Builder
	for _, u := range inc.Updates {
		fmt.Fprintf(&b, "<p><small>%s</small><br><strong>%s</strong> - %s</p>",
			html.EscapeString(u.DisplayAt.In(p.loc).Format(absoluteLayout)),
			html.EscapeString(u.Status.Label()),
			strings.ReplaceAll(html.EscapeString(u.Body), "\n", "<br>"))
	}
	if line := affectedLine(p, inc); line != "" {
		fmt.Fprintf(&b, "<p>%s: %s</p>", html.EscapeString(affectedLead(inc)), html.EscapeString(line))
	}
	return b.String()
}

// tagAuthority is the "host,2005" part of the feeds' tag: URIs (RFC 4151),
// so that an entry's id stays put when the page moves between http and
// https.
func tagAuthority(base string) string {
	host := "klaxon"
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "tag:" + host + ",2005:"
}

// atomDocument renders /history.atom.
func atomDocument(p *prepared, base string) ([]byte, error) {
	root := strings.TrimRight(base, "/")
	tag := tagAuthority(base)
	f := atomFeed{
		Lang: "en",
		ID:   tag + "/history",
		Links: []atomLink{
			{Rel: "alternate", Type: "text/html", Href: root + "/"},
			{Rel: "self", Type: "application/atom+xml", Href: root + "/history.atom"},
		},
		Title:   p.page.Name + " Status - Incident History",
		Updated: p.modTime.UTC().Format(time.RFC3339),
		Author:  atomAuthor{Name: p.page.Name},
	}
	for _, inc := range feedIncidents(p) {
		kind := "Incident"
		if inc.Maintenance {
			kind = "Maintenance"
		}
		f.Entries = append(f.Entries, atomEntry{
			ID:        fmt.Sprintf("%s%s/%d", tag, kind, inc.ID),
			Published: inc.CreatedAt.UTC().Format(time.RFC3339),
			Updated:   inc.UpdatedAt.UTC().Format(time.RFC3339),
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: incidentURL(base, inc.ID)},
			Title:     inc.Name,
			Content:   atomContent{Type: "html", Body: feedContent(p, inc)},
		})
	}
	return marshalXML(f)
}

// rssDocument renders /history.rss.
func rssDocument(p *prepared, base string) ([]byte, error) {
	root := strings.TrimRight(base, "/")
	f := rssFeed{Version: "2.0", Channel: rssChannel{
		Title:         p.page.Name + " Status - Incident History",
		Link:          root + "/",
		LastBuildDate: p.modTime.UTC().Format(time.RFC1123Z),
	}}
	if p.page.Description != "" {
		f.Channel.Description = p.page.Description
	} else {
		f.Channel.Description = p.page.Name + " status: incidents and maintenance"
	}
	for _, inc := range feedIncidents(p) {
		link := incidentURL(base, inc.ID)
		f.Channel.Items = append(f.Channel.Items, rssItem{
			Title:       inc.Name,
			Description: feedContent(p, inc),
			PubDate:     inc.UpdatedAt.UTC().Format(time.RFC1123Z),
			Link:        link,
			GUID:        rssGUID{IsPermaLink: "true", Value: link},
		})
	}
	return marshalXML(f)
}

func marshalXML(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("statuspage: encode feed: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
