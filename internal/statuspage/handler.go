package statuspage

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Source is where the page's content comes from: the store. The handler
// reads a snapshot when something changed, never per request.
type Source interface {
	// StatusSnapshot reads everything the page shows, with component
	// history since since.
	StatusSnapshot(ctx context.Context, since time.Time) (klaxon.StatusSnapshot, error)
	// StatusGeneration is cheap: it changes whenever the snapshot would.
	StatusGeneration(ctx context.Context) (int64, error)
	// StatusChanges is signalled after a commit changes the page: this
	// node's, and on PostgreSQL another node's (NOTIFY).
	StatusChanges() <-chan struct{}
}

// Subscriptions is the store's side of email subscriptions.
type Subscriptions interface {
	// CreateStatusSubscriber stores s unconfirmed and queues the
	// confirmation email; an address already subscribed changes nothing.
	CreateStatusSubscriber(ctx context.Context, actor string, s *klaxon.StatusSubscriber) (created bool, err error)
	// ConfirmStatusSubscriber starts the subscription (idempotent);
	// ENOTFOUND for an unknown id.
	ConfirmStatusSubscriber(ctx context.Context, id int64) (klaxon.StatusSubscriber, error)
	// UnsubscribeStatusSubscriber ends it (idempotent); ENOTFOUND for an
	// unknown id.
	UnsubscribeStatusSubscriber(ctx context.Context, actor string, id int64) (klaxon.StatusSubscriber, error)
}

// Config is what New needs.
type Config struct {
	Source Source
	// Subscriptions, when set, enables the subscribe form and the confirm
	// and unsubscribe pages (those also need Tokens.Key).
	Subscriptions Subscriptions
	Tokens        Tokens
	Clock         klaxon.Clock
	Logger        *slog.Logger
	// PublicURL is Klaxon's public address: the page's, for absolute links,
	// unless the page's own URL setting names another; with neither, each
	// request's host (see the package comment).
	PublicURL string
	// Poll is how often Run asks the store's generation, to notice changes
	// made on other nodes; 2s when zero.
	Poll time.Duration
	// SubscribeLimit throttles POST /subscribe; the zero value is the
	// defaults (see SubscribeLimit).
	SubscribeLimit SubscribeLimit
}

// DefaultPoll is how often Run polls the generation unless told otherwise.
const DefaultPoll = 2 * time.Second

// publicActor is the audit log's name for a visitor of the public page.
const publicActor = "public"

// Handler serves the public page. Build it with New, register Routes, and
// keep Run going.
type Handler struct {
	src       Source
	subs      Subscriptions
	tokens    Tokens
	clock     klaxon.Clock
	log       *slog.Logger
	publicURL string
	poll      time.Duration
	csrf      *http.CrossOriginProtection
	limits    *subscribeLimiter
	mux       *http.ServeMux

	site     atomic.Pointer[site]
	renderMu sync.Mutex // one render at a time; never held while serving
	gz       gzipper    // used under renderMu
}

