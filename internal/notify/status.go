package notify

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Status page subscribers are told through the same channels as people:
// an email subscriber's messages go through the email Notifier as a
// Message of one of these kinds, and a webhook subscriber's through a
// StatusSender. They are not pages: they carry no alert, no response link
// and no bundle.
const (
	// KindStatusConfirm asks an email subscriber to confirm the address
	// (double opt-in): nothing else is sent to it until it does.
	KindStatusConfirm Kind = "status_confirm"
	// KindStatusUpdate carries one incident (or maintenance) update to a
	// subscriber of the status page.
	KindStatusUpdate Kind = "status_update"
)

// StatusNotice is what a status page message says: Message.Status for the
// status kinds, fully decided (links signed, page URL resolved), so that
// channels only lay it out.
type StatusNotice struct {
	Page klaxon.StatusPage
	// PageURL is the page's public base URL, without a trailing slash: the
	// links to the page and to the incident start with it.
	PageURL string
	// Incident is the incident as it stood after Update; both are zero for
	// a confirmation.
	Incident klaxon.StatusIncident
	Update   klaxon.IncidentUpdate
	// ConfirmURL confirms the subscription (KindStatusConfirm);
	// UnsubscribeURL ends it in one click (KindStatusUpdate). Both are
	// signed links of the status page.
	ConfirmURL, UnsubscribeURL string
}

// IncidentURL is where the notice's incident is shown on the page.
func (n *StatusNotice) IncidentURL() string {
	return strings.TrimRight(n.PageURL, "/") + "/incidents/" + strconv.FormatInt(n.Incident.ID, 10)
}

// UpdateStatus is the status the update set, or, for an update that kept
// the status, the incident's.
func (n *StatusNotice) UpdateStatus() klaxon.IncidentStatus {
	if n.Update.Status != "" {
		return n.Update.Status
	}
	return n.Incident.Status
}

// StatusTitle is the one-line headline of a status page message:
// "[Acme Status] Checkout errors: Investigating" for an update, "Confirm
// your subscription to Acme Status" for a confirmation.
func StatusTitle(m Message) string {
	if m.Status == nil {
		return ""
	}
	n := m.Status
	if m.Kind == KindStatusConfirm {
		return "Confirm your subscription to " + n.Page.Name
	}
	return "[" + n.Page.Name + "] " + n.Incident.Name + ": " + n.UpdateStatus().Label()
}

// StatusTime writes t as the status page shows absolute times, in the
// page's time zone: "Jan 23, 2018 - 14:16 PST". An unknown zone falls
// back to UTC, so that a message is never lost over a setting.
func StatusTime(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	return t.In(loc).Format("Jan 2, 2006 - 15:04 MST")
}

// StatusSender posts status page updates to webhook subscribers. The
// webhook channel implements it. Errors follow Notifier's rule: an *Error
// says whether to retry.
type StatusSender interface {
	SendStatus(ctx context.Context, p StatusPost) error
}

// StatusPost is one delivery to a webhook subscriber, fully decided: the
// JSON body is the status page's own (Statuspage's webhook shape), which
// the channel signs and posts unchanged in meaning.
type StatusPost struct {
	// DeliveryID is the same on every retry of the delivery, so that a
	// receiver can drop a duplicate.
	DeliveryID string
	// URL is the subscriber's endpoint, and Secret the key that signs the
	// request.
	URL    string
	Secret []byte
	// Body is the JSON document to post.
	Body []byte
}
