package statuspage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Rendering is a pure function: (snapshot, now, options) -> documents.
// The handler turns each into a served document (gzip, ETag) and swaps the
// whole set in at once.

//go:embed templates
var templateFS embed.FS

// style is the page's CSS, inlined; its hash is the one style the
// Content-Security-Policy allows.
var style = mustRead("templates/style.css")

// contentSecurityPolicy forbids scripts, plugins, frames and every outside
// resource but images (postmortems may show some), and allows only the
// page's own inline stylesheet: an injection that got past escaping would
// still run nothing.
var contentSecurityPolicy = "default-src 'none'; style-src 'sha256-" + hashCSS(style) + "'; img-src 'self' https: data:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func hashCSS(css string) string {
	sum := sha256.Sum256([]byte(css))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// pages are the parsed templates, one set per page, each with the shared
// frame.
var pages = struct{ index, history, incident, message *template.Template }{
	index:    parsePage("index.html"),
	history:  parsePage("history.html"),
	incident: parsePage("incident.html"),
	message:  parsePage("message.html"),
}

var notAnchor = regexp.MustCompile(`[^a-z0-9]+`)

func parsePage(name string) *template.Template {
	funcs := template.FuncMap{
		"css":    func() template.CSS { return template.CSS(style) }, //nolint:gosec // our own embedded file
		"anchor": func(s string) string { return strings.Trim(notAnchor.ReplaceAllString(strings.ToLower(s), "-"), "-") },
	}
	return template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name))
}

func execute(t *template.Template, v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, fmt.Errorf("statuspage: render %s: %w", t.Name(), err)
	}
	return buf.Bytes(), nil
}

// docKind says how a document is served.
type docKind int

const (
	kindHTML docKind = iota
	kindJSON
	kindAtom
	kindRSS
)

// contentTypes are the kinds' media types.
var contentTypes = map[docKind]string{
	kindHTML: "text/html; charset=utf-8",
	kindJSON: "application/json",
	kindAtom: "application/atom+xml; charset=utf-8",
	kindRSS:  "application/rss+xml; charset=utf-8",
}

// renderedDoc is one rendered document before it is prepared for serving.
type renderedDoc struct {
	kind docKind
	body []byte
}

// The keys of the documents that are not at a path.
const (
	notFoundHTML = "404.html"
	notFoundJSON = "404.json"
)

// renderOptions are the choices rendering needs beyond the snapshot.
type renderOptions struct {
	// Subscribe shows the email subscription form.
	Subscribe bool
}

// renderPages renders the HTML documents (the front page, the history, a
// page per incident, the 404 page) by path. They link relatively, so they do
// not depend on the page's address.
func renderPages(p *prepared, opts renderOptions) (map[string]renderedDoc, error) {
	md := newMarkdown()
	p.subscribe = opts.Subscribe
	out := map[string]renderedDoc{}
	add := func(path string, t *template.Template, v any) error {
		b, err := execute(t, v)
		if err != nil {
			return err
		}
		out[path] = renderedDoc{kindHTML, b}
		return nil
	}
	if err := add("/", pages.index, p.indexView()); err != nil {
		return nil, err
	}
	if err := add("/history", pages.history, p.historyView()); err != nil {
		return nil, err
	}
	for _, inc := range p.incidents {
		if err := add("/incidents/"+id(inc.ID), pages.incident, p.incidentPageView(inc, md)); err != nil {
			return nil, err
		}
	}
	notFound := p.messageView("Not found", "Page not found", "There is no such page on this status page.")
	if err := add(notFoundHTML, pages.message, notFound); err != nil {
		return nil, err
	}
	return out, nil
}

// renderLinked renders the documents that hold absolute links (the JSON
// and the feeds) for the page at base.
func renderLinked(p *prepared, base string) (map[string]renderedDoc, error) {
	out := map[string]renderedDoc{}
	js, err := jsonDocuments(p, base)
	if err != nil {
		return nil, err
	}
	for path, b := range js {
		out[path] = renderedDoc{kindJSON, b}
	}
	out[notFoundJSON] = renderedDoc{kindJSON, []byte(`{"error":{"code":"not_found","message":"no such document; see /api/v2/summary.json"}}` + "\n")}
	atom, err := atomDocument(p, base)
	if err != nil {
		return nil, err
	}
	out["/history.atom"] = renderedDoc{kindAtom, atom}
	rss, err := rssDocument(p, base)
	if err != nil {
		return nil, err
	}
	out["/history.rss"] = renderedDoc{kindRSS, rss}
	return out, nil
}

// render renders every document of the page for snap at now: the pure
// heart of the package, with base the page's absolute URL ("" for
// relative links).
func render(snap klaxon.StatusSnapshot, now time.Time, base string, opts renderOptions) (map[string]renderedDoc, error) {
	return renderAll(prepare(snap, now), base, opts)
}

// renderAll renders the pages and the linked documents of p.
func renderAll(p *prepared, base string, opts renderOptions) (map[string]renderedDoc, error) {
	docs, err := renderPages(p, opts)
	if err != nil {
		return nil, err
	}
	linked, err := renderLinked(p, base)
	if err != nil {
		return nil, err
	}
	for k, v := range linked {
		docs[k] = v
	}
	return docs, nil
}