// New builds a Handler. Nothing is read until the first request or Run.
func New(cfg Config) *Handler {
	if cfg.Clock == nil {
		cfg.Clock = klaxon.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	h := &Handler{
		src: cfg.Source, subs: cfg.Subscriptions, tokens: cfg.Tokens, clock: cfg.Clock,
		log: cfg.Logger, publicURL: strings.TrimRight(cfg.PublicURL, "/"), poll: cfg.Poll,
		csrf: http.NewCrossOriginProtection(), limits: newSubscribeLimiter(cfg.SubscribeLimit),
	}
	h.csrf.SetDenyHandler(http.HandlerFunc(h.crossOrigin))
	h.trustOrigin(h.publicURL)
	h.mux = http.NewServeMux()
	for _, rt := range h.Routes() {
		h.mux.Handle(rt.Pattern, rt.Handler)
	}
	return h
}

// Route is one pattern for the top-level mux and its handler.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Routes are the page's patterns. Besides the public surface of the
// contract they include "GET /api/v2/{path...}" (any other JSON name: a 404
// in JSON) and "OPTIONS /api/v2/{path...}" (CORS preflight, for scripts
// that send If-None-Match).
func (h *Handler) Routes() []Route {
	doc := http.HandlerFunc(h.serveDocument)
	routes := []Route{
		{"GET /{$}", doc},
		{"GET /history", doc},
		{"GET /incidents/{id}", doc},
		{"GET /history.atom", doc},
		{"GET /history.rss", doc},
	}
	for _, name := range []string{"summary.json", "status.json", "components.json", "incidents.json",
		"incidents/unresolved.json", "scheduled-maintenances.json", "scheduled-maintenances/upcoming.json",
		"scheduled-maintenances/active.json"} {
		routes = append(routes, Route{"GET /api/v2/" + name, doc})
	}
	return append(routes,
		Route{"GET /api/v2/{path...}", doc},
		Route{"OPTIONS /api/v2/{path...}", http.HandlerFunc(preflight)},
		Route{"POST /subscribe", h.csrf.Handler(http.HandlerFunc(h.subscribe))},
		Route{"GET " + confirmPath + "{token}", http.HandlerFunc(h.confirmPage)},
		Route{"POST " + confirmPath + "{token}", h.csrf.Handler(http.HandlerFunc(h.confirm))},
		Route{"GET " + unsubscribePath + "{token}", http.HandlerFunc(h.unsubscribePage)},
		Route{"POST " + unsubscribePath + "{token}", http.HandlerFunc(h.unsubscribe)},
	)
}

// ServeHTTP serves the routes on a mux of their own: for tests, and for
// running the page on a listener of its own.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Refresh reads a snapshot and renders it now. Run does this on every
// change; a request that finds nothing rendered yet does it once.
func (h *Handler) Refresh(ctx context.Context) error {
	h.renderMu.Lock()
	defer h.renderMu.Unlock()
	return h.refreshLocked(ctx)
}

func (h *Handler) refreshLocked(ctx context.Context) error {
	now := h.clock.Now()
	snap, err := h.src.StatusSnapshot(ctx, historySince(now))
	if err != nil {
		return fmt.Errorf("statuspage: read snapshot: %w", err)
	}
	return h.publish(snap, now)
}

// rerender renders the current snapshot again at the current time: the
// relative times and today's bar move without anything changing.
func (h *Handler) rerender() error {
	h.renderMu.Lock()
	defer h.renderMu.Unlock()
	s := h.site.Load()
	if s == nil {
		return nil
	}
	return h.publish(s.snap, h.clock.Now())
}

// publish renders snap at now and swaps it in. Called under renderMu.
func (h *Handler) publish(snap klaxon.StatusSnapshot, now time.Time) error {
	p := prepare(snap, now)
	base := h.base(snap.Page)
	h.trustOrigin(base)
	docs, err := renderAll(p, base, renderOptions{Subscribe: h.subs != nil})
	if err != nil {
		return err
	}
	var prev map[string]*document
	if old := h.site.Load(); old != nil {
		prev = old.docs
	}
	s := &site{generation: snap.Generation, snap: snap, prepared: p, base: base, next: p.next}
	s.docs = h.serveable(prev, docs, p.modTime, now, base == "")
	h.site.Store(s)
	return nil
}

// base is the page's absolute URL: the page's own setting (an admin's
// deliberate answer, and the one its emails use), else the configured
// public URL; "" when neither is set (requests then supply it).
func (h *Handler) base(page klaxon.StatusPage) string {
	if page.URL != "" {
		return strings.TrimRight(page.URL, "/")
	}
	return h.publicURL
}

// trustOrigin lets the page's forms be posted from the origin of address,
// the page's own address, even behind a proxy that rewrites the Host
// header.
func (h *Handler) trustOrigin(address string) {
	u, err := url.Parse(address)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return
	}
	if err := h.csrf.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
		h.log.Warn("status page: address is not an origin", "url", address, "err", err)
	}
}

// current is the rendered site, rendering it first if nothing is yet (once,
// however many requests arrive together); nil when the store cannot be
// read.
func (h *Handler) current(ctx context.Context) *site {
	if s := h.site.Load(); s != nil {
		return s
	}
	h.renderMu.Lock()
	defer h.renderMu.Unlock()
	if s := h.site.Load(); s != nil {
		return s
	}
	if err := h.refreshLocked(ctx); err != nil {
		h.log.Error("status page unavailable", "err", err)
		return nil
	}
	return h.site.Load()
}

// Run keeps the rendered page current until ctx ends: at once when any
// node changes something (StatusChanges; another node's change also within
// Poll, should its notification be lost: the generation moves), every
// minute for the relative times, and at
// the instant a maintenance is due to start or end or a postmortem to
// appear. A failed read keeps the last good page and is retried at the
// next poll.
func (h *Handler) Run(ctx context.Context) {
	if err := h.Refresh(ctx); err != nil && ctx.Err() == nil {
		h.log.Warn("status page render failed", "err", err)
	}
	poll := time.NewTicker(h.poll)
	defer poll.Stop()
	timer := time.NewTimer(h.untilNext())
	defer timer.Stop()
	changes := h.src.StatusChanges()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-changes:
			err = h.Refresh(ctx)
		case <-poll.C:
			err = h.refreshIfChanged(ctx)
		case <-timer.C:
			if s := h.site.Load(); s != nil && !s.next.IsZero() && !h.clock.Now().Before(s.next) {
				err = h.Refresh(ctx)
			} else {
				err = h.rerender()
			}
		}
		if err != nil && ctx.Err() == nil {
			h.log.Warn("status page render failed", "err", err)
		}
		timer.Reset(h.untilNext())
	}
}

// refreshIfChanged renders again when the store's generation moved (or
// nothing is rendered yet).
func (h *Handler) refreshIfChanged(ctx context.Context) error {
	gen, err := h.src.StatusGeneration(ctx)
	if err != nil {
		return fmt.Errorf("statuspage: read generation: %w", err)
	}
	if s := h.site.Load(); s != nil && s.generation == gen {
		return nil
	}
	return h.Refresh(ctx)
}

// untilNext is how long until the next render is due by the clock: the
// next whole minute, or sooner the next due instant.
func (h *Handler) untilNext() time.Duration {
	now := h.clock.Now()
	d := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	if s := h.site.Load(); s != nil && !s.next.IsZero() {
		if until := s.next.Sub(now); until < d {
			d = until
		}
	}
	return max(d, 10*time.Millisecond)
}
