package klaxon

import "time"

// NotificationStatus is where a notification is in its life.
type NotificationStatus string

// The notification statuses.
const (
	// NotificationPending is waiting for its time, or for a retry.
	NotificationPending NotificationStatus = "pending"
	// NotificationSent was accepted by the provider.
	NotificationSent NotificationStatus = "sent"
	// NotificationDelivered was reported delivered by the provider.
	NotificationDelivered NotificationStatus = "delivered"
	// NotificationFailed could not be sent, after its retries, or the
	// provider reported that it was not delivered.
	NotificationFailed NotificationStatus = "failed"
	// NotificationSuppressed was decided but deliberately not sent: the
	// alert was acknowledged or resolved first, the service was in a
	// maintenance window, or the contact method is not verified. Reason
	// says which.
	NotificationSuppressed NotificationStatus = "suppressed"
)

// NotificationKind is what a notification is for.
type NotificationKind string

// The notification kinds.
const (
	NotificationAlert        NotificationKind = "alert"
	NotificationVerification NotificationKind = "verification"
	// NotificationLifecycle is a delivery of an alert lifecycle event to a
	// webhook subscription: no person, no contact method, never bundled and
	// never suppressed by acknowledgement or maintenance (it reports the
	// lifecycle itself).
	NotificationLifecycle NotificationKind = "lifecycle"
)

// Notification is one message to one contact method about one alert: a
// durable job, created in the same transaction as the decision to send it,
// and its record once sent. When a message covered several alerts (a
// bundle), every covered notification is marked sent with the BundleID of
// the one whose message carried them.
type Notification struct {
	ID              int64
	IdempotencyKey  string
	Kind            NotificationKind
	AlertID         int64
	ServiceID       int64
	UserID          int64
	ContactMethodID int64
	ContactType     ContactType
	// Firing is the escalation step that caused it ("e0.r0.s1"), empty for
	// a verification.
	Firing     string
	Status     NotificationStatus
	Reason     string
	DueAt      time.Time
	Attempts   int
	LastError  string
	ProviderID string
	BundleID   int64
	CreatedAt  time.Time
	SentAt     *time.Time
	// DeliveredAt is set by a provider's delivery callback.
	DeliveredAt *time.Time
	FailedAt    *time.Time
	// SubscriptionID and Event are set on a lifecycle delivery: the webhook
	// subscription it goes to and the event it reports. Its CreatedAt is
	// when the event happened.
	SubscriptionID int64
	Event          WebhookEvent
}

// EscalationWork is an open alert whose escalation is due for evaluation,
// with everything the engine needs to decide what to page, loaded by the
// store under a lease so that one node at a time works on it.
type EscalationWork struct {
	Alert   Alert
	Service Service
	// Policy is the policy the alert escalates on: the snapshot taken on the
	// first pass, or, on the first pass (Snapshot false), the service's
	// current policy. Nil when the service has none.
	Policy   *EscalationPolicy
	Snapshot bool
	// History is what happened to the alert that changes its escalation, in
	// order: kinds "triggered", "acknowledged", "unacknowledged",
	// "escalated", "resolved".
	History []AlertLogEntry
	// Fired holds the keys of the steps already fired ("e0.r0.s1").
	Fired map[string]bool
}

// EscalationOutcome is what the engine decided for one EscalationWork. The
// store applies it in one transaction, if the lease is still held.
type EscalationOutcome struct {
	AlertID int64
	// Policy, when set, is stored as the alert's snapshot.
	Policy *EscalationPolicy
	Fired  []FiredStep
	// Notifications are new jobs; one whose IdempotencyKey exists already
	// is skipped, so applying an outcome twice changes nothing.
	Notifications []Notification
	Log           []AlertLogEntry
	// Unacknowledge re-triggers the acknowledged alert (its acknowledgement
	// timeout ran out), in the same transaction as the pages that follow.
	Unacknowledge bool
	// Done removes the escalation: the alert is resolved or has no policy.
	Done bool
	// Next is when to evaluate again; zero means only when the alert
	// changes.
	Next time.Time
}

// FiredStep records that an escalation step fired.
type FiredStep struct {
	Key string
	At  time.Time
}

// NotificationJob is a claimed notification with what sending it needs.
type NotificationJob struct {
	Notification
	UserName string
	Address  string
	Verified bool
	Service  Service
	Alert    Alert
	// AlertNumber is the alert's short number for this person, assigned by
	// the store when the job is claimed: what an SMS reply names ("ACK 4").
	// Zero for a verification, and for an alert already resolved when
	// claimed.
	AlertNumber int
	// Code is the verification code a verification job carries; empty for
	// an alert page.
	Code string
	// InMaintenance is set when the alert's service is in a maintenance
	// window as the job is claimed: the page is recorded, not sent.
	InMaintenance bool
	// Subscription is a lifecycle delivery's subscription as it is when the
	// job is claimed (zero ID if it no longer exists), and Actor who
	// caused the event when a person did ("token:3 (ops)"), else empty.
	Subscription WebhookSubscription
	Actor        string
}

// NotificationResult is what became of a claimed notification.
type NotificationResult struct {
	Status NotificationStatus // sent, failed, suppressed, or pending for a retry
	// BundleID is the notification whose message carried this one.
	BundleID   int64
	ProviderID string
	Reason     string
	Error      string
	// Attempted counts a send attempt (not for a deferral or suppression).
	Attempted bool
	// RetryAt is when a pending (retried or deferred) job is due again.
	RetryAt time.Time
	// Failover pages each person on their next contact method, in the
	// transaction that records the result.
	Failover bool
}

// Response is a person acting on an alert: from the API, the CLI, or a
// message (a link, an SMS reply, a key press on a call).
type Response struct {
	AlertID int64
	Actor   string
	// To is acknowledged or resolved; Escalate asks for the next step now
	// instead.
	To       AlertStatus
	Escalate bool
	// How says where the response came from, for the alert's log ("from a
	// link in an email").
	How string
	// OnceKey, when set, is the hash of what makes the response single-use:
	// the link it came through, or the provider's id of the SMS or call key
	// press that carried it. It is spent in the same transaction, and a
	// second use is refused (ErrResponseSpent).
	OnceKey []byte
}
