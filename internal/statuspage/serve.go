package statuspage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon"
)

// site is one rendering of the page: immutable once published, except for
// the renderings for request hosts, added copy-on-write.
type site struct {
	generation int64
	snap       klaxon.StatusSnapshot
	prepared   *prepared
	base       string
	next       time.Time
	docs       map[string]*document

	// With no configured address, the JSON and feeds are rendered per
	// request host (at most maxHosts of them).
	hostMu sync.Mutex
	hosts  atomic.Pointer[map[string]map[string]*document]
}

// maxHosts bounds the renderings kept for request hosts, so that made-up
// Host headers cannot fill memory.
const maxHosts = 4

// document is one served document with everything its answer needs,
// prepared once: the body, its gzip form, and the header values.
type document struct {
	kind    docKind
	status  int
	linked  bool // holds absolute links (JSON, feeds)
	body    []byte
	gz      []byte // nil when compression does not pay
	modTime time.Time

	contentType  []string
	etag, gzETag []string
	length       []string
	gzLength     []string
	lastModified []string
}

// Header values shared by every answer; net/http does not modify them.
var (
	hdrCacheControl = []string{"public, max-age=10"}
	hdrNoStore      = []string{"no-store"}
	hdrVary         = []string{"Accept-Encoding"}
	hdrNoSniff      = []string{"nosniff"}
	hdrGzip         = []string{"gzip"}
	hdrCSP          = []string{contentSecurityPolicy}
	hdrReferrer     = []string{"strict-origin-when-cross-origin"}
	hdrNoReferrer   = []string{"no-referrer"}
	hdrAnyOrigin    = []string{"*"}
	hdrExpose       = []string{"ETag, Last-Modified"}
	hdrNoIndex      = []string{"noindex"}
)

// gzipper compresses documents with one reused writer.
type gzipper struct {
	w   *gzip.Writer
	buf bytes.Buffer
}

func (g *gzipper) compress(b []byte) []byte {
	g.buf.Reset()
	if g.w == nil {
		g.w, _ = gzip.NewWriterLevel(&g.buf, gzip.BestCompression)
	} else {
		g.w.Reset(&g.buf)
	}
	g.w.Write(b)
	g.w.Close()
	return bytes.Clone(g.buf.Bytes())
}

// serveable prepares rendered documents for serving. A document whose body
// is unchanged since the previous rendering is kept as it was (same ETag,
// same Last-Modified, no new compression). A new or changed document is
// last modified at modTime, the snapshot's latest change, unless that would
// not move its Last-Modified forward (a page whose "2 hours ago" moved with
// the clock, a list an incident left): then at now, so that a client asking
// If-Modified-Since never keeps a stale copy.
func (h *Handler) serveable(prev map[string]*document, docs map[string]renderedDoc, modTime, now time.Time, hostless bool) map[string]*document {
	out := make(map[string]*document, len(docs))
	for path, r := range docs {
		old := prev[path]
		if old != nil && bytes.Equal(old.body, r.body) {
			out[path] = old
			continue
		}
		lm := modTime
		if old != nil && !lm.Truncate(time.Second).After(old.modTime) {
			lm = later(now, old.modTime.Add(time.Second))
		}
		d := newDocument(&h.gz, r, lm)
		d.linked = hostless && r.kind != kindHTML
		if path == notFoundHTML || path == notFoundJSON {
			d.status = http.StatusNotFound
		}
		out[path] = d
	}
	return out
}

// newDocument prepares r for serving, compressing it with g.
func newDocument(g *gzipper, r renderedDoc, modTime time.Time) *document {
	d := &document{kind: r.kind, status: http.StatusOK, body: r.body, modTime: modTime.Truncate(time.Second)}
	sum := sha256.Sum256(r.body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:15])
	d.contentType = []string{contentTypes[r.kind]}
	d.etag = []string{`"` + tag + `"`}
	d.length = []string{strconv.Itoa(len(r.body))}
	d.lastModified = []string{d.modTime.UTC().Format(http.TimeFormat)}
	if gz := g.compress(r.body); len(gz) < len(r.body) {
		d.gz = gz
		d.gzETag = []string{`"` + tag + `-gz"`}
		d.gzLength = []string{strconv.Itoa(len(gz))}
	}
	return d
}

// serveDocument answers every rendered path: the pages, the JSON, the
// feeds. It takes no lock and reads no database.
func (h *Handler) serveDocument(w http.ResponseWriter, r *http.Request) {
	s := h.current(r.Context())
	isJSON := strings.HasPrefix(r.URL.Path, "/api/")
	if s == nil {
		unavailable(w, isJSON)
		return
	}
	d := s.lookup(h, r.URL.Path, r)
	if d == nil {
		key := notFoundHTML
		if isJSON {
			key = notFoundJSON
		}
		d = s.lookup(h, key, r)
	}
	writeDocument(w, r, d)
}

