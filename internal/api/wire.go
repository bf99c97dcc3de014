package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The JSON shapes of the management API. Domain types carry no JSON tags:
// the wire format is decided here. Ids are strings on the wire so that
// clients treat them as opaque.

type serviceJSON struct {
	ID          int64               `json:"id,string"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	State       klaxon.ServiceState `json:"state"`
	// EscalationPolicyID is null when the service pages nobody.
	EscalationPolicyID *string `json:"escalation_policy_id"`
	// AckTimeoutMinutes re-triggers an acknowledged alert after that many
	// minutes; 0 never.
	AckTimeoutMinutes int       `json:"ack_timeout_minutes"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func toServiceJSON(s klaxon.Service) serviceJSON {
	out := serviceJSON{ID: s.ID, Name: s.Name, Description: s.Description, State: s.State, AckTimeoutMinutes: s.AckTimeoutMinutes, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if s.EscalationPolicyID != 0 {
		id := strconv.FormatInt(s.EscalationPolicyID, 10)
		out.EscalationPolicyID = &id
	}
	return out
}

type integrationJSON struct {
	ID        int64                  `json:"id,string"`
	ServiceID int64                  `json:"service_id,string"`
	Name      string                 `json:"name"`
	Kind      klaxon.IntegrationKind `json:"kind"`
	Key       string                 `json:"key,omitempty"` // only when just created or rotated
	KeyHint   string                 `json:"key_hint"`
	CreatedAt time.Time              `json:"created_at"`
	RotatedAt *time.Time             `json:"rotated_at"`
}

func toIntegrationJSON(in klaxon.Integration, key string) integrationJSON {
	return integrationJSON{ID: in.ID, ServiceID: in.ServiceID, Name: in.Name, Kind: in.Kind, Key: key,
		KeyHint: in.KeyHint, CreatedAt: in.CreatedAt, RotatedAt: in.RotatedAt}
}

type alertJSON struct {
	ID             int64              `json:"id,string"`
	ServiceID      int64              `json:"service_id,string"`
	DedupKey       string             `json:"dedup_key"`
	Status         klaxon.AlertStatus `json:"status"`
	Severity       klaxon.Severity    `json:"severity"`
	Urgency        klaxon.Urgency     `json:"urgency"`
	Summary        string             `json:"summary"`
	Source         string             `json:"source"`
	Component      string             `json:"component"`
	Group          string             `json:"group"`
	Class          string             `json:"class"`
	EventCount     int64              `json:"event_count"`
	CreatedAt      time.Time          `json:"created_at"`
	AcknowledgedAt *time.Time         `json:"acknowledged_at"`
	ResolvedAt     *time.Time         `json:"resolved_at"`
	LastEventAt    time.Time          `json:"last_event_at"`
}

func toAlertJSON(a klaxon.Alert) alertJSON {
	return alertJSON{ID: a.ID, ServiceID: a.ServiceID, DedupKey: a.DedupKey, Status: a.Status, Severity: a.Severity,
		Urgency: a.Urgency, Summary: a.Summary, Source: a.Source, Component: a.Component, Group: a.Group, Class: a.Class,
		EventCount: a.EventCount, CreatedAt: a.CreatedAt, AcknowledgedAt: a.AcknowledgedAt, ResolvedAt: a.ResolvedAt,
		LastEventAt: a.LastEventAt}
}

type eventJSON struct {
	ID            int64           `json:"id,string"`
	IntegrationID int64           `json:"integration_id,string"`
	Action        klaxon.Action   `json:"action"`
	DedupKey      string          `json:"dedup_key"`
	Summary       string          `json:"summary,omitempty"`
	Severity      klaxon.Severity `json:"severity,omitempty"`
	Source        string          `json:"source,omitempty"`
	Component     string          `json:"component,omitempty"`
	Group         string          `json:"group,omitempty"`
	Class         string          `json:"class,omitempty"`
	Details       json.RawMessage `json:"details,omitempty"`
	Links         []klaxon.Link   `json:"links,omitempty"`
	Images        []klaxon.Image  `json:"images,omitempty"`
	Timestamp     *time.Time      `json:"timestamp,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
}

func toEventJSON(e klaxon.Event) eventJSON {
	out := eventJSON{ID: e.ID, IntegrationID: e.IntegrationID, Action: e.Action, DedupKey: e.DedupKey, Summary: e.Summary,
		Severity: e.Severity, Source: e.Source, Component: e.Component, Group: e.Group, Class: e.Class, Details: e.Details,
		Links: e.Links, Images: e.Images, ReceivedAt: e.ReceivedAt}
	if !e.Timestamp.IsZero() {
		ts := e.Timestamp
		out.Timestamp = &ts
	}
	return out
}

type logEntryJSON struct {
	ID      int64     `json:"id,string"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Actor   string    `json:"actor"`
	Message string    `json:"message,omitempty"`
}

func toLogEntryJSON(e klaxon.AlertLogEntry) logEntryJSON {
	return logEntryJSON{ID: e.ID, At: e.At, Kind: e.Kind, Actor: e.Actor, Message: e.Message}
}

type changeEventJSON struct {
	ID            int64           `json:"id,string"`
	ServiceID     int64           `json:"service_id,string"`
	IntegrationID int64           `json:"integration_id,string"`
	Summary       string          `json:"summary"`
	Source        string          `json:"source,omitempty"`
	Details       json.RawMessage `json:"details,omitempty"`
	Links         []klaxon.Link   `json:"links,omitempty"`
	Timestamp     *time.Time      `json:"timestamp,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
}

func toChangeEventJSON(ce klaxon.ChangeEvent) changeEventJSON {
	c := changeEventJSON{ID: ce.ID, ServiceID: ce.ServiceID, IntegrationID: ce.IntegrationID, Summary: ce.Summary,
		Source: ce.Source, Details: ce.Details, Links: ce.Links, ReceivedAt: ce.ReceivedAt}
	if !ce.Timestamp.IsZero() {
		ts := ce.Timestamp
		c.Timestamp = &ts
	}
	return c
}

type tokenJSON struct {
	ID        int64       `json:"id,string"`
	Name      string      `json:"name"`
	Role      klaxon.Role `json:"role"`
	Token     string      `json:"token,omitempty"` // only when just created
	Hint      string      `json:"hint"`
	CreatedAt time.Time   `json:"created_at"`
	RevokedAt *time.Time  `json:"revoked_at"`
}

func toTokenJSON(t klaxon.APIToken, secret string) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, Token: secret, Hint: t.Hint, CreatedAt: t.CreatedAt, RevokedAt: t.RevokedAt}
}

type auditJSON struct {
	ID         int64           `json:"id,string"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   int64           `json:"object_id,string"`
	Detail     json.RawMessage `json:"detail,omitempty"`
}

func toAuditJSON(e klaxon.AuditEntry) auditJSON {
	entry := auditJSON{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID}
	if e.Detail != "" && json.Valid([]byte(e.Detail)) {
		entry.Detail = json.RawMessage(e.Detail)
	}
	return entry
}
