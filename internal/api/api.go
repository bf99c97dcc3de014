// Package api serves Klaxon's HTTP API: the event endpoints (native and
// PagerDuty Events v2), the management API under /api/v1, the OpenAPI
// description, metrics and health checks.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpx"
)

// Store is what the API needs from the database.
type Store interface {
	Ingest(ctx context.Context, events []klaxon.Event) ([]klaxon.IngestResult, error)
	IngestChange(ctx context.Context, ce *klaxon.ChangeEvent) error
	IngestQueueLength() int64
	IntegrationByKey(ctx context.Context, hash []byte) (klaxon.Integration, klaxon.Service, error)
	APITokenByHash(ctx context.Context, hash []byte) (klaxon.APIToken, error)
	Ping(ctx context.Context) error

	CreateService(ctx context.Context, actor string, svc *klaxon.Service) error
	Service(ctx context.Context, id int64) (klaxon.Service, error)
	ListServices(ctx context.Context, p klaxon.Page) ([]klaxon.Service, error)
	UpdateService(ctx context.Context, actor string, id int64, patch klaxon.ServicePatch) (klaxon.Service, error)
	CreateIntegration(ctx context.Context, actor string, in *klaxon.Integration) (string, error)
	ListIntegrations(ctx context.Context, serviceID int64) ([]klaxon.Integration, error)
	RotateIntegrationKey(ctx context.Context, actor string, serviceID, id int64) (klaxon.Integration, string, error)

	ListAlerts(ctx context.Context, f klaxon.AlertFilter) ([]klaxon.Alert, error)
	Alert(ctx context.Context, id int64) (klaxon.Alert, error)
	AlertEvents(ctx context.Context, alertID int64) ([]klaxon.Event, error)
	AlertLog(ctx context.Context, alertID int64) ([]klaxon.AlertLogEntry, error)
	AcknowledgeAlert(ctx context.Context, actor string, id int64) (klaxon.Alert, error)
	ResolveAlert(ctx context.Context, actor string, id int64) (klaxon.Alert, error)
	AddAlertNote(ctx context.Context, actor string, alertID int64, body string) (klaxon.AlertLogEntry, error)
	ListChangeEvents(ctx context.Context, serviceID int64, p klaxon.Page) ([]klaxon.ChangeEvent, error)

	CreateAPIToken(ctx context.Context, actor string, t *klaxon.APIToken, secret string) error
	APIToken(ctx context.Context, id int64) (klaxon.APIToken, error)
	ListAPITokens(ctx context.Context) ([]klaxon.APIToken, error)
	RevokeAPIToken(ctx context.Context, actor string, id int64) error
	ListAudit(ctx context.Context, p klaxon.Page) ([]klaxon.AuditEntry, error)
}

// Config configures a Server.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// Registry receives the API's metrics and is served at /metrics.
	Registry *prometheus.Registry
	// RatePerIntegration is each integration's sustained event rate per
	// second; 0 turns rate limiting off. RateBurst is the bucket size.
	RatePerIntegration float64
	RateBurst          int
	// Version is reported by /healthz.
	Version string
}

// Server is the HTTP API.
type Server struct {
	store   Store
	log     *slog.Logger
	keys    *secretCache[integrationEntry]
	tokens  *secretCache[klaxon.APIToken]
	limits  *rateLimits
	metrics *metrics
	version string
	handler http.Handler

	changeSlots chan struct{} // bounds change events waiting for the database
}

// route is one endpoint. The table below is the API: the mux is built from
// it, and the OpenAPI test checks openapi.json against it.
type route struct {
	method, pattern string
	handler         http.HandlerFunc
}

// New builds the API server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		store:   cfg.Store,
		log:     cfg.Logger,
		keys:    newSecretCache[integrationEntry](10 * time.Second),
		tokens:  newSecretCache[klaxon.APIToken](10 * time.Second),
		limits:  newRateLimits(cfg.RatePerIntegration, cfg.RateBurst),
		metrics: newMetrics(cfg.Registry, cfg.Store),
		version: cfg.Version,

		changeSlots: make(chan struct{}, 64),
	}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.method+" "+rt.pattern, rt.handler)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.noRoute(w, r, mux) })
	s.handler = httpx.Chain(mux, httpx.Observe(cfg.Logger, cfg.Registry))
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() []route {
	viewer := func(h http.HandlerFunc) http.HandlerFunc { return s.requireRole(klaxon.RoleViewer, h) }
	responder := func(h http.HandlerFunc) http.HandlerFunc { return s.requireRole(klaxon.RoleResponder, h) }
	admin := func(h http.HandlerFunc) http.HandlerFunc { return s.requireRole(klaxon.RoleAdmin, h) }
	return []route{
		// Events in. Authenticated by integration key, not API token.
		{"POST", "/api/v1/events", s.postEvent},
		{"POST", "/api/v1/events/batch", s.postEventBatch},
		{"POST", "/v2/enqueue", s.postPagerDutyEvent},
		{"POST", "/v2/change/enqueue", s.postPagerDutyChange},

		{"GET", "/api/v1/services", viewer(s.listServices)},
		{"POST", "/api/v1/services", admin(s.createService)},
		{"GET", "/api/v1/services/{id}", viewer(s.getService)},
		{"PATCH", "/api/v1/services/{id}", admin(s.patchService)},
		{"GET", "/api/v1/services/{id}/integrations", viewer(s.listIntegrations)},
		{"POST", "/api/v1/services/{id}/integrations", admin(s.createIntegration)},
		{"POST", "/api/v1/services/{id}/integrations/{integration}/rotate", admin(s.rotateIntegration)},

		{"GET", "/api/v1/alerts", viewer(s.listAlerts)},
		{"GET", "/api/v1/alerts/{id}", viewer(s.getAlert)},
		{"POST", "/api/v1/alerts/{id}/acknowledge", responder(s.acknowledgeAlert)},
		{"POST", "/api/v1/alerts/{id}/resolve", responder(s.resolveAlert)},
		{"POST", "/api/v1/alerts/{id}/notes", responder(s.addAlertNote)},
		{"GET", "/api/v1/change-events", viewer(s.listChangeEvents)},

		{"GET", "/api/v1/tokens", admin(s.listTokens)},
		{"POST", "/api/v1/tokens", admin(s.createToken)},
		{"POST", "/api/v1/tokens/{id}/revoke", admin(s.revokeToken)},
		{"GET", "/api/v1/audit", admin(s.listAudit)},

		{"GET", "/api/v1/openapi.json", s.openAPI},
		{"GET", "/healthz", s.healthz},
		{"GET", "/readyz", s.readyz},
	}
}

// noRoute answers requests no route matched, in the API's error shape: 405
// with Allow when the path exists under other methods, 404 otherwise. It
// runs only on misses, so the extra lookups cost nothing on the hot path.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	var allowed []string
	for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorJSON{Code: "method_not_allowed",
			Message: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or "))}})
		return
	}
	s.writeError(w, r, klaxon.Errorf(klaxon.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
}
