package statuspage

import (
	"bytes"
	"html"
	"html/template"
	"net/url"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Postmortems are Markdown written by admins and shown to the world, so
// they are rendered safely: goldmark's defaults drop raw HTML and
// dangerous link schemes, and a second pass below keeps only links to
// http, https and mailto (and relative ones), marks every link nofollow,
// and moves headings down two levels under the page's own.

// newMarkdown builds the postmortem renderer.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 1000))),
	)
}

// renderMarkdown renders src as safe HTML.
func renderMarkdown(md goldmark.Markdown, src string) (template.HTML, error) {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return "", err
	}
	// goldmark escapes text and never emits raw HTML without
	// html.WithUnsafe, so its output is HTML we may trust.
	return template.HTML(buf.String()), nil //nolint:gosec // escaped by goldmark (no WithUnsafe)
}

// safeLinks is the second pass over a postmortem's tree.
type safeLinks struct{}

func (safeLinks) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	var unsafe []*ast.AutoLink
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if !safeURL(string(n.Destination)) {
				n.Destination = nil
			}
			n.SetAttributeString("rel", []byte("nofollow noopener noreferrer"))
		case *ast.Image:
			if !safeURL(string(n.Destination)) {
				n.Destination = nil
			}
		case *ast.AutoLink:
			if !safeURL(string(n.URL(reader.Source()))) {
				unsafe = append(unsafe, n)
			}
		case *ast.Heading:
			n.Level = min(n.Level+2, 6)
		}
		return ast.WalkContinue, nil
	})
	// An unsafe autolink's text is its address: keep it as plain text.
	// (Replaced after the walk, which a replacement would cut short.)
	for _, n := range unsafe {
		n.Parent().ReplaceChild(n.Parent(), n, ast.NewString(n.Label(reader.Source())))
	}
}

// safeURL allows relative references and the http, https and mailto
// schemes. The renderer resolves character references in a destination,
// and browsers ignore tabs and line breaks inside a scheme and some leading
// bytes, so the scheme is read after doing the same.
func safeURL(raw string) bool {
	s := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, html.UnescapeString(raw))
	s = strings.TrimLeft(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https", "mailto":
		return true
	}
	return false
}
