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
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/httpx"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/schedule"
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
	EscalateAlert(ctx context.Context, actor string, id int64, how string) (klaxon.Alert, error)
	Respond(ctx context.Context, r klaxon.Response) (klaxon.Alert, error)
	CreateMaintenanceWindow(ctx context.Context, actor string, m *klaxon.MaintenanceWindow) error
	ListMaintenanceWindows(ctx context.Context, serviceID int64, since time.Time) ([]klaxon.MaintenanceWindow, error)
	EndMaintenanceWindow(ctx context.Context, actor string, serviceID, id int64) (klaxon.MaintenanceWindow, error)
	RecordDelivery(ctx context.Context, providerID string, delivered bool, reason string) (bool, error)
	UsersByVerifiedPhone(ctx context.Context, phone string) ([]int64, error)
	AlertByNumber(ctx context.Context, userID int64, number int) (klaxon.Alert, error)
	AlertNumber(ctx context.Context, userID, alertID int64) (int, bool, error)
	NotificationsSentWith(ctx context.Context, key string) ([]klaxon.Notification, error)
	ListNotifications(ctx context.Context, alertID, userID int64, p klaxon.Page) ([]klaxon.Notification, error)
	AddAlertNote(ctx context.Context, actor string, alertID int64, body string) (klaxon.AlertLogEntry, error)
	ListChangeEvents(ctx context.Context, serviceID int64, p klaxon.Page) ([]klaxon.ChangeEvent, error)
	CreateWebhookSubscription(ctx context.Context, actor string, w *klaxon.WebhookSubscription) error
	WebhookSubscription(ctx context.Context, id int64) (klaxon.WebhookSubscription, error)
	ListWebhookSubscriptions(ctx context.Context, p klaxon.Page) ([]klaxon.WebhookSubscription, error)
	SetWebhookSubscriptionEnabled(ctx context.Context, actor string, id int64, enabled bool) (klaxon.WebhookSubscription, error)
	ListWebhookDeliveries(ctx context.Context, subscriptionID int64, p klaxon.Page) ([]klaxon.Notification, error)

	CreateAPIToken(ctx context.Context, actor string, t *klaxon.APIToken, secret string) error
	APIToken(ctx context.Context, id int64) (klaxon.APIToken, error)
	ListAPITokens(ctx context.Context) ([]klaxon.APIToken, error)
	RevokeAPIToken(ctx context.Context, actor string, id int64) error
	ListAudit(ctx context.Context, p klaxon.Page) ([]klaxon.AuditEntry, error)

	CreateUser(ctx context.Context, actor string, u *klaxon.User) error
	User(ctx context.Context, id int64) (klaxon.User, error)
	ListUsers(ctx context.Context, p klaxon.Page) ([]klaxon.User, error)
	UpdateUser(ctx context.Context, actor string, id int64, patch klaxon.UserPatch) (klaxon.User, error)
	CreateContactMethod(ctx context.Context, actor string, c *klaxon.ContactMethod) error
	ListContactMethods(ctx context.Context, userID int64) ([]klaxon.ContactMethod, error)
	SendVerification(ctx context.Context, actor string, userID, contactMethodID int64, code string) (klaxon.VerificationSent, error)
	VerifyContactMethod(ctx context.Context, actor string, userID, contactMethodID int64, code string) (klaxon.ContactMethod, error)
	CreateNotificationRule(ctx context.Context, actor string, n *klaxon.NotificationRule) error
	ListNotificationRules(ctx context.Context, userID int64) ([]klaxon.NotificationRule, error)
	CreateTeam(ctx context.Context, actor string, t *klaxon.Team) error
	Team(ctx context.Context, id int64) (klaxon.Team, error)
	ListTeams(ctx context.Context, p klaxon.Page) ([]klaxon.Team, error)
	UpdateTeam(ctx context.Context, actor string, id int64, patch klaxon.TeamPatch) (klaxon.Team, error)
	SetTeamMember(ctx context.Context, actor string, teamID int64, m klaxon.TeamMembership) (klaxon.Team, error)
	RemoveTeamMember(ctx context.Context, actor string, teamID, userID int64) (klaxon.Team, error)

	CreateSchedule(ctx context.Context, actor string, sc *klaxon.Schedule) error
	Schedule(ctx context.Context, id int64) (klaxon.Schedule, error)
	ListSchedules(ctx context.Context, p klaxon.Page) ([]klaxon.Schedule, error)
	UpdateSchedule(ctx context.Context, actor string, id int64, patch klaxon.SchedulePatch) (klaxon.Schedule, error)
	CreateOverride(ctx context.Context, actor string, o *klaxon.Override) error
	Overrides(ctx context.Context, scheduleID int64, from, to time.Time) ([]klaxon.Override, error)
	SchedulesOfUser(ctx context.Context, userID int64, since time.Time) ([]int64, error)
	CreateEscalationPolicy(ctx context.Context, actor string, p *klaxon.EscalationPolicy) error
	EscalationPolicy(ctx context.Context, id int64) (klaxon.EscalationPolicy, error)
	ListEscalationPolicies(ctx context.Context, p klaxon.Page) ([]klaxon.EscalationPolicy, error)
	UpdateEscalationPolicy(ctx context.Context, actor string, id int64, patch klaxon.PolicyPatch) (klaxon.EscalationPolicy, error)
	FeedKey(ctx context.Context) ([]byte, error)
	FeedGeneration(ctx context.Context, kind klaxon.FeedKind, id int64) (int64, error)
	RotateFeed(ctx context.Context, actor string, kind klaxon.FeedKind, id int64) (int64, error)

	StatusPage(ctx context.Context) (klaxon.StatusPage, error)
	UpdateStatusPage(ctx context.Context, actor string, patch klaxon.StatusPagePatch) (klaxon.StatusPage, error)
	CreateStatusComponent(ctx context.Context, actor string, n klaxon.NewStatusComponent) (klaxon.StatusComponent, error)
	StatusComponent(ctx context.Context, id int64) (klaxon.StatusComponent, error)
	ListStatusComponents(ctx context.Context) ([]klaxon.StatusComponent, error)
	UpdateStatusComponent(ctx context.Context, actor string, id int64, p klaxon.ComponentPatch) (klaxon.StatusComponent, error)
	ComponentHistory(ctx context.Context, id int64, since time.Time) ([]klaxon.ComponentChange, error)
	CreateStatusIncident(ctx context.Context, actor string, n klaxon.NewIncident) (klaxon.StatusIncident, error)
	AddIncidentUpdate(ctx context.Context, actor string, incidentID int64, u klaxon.NewIncidentUpdate) (klaxon.StatusIncident, klaxon.IncidentUpdate, error)
	StatusIncident(ctx context.Context, id int64) (klaxon.StatusIncident, error)
	ListStatusIncidents(ctx context.Context, p klaxon.Page) ([]klaxon.StatusIncident, error)
	SetPostmortem(ctx context.Context, actor string, incidentID int64, pm klaxon.Postmortem) (klaxon.StatusIncident, error)
	CreateMaintenance(ctx context.Context, actor string, m klaxon.NewMaintenance) (klaxon.StatusIncident, error)
	CreateStatusSubscriber(ctx context.Context, actor string, s *klaxon.StatusSubscriber) (created bool, err error)
	StatusSubscriber(ctx context.Context, id int64) (klaxon.StatusSubscriber, error)
	ListStatusSubscribers(ctx context.Context, p klaxon.Page) ([]klaxon.StatusSubscriber, error)
	UnsubscribeStatusSubscriber(ctx context.Context, actor string, id int64) (klaxon.StatusSubscriber, error)

	ListNodes(ctx context.Context, now time.Time, aliveWithin time.Duration) ([]klaxon.Node, error)
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
	// Clock answers "now" for on-call questions asked without a time; the
	// system clock when nil.
	Clock klaxon.Clock
	// PublicURL is the server's address as people reach it (for calendar
	// feed URLs); empty means the host each request came to.
	PublicURL string
	// Links checks the response links in messages; nil refuses them all.
	Links *notify.Linker
	// SelfTest, when set, is the last self-test's failure (nil when it
	// passed): /readyz fails while it fails.
	SelfTest func() error
	// WebhookSecret is the signing key of a webhook contact method; the
	// answer that creates one shows it, once.
	WebhookSecret func(contactMethodID int64) []byte
	// WebhookSubscriptionSecret is the signing key of a webhook
	// subscription; the answer that creates one shows it, once.
	WebhookSubscriptionSecret func(subscriptionID int64) []byte
	// StatusWebhookSecret is the signing key of a status page webhook
	// subscriber; the answer that creates one shows it, once.
	StatusWebhookSecret func(subscriberID int64) []byte
	// TwilioAuthToken checks the signature of Twilio's callbacks (delivery
	// reports, SMS replies, keys pressed during calls), which Twilio signs
	// over PublicURL; empty turns those routes off (404). It is a secret:
	// never logged, never shown.
	TwilioAuthToken string
	// NodeAliveWithin is how recently a node must have recorded itself to
	// be listed alive by GET /api/v1/cluster; it must span a few of the
	// nodes' heartbeats. Default 15 s.
	NodeAliveWithin time.Duration
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

	clock        klaxon.Clock
	publicURL    string
	feedKeyCache atomic.Pointer[[]byte] // the store's feed key, once read
	zones        schedule.Zones         // parsed time zones: loading one costs ~5 µs per schedule
	links        *notify.Linker
	selfTest     func() error
	webhookKey   func(int64) []byte
	subSecret    func(int64) []byte
	statusKey    func(int64) []byte
	twilioToken  string
	nodeAlive    time.Duration

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
	if cfg.Clock == nil {
		cfg.Clock = klaxon.SystemClock{}
	}
	if cfg.NodeAliveWithin <= 0 {
		cfg.NodeAliveWithin = defaultNodeAlive
	}
	s := &Server{
		store:   cfg.Store,
		log:     cfg.Logger,
		keys:    newSecretCache[integrationEntry](10 * time.Second),
		tokens:  newSecretCache[klaxon.APIToken](10 * time.Second),
		limits:  newRateLimits(cfg.RatePerIntegration, cfg.RateBurst),
		metrics: newMetrics(cfg.Registry, cfg.Store),
		version: cfg.Version,

		clock:       cfg.Clock,
		publicURL:   cfg.PublicURL,
		links:       cfg.Links,
		selfTest:    cfg.SelfTest,
		webhookKey:  cfg.WebhookSecret,
		subSecret:   cfg.WebhookSubscriptionSecret,
		statusKey:   cfg.StatusWebhookSecret,
		twilioToken: cfg.TwilioAuthToken,
		nodeAlive:   cfg.NodeAliveWithin,

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
	// selfOrAdmin: an admin, or a token tied to the user {id} (any role).
	selfOrAdmin := func(h http.HandlerFunc) http.HandlerFunc {
		return s.requireRole(klaxon.RoleViewer, s.requireSelfOrAdmin(h))
	}
	// Only a response page's own form, or a client that is not a browser
	// (ntfy's action buttons), may POST a response link.
	csrf := http.NewCrossOriginProtection()
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
		{"GET", "/api/v1/services/{id}/maintenance-windows", viewer(s.listMaintenance)},
		{"POST", "/api/v1/services/{id}/maintenance-windows", responder(s.createMaintenance)},
		{"POST", "/api/v1/services/{id}/maintenance-windows/{window}/end", responder(s.endMaintenance)},

		{"GET", "/api/v1/alerts", viewer(s.listAlerts)},
		{"GET", "/api/v1/alerts/{id}", viewer(s.getAlert)},
		{"POST", "/api/v1/alerts/{id}/acknowledge", responder(s.acknowledgeAlert)},
		{"POST", "/api/v1/alerts/{id}/resolve", responder(s.resolveAlert)},
		{"POST", "/api/v1/alerts/{id}/notes", responder(s.addAlertNote)},
		{"POST", "/api/v1/alerts/{id}/escalate", responder(s.escalateAlert)},
		{"GET", "/api/v1/alerts/{id}/notifications", viewer(s.alertNotifications)},
		{"GET", "/api/v1/users/{id}/notifications", viewer(s.userNotifications)},
		// Response links from messages: the signed token in the URL is the
		// credential (see internal/notify/links.go).
		{"GET", "/r/{token}", s.responsePage},
		{"POST", "/r/{token}", csrf.Handler(http.HandlerFunc(s.respondByLink)).ServeHTTP},
		{"GET", "/api/v1/change-events", viewer(s.listChangeEvents)},
		// Webhook subscriptions: alert lifecycle events to any URL.
		{"GET", "/api/v1/webhooks", admin(s.listWebhooks)},
		{"POST", "/api/v1/webhooks", admin(s.createWebhook)},
		{"GET", "/api/v1/webhooks/{id}", admin(s.getWebhook)},
		{"POST", "/api/v1/webhooks/{id}/disable", admin(s.setWebhookEnabled(false))},
		{"POST", "/api/v1/webhooks/{id}/enable", admin(s.setWebhookEnabled(true))},
		{"GET", "/api/v1/webhooks/{id}/deliveries", admin(s.listWebhookDeliveries)},
		// Twilio's callbacks: authenticated by Twilio's signature over the
		// public URL and the form (see twilio.go).
		{"POST", TwilioStatusPath, s.twilioStatus},
		{"POST", TwilioSMSPath, s.twilioSMS},
		{"POST", TwilioVoicePath, s.twilioVoice},

		{"GET", "/api/v1/users", viewer(s.listUsers)},
		{"POST", "/api/v1/users", admin(s.createUser)},
		{"GET", "/api/v1/users/{id}", viewer(s.getUser)},
		{"PATCH", "/api/v1/users/{id}", admin(s.patchUser)},
		{"GET", "/api/v1/users/{id}/contact-methods", viewer(s.listContactMethods)},
		{"POST", "/api/v1/users/{id}/contact-methods", selfOrAdmin(s.createContactMethod)},
		{"POST", "/api/v1/users/{id}/contact-methods/{cm}/send-verification", selfOrAdmin(s.sendVerification)},
		{"POST", "/api/v1/users/{id}/contact-methods/{cm}/verify", selfOrAdmin(s.verifyContactMethod)},
		{"GET", "/api/v1/users/{id}/notification-rules", viewer(s.listNotificationRules)},
		{"POST", "/api/v1/users/{id}/notification-rules", selfOrAdmin(s.createNotificationRule)},
		{"GET", "/api/v1/teams", viewer(s.listTeams)},
		{"POST", "/api/v1/teams", admin(s.createTeam)},
		{"GET", "/api/v1/teams/{id}", viewer(s.getTeam)},
		{"PATCH", "/api/v1/teams/{id}", admin(s.patchTeam)},
		{"POST", "/api/v1/teams/{id}/members", admin(s.addTeamMember)},
		{"POST", "/api/v1/teams/{id}/members/{user}/remove", admin(s.removeTeamMember)},

		{"GET", "/api/v1/schedules", viewer(s.listSchedules)},
		{"POST", "/api/v1/schedules", admin(s.createSchedule)},
		{"GET", "/api/v1/schedules/{id}", viewer(s.getSchedule)},
		{"PATCH", "/api/v1/schedules/{id}", admin(s.patchSchedule)},
		{"GET", "/api/v1/schedules/{id}/overrides", viewer(s.listOverrides)},
		{"POST", "/api/v1/schedules/{id}/overrides", responder(s.createOverride)},
		{"GET", "/api/v1/schedules/{id}/oncall", viewer(s.scheduleOnCall)},
		{"GET", "/api/v1/schedules/{id}/shifts", viewer(s.scheduleShifts)},
		{"GET", "/api/v1/schedules/{id}/gaps", viewer(s.scheduleGaps)},
		{"POST", "/api/v1/schedules/{id}/rotate-feed", admin(s.rotateFeed(klaxon.FeedSchedule))},
		{"POST", "/api/v1/users/{id}/rotate-feed", selfOrAdmin(s.rotateFeed(klaxon.FeedUser))},
		{"GET", "/api/v1/users/{id}/feed", selfOrAdmin(s.userFeedURL)},
		{"GET", "/api/v1/escalation-policies", viewer(s.listPolicies)},
		{"POST", "/api/v1/escalation-policies", admin(s.createPolicy)},
		{"GET", "/api/v1/escalation-policies/{id}", viewer(s.getPolicy)},
		{"PATCH", "/api/v1/escalation-policies/{id}", admin(s.patchPolicy)},
		{"GET", "/api/v1/oncall", viewer(s.allOnCall)},
		// Calendar feeds: authenticated by the token in the URL, for
		// calendar clients that cannot send a header.
		{"GET", "/ical/schedules/{id}/{file}", s.scheduleFeed},
		{"GET", "/ical/users/{id}/{file}", s.userFeed},

		// The status page's administration (status.go): reads need viewer,
		// the page and components admin, incidents, maintenance and
		// postmortems responder, subscribers admin.
		{"GET", "/api/v1/status/page", viewer(s.getStatusPage)},
		{"PATCH", "/api/v1/status/page", admin(s.patchStatusPage)},
		{"GET", "/api/v1/status/components", viewer(s.listStatusComponents)},
		{"POST", "/api/v1/status/components", admin(s.createStatusComponent)},
		{"GET", "/api/v1/status/components/{id}", viewer(s.getStatusComponent)},
		{"PATCH", "/api/v1/status/components/{id}", admin(s.patchStatusComponent)},
		{"GET", "/api/v1/status/components/{id}/history", viewer(s.statusComponentHistory)},
		{"GET", "/api/v1/status/incidents", viewer(s.listStatusIncidents)},
		{"POST", "/api/v1/status/incidents", responder(s.createStatusIncident)},
		{"GET", "/api/v1/status/incidents/{id}", viewer(s.getStatusIncident)},
		{"POST", "/api/v1/status/incidents/{id}/updates", responder(s.addIncidentUpdate)},
		{"PUT", "/api/v1/status/incidents/{id}/postmortem", responder(s.putPostmortem)},
		{"GET", "/api/v1/status/maintenances", viewer(s.listStatusMaintenances)},
		{"POST", "/api/v1/status/maintenances", responder(s.createStatusMaintenance)},
		{"GET", "/api/v1/status/subscribers", admin(s.listStatusSubscribers)},
		{"POST", "/api/v1/status/subscribers", admin(s.createStatusSubscriber)},
		{"GET", "/api/v1/status/subscribers/{id}", admin(s.getStatusSubscriber)},
		{"POST", "/api/v1/status/subscribers/{id}/unsubscribe", admin(s.unsubscribeStatusSubscriber)},

		{"GET", "/api/v1/tokens", admin(s.listTokens)},
		{"POST", "/api/v1/tokens", admin(s.createToken)},
		{"POST", "/api/v1/tokens/{id}/revoke", admin(s.revokeToken)},
		{"GET", "/api/v1/audit", admin(s.listAudit)},
		// The nodes sharing the database (cluster.go).
		{"GET", "/api/v1/cluster", viewer(s.cluster)},

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