// lookup finds the document at path, rendered for the request's host when
// the page has no configured address.
func (s *site) lookup(h *Handler, path string, r *http.Request) *document {
	d := s.docs[path]
	if d == nil || !d.linked {
		return d
	}
	base := requestBase(r)
	if base == "" {
		return d
	}
	if m := s.hosts.Load(); m != nil {
		if docs, ok := (*m)[base]; ok {
			return docs[path]
		}
		if len(*m) >= maxHosts {
			return d
		}
	}
	if docs := s.renderHost(h, base); docs != nil {
		return docs[path]
	}
	return d
}

// renderHost renders the linked documents for base and keeps them, unless
// maxHosts are kept already (then nil).
func (s *site) renderHost(h *Handler, base string) map[string]*document {
	s.hostMu.Lock()
	defer s.hostMu.Unlock()
	old := map[string]map[string]*document{}
	if m := s.hosts.Load(); m != nil {
		old = *m
	}
	if docs, ok := old[base]; ok {
		return docs
	}
	if len(old) >= maxHosts {
		return nil
	}
	rendered, err := renderLinked(s.prepared, base)
	if err != nil {
		h.log.Error("status page render failed", "err", err)
		return nil
	}
	docs := make(map[string]*document, len(rendered))
	var g gzipper
	for path, r := range rendered {
		d := newDocument(&g, r, s.prepared.modTime)
		if path == notFoundJSON {
			d.status = http.StatusNotFound
		}
		docs[path] = d
	}
	next := maps.Clone(old)
	next[base] = docs
	s.hosts.Store(&next)
	return docs
}

// requestBase is the address a request came to, "https://host" or
// "http://host"; "" for a Host header that is not a plain host and port.
func requestBase(r *http.Request) string {
	host := r.Host
	if host == "" || len(host) > 260 || strings.ContainsFunc(host, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')
	}) {
		return ""
	}
	if strings.Count(host, ":") > 1 && !strings.HasPrefix(host, "[") {
		return "" // an IPv6 address must be bracketed
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + strings.ToLower(host)
}

// writeDocument answers with d: 304 when the client's copy is current,
// gzip when the client takes it, no body for HEAD.
func writeDocument(w http.ResponseWriter, r *http.Request, d *document) {
	h := w.Header()
	h["Content-Type"] = d.contentType
	h["Cache-Control"] = hdrCacheControl
	h["Vary"] = hdrVary
	h["X-Content-Type-Options"] = hdrNoSniff
	switch d.kind {
	case kindHTML:
		h["Content-Security-Policy"] = hdrCSP
		h["Referrer-Policy"] = hdrReferrer
	case kindJSON:
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
		h["Access-Control-Expose-Headers"] = hdrExpose
	}
	body, etag, length := d.body, d.etag, d.length
	if d.gz != nil && acceptsGzip(r.Header["Accept-Encoding"]) {
		body, etag, length = d.gz, d.gzETag, d.gzLength
		h["Content-Encoding"] = hdrGzip
	}
	if d.status == http.StatusOK {
		h["Etag"] = etag
		h["Last-Modified"] = d.lastModified
		if notModified(r, etag[0], d.modTime) {
			delete(h, "Content-Type")
			delete(h, "Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h["Content-Length"] = length
	w.WriteHeader(d.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// notModified applies If-None-Match (weak comparison, RFC 9110 13.1.2) or,
// without it, If-Modified-Since.
func notModified(r *http.Request, etag string, modTime time.Time) bool {
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		for _, v := range inm {
			if etagListMatches(v, etag) {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !modTime.After(t)
	}
	return false
}

// etagListMatches reports whether the If-None-Match list holds etag (or *).
func etagListMatches(list, etag string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		item = strings.TrimSpace(item)
		if item == "*" || strings.TrimPrefix(item, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip listed without q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			coding, params, _ := strings.Cut(item, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			params = strings.ReplaceAll(params, " ", "")
			if q, ok := strings.CutPrefix(params, "q="); ok && strings.Trim(q, "0.") == "" {
				return false
			}
			return true
		}
	}
	return false
}

// preflight answers CORS preflight requests for the JSON.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// unavailable answers when the page cannot be rendered (the store is
// down and nothing was rendered before).
func unavailable(w http.ResponseWriter, isJSON bool) {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	h.Set("Retry-After", "5")
	if isJSON {
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":{"code":"unavailable","message":"the status page is unavailable; retry shortly"}}` + "\n"))
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte("The status page is unavailable; retry shortly.\n"))
}
