package statuspage

import (
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The public half of email subscriptions. These answers are per request
// and never cached: they depend on the form or the token.

// maxFormBody bounds a subscription form: an address and some component
// ids.
const maxFormBody = 16 << 10

// Routes' names for the log: never the request's path, which for confirm
// and unsubscribe holds the subscriber's token (a credential).
const (
	routeSubscribe   = "subscribe"
	routeConfirm     = "confirm"
	routeUnsubscribe = "unsubscribe"
)

// overloadRetry is how long to wait when the store takes no more pending
// subscriptions (EOVERLOAD): that clears as pending ones are confirmed or
// age out.
const overloadRetry = time.Hour

// subscribe takes the page's form: an email address and, optionally, the
// components to hear about. Whether the address was new or already
// subscribed, the answer is the same. Every request the CSRF guard lets
// through counts against the rate limits (h.limits), valid or not.
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) {
	if h.subs == nil {
		h.notFound(w, r)
		return
	}
	// The client is r.RemoteAddr's host, never X-Forwarded-For or the like:
	// those are the client's to write (see clientKey).
	if ok, wait := h.limits.allow(r.RemoteAddr, h.clock.Now()); !ok {
		h.tryLater(w, r, http.StatusTooManyRequests, wait,
			"Too many subscription requests have been made. Please wait a few minutes and try again.")
		return
	}
	if err := parseForm(w, r); err != nil {
		h.message(w, r, http.StatusBadRequest, "Not subscribed", "That did not work",
			"The form could not be read. Please try again from the status page.", "")
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: email}
	ids, ok := componentIDs(append(r.PostForm["components"], r.PostForm["components[]"]...))
	if !ok {
		h.formError(w, r, email, "Please choose components from the list.")
		return
	}
	sub.Components = ids
	if err := sub.Validate(); err != nil {
		h.formError(w, r, email, formMessage(err))
		return
	}
	_, err := h.subs.CreateStatusSubscriber(r.Context(), publicActor, &sub)
	switch klaxon.ErrorCodeOf(err) {
	case "":
		h.message(w, r, http.StatusOK, "Check your inbox", "Check your inbox",
			"If "+email+" is not subscribed yet, a message with a link to confirm the subscription is on its way. "+
				"Nothing else is sent until the link is opened.", "")
	case klaxon.EINVALID:
		h.formError(w, r, email, formMessage(err))
	case klaxon.EOVERLOAD:
		// Too many subscriptions wait for confirmation: the store takes no
		// more for now.
		h.log.Warn("status subscription refused", "route", routeSubscribe, "err", err)
		h.tryLater(w, r, http.StatusServiceUnavailable, overloadRetry,
			"New subscriptions cannot be taken right now. Please try again later.")
	default:
		h.failed(w, r, routeSubscribe, err)
	}
}

// parseForm reads a POST form of at most maxFormBody bytes, urlencoded or
// multipart (RFC 8058 allows either for one-click unsubscribes).
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		return r.ParseMultipartForm(maxFormBody)
	}
	return r.ParseForm()
}

// componentIDs parses the chosen component ids: positive, at most 1,000,
// duplicates dropped.
func componentIDs(values []string) ([]int64, bool) {
	if len(values) > 1000 {
		return nil, false
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, v := range values {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, false
		}
		if !seen[n] {
			seen[n] = true
			ids = append(ids, n)
		}
	}
	return ids, true
}

// formMessage says what to fix in words for a visitor.
func formMessage(err error) string {
	if e, ok := klaxon.AsError(err); ok {
		switch e.Field {
		case "email":
			return "Please enter a plain email address, such as ops@example.com."
		case "components":
			return "Please choose components from the list."
		}
	}
	return "The subscription could not be made. Please check the form and try again."
}

// formError shows the form again with what to fix.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, email, text string) {
	p := h.preparedFor(r)
	v := p.messageView("Not subscribed", "Please check the form", text)
	v.Form = p.subscribeView(email)
	h.writeMessage(w, http.StatusBadRequest, v)
}

// confirmPage is what the confirmation link opens: a button, because mail
// scanners open links too.
func (h *Handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	h.buttonPage(w, r, purposeConfirm, "Confirm your subscription", "Confirm your subscription",
		"Press the button to start receiving status updates by email.", "Confirm subscription")
}

// confirm confirms the address the token names.
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	id, ok := h.subscriber(r, purposeConfirm)
	if !ok {
		h.notFound(w, r)
		return
	}
	_, err := h.subs.ConfirmStatusSubscriber(r.Context(), id)
	h.tokenDone(w, r, routeConfirm, err, "Subscribed", "You are subscribed",
		"You will receive an email when we post an update. Every email has a link to unsubscribe.")
}

// unsubscribePage is what the unsubscribe link opens: a button.
func (h *Handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	h.buttonPage(w, r, purposeUnsubscribe, "Unsubscribe", "Unsubscribe from status updates",
		"Press the button to stop receiving status updates by email.", "Unsubscribe")
}

// unsubscribe ends the subscription the token names: from the page's own
// button, or as an RFC 8058 one-click request (a POST of
// List-Unsubscribe=One-Click, sent by the mail provider from anywhere).
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	id, ok := h.subscriber(r, purposeUnsubscribe)
	if !ok {
		h.notFound(w, r)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.message(w, r, http.StatusBadRequest, "Unsubscribe", "That did not work",
			"The request could not be read. Please use the link in the email again.", "")
		return
	}
	if r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		if err := h.csrf.Check(r); err != nil {
			h.crossOrigin(w, r)
			return
		}
	}
	_, err := h.subs.UnsubscribeStatusSubscriber(r.Context(), publicActor, id)
	h.tokenDone(w, r, routeUnsubscribe, err, "Unsubscribed", "You are unsubscribed",
		"You will receive no more status updates by email.")
}

// buttonPage answers the GET of a link with a token for purpose: the page
// with its button (a form posting to itself), or not found for a bad token.
func (h *Handler) buttonPage(w http.ResponseWriter, r *http.Request, purpose, title, heading, text, action string) {
	if _, ok := h.subscriber(r, purpose); !ok {
		h.notFound(w, r)
		return
	}
	h.message(w, r, http.StatusOK, title, heading, text, action)
}

// tokenDone answers the store's outcome of a confirm or unsubscribe: the
// message on success, not found for an unknown subscriber, else failed
// (logged as route).
func (h *Handler) tokenDone(w http.ResponseWriter, r *http.Request, route string, err error, title, heading, text string) {
	switch klaxon.ErrorCodeOf(err) {
	case "":
		h.message(w, r, http.StatusOK, title, heading, text, "")
	case klaxon.ENOTFOUND:
		h.notFound(w, r)
	default:
		h.failed(w, r, route, err)
	}
}

// subscriber reads the request's token for purpose. Without subscriptions
// or a key, no token is valid.
func (h *Handler) subscriber(r *http.Request, purpose string) (int64, bool) {
	if h.subs == nil {
		return 0, false
	}
	return h.tokens.verify(purpose, r.PathValue("token"))
}

// crossOrigin refuses a form posted from another site.
func (h *Handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusForbidden, "Refused", "Refused",
		"This form can only be sent from the status page itself.", "")
}

// notFound answers a bad token or a disabled feature, saying nothing more.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, "Not found", "Page not found",
		"This link is not valid. It may have been cut short; try copying the whole link from the email.", "")
}

// failed answers a failure of the store: retry later. The cause is logged
// with the route's name (one of the route constants), never the path: the
// confirm and unsubscribe paths hold the token. The cause is never shown.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, route string, err error) {
	h.log.Error("status subscription failed", "route", route, "err", err)
	w.Header().Set("Retry-After", "5")
	h.message(w, r, http.StatusServiceUnavailable, "Try again", "Please try again shortly",
		"Subscriptions are unavailable right now.", "")
}

// tryLater refuses a subscription for now (rate limited, or the store
// full), with a Retry-After of wait in whole seconds, at least one. text
// says nothing about other visitors.
func (h *Handler) tryLater(w http.ResponseWriter, r *http.Request, status int, wait time.Duration, text string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	h.message(w, r, status, "Try again later", "Please try again later", text, "")
}

// preparedFor is the current page, for the frame of a message page; an
// empty page named "Status" when none could be rendered.
func (h *Handler) preparedFor(r *http.Request) *prepared {
	if s := h.current(r.Context()); s != nil {
		return s.prepared
	}
	p := prepare(klaxon.StatusSnapshot{Page: klaxon.StatusPage{Name: "Status", TimeZone: "UTC"}}, h.clock.Now())
	p.subscribe = h.subs != nil
	return p
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, title, heading, text, action string) {
	v := h.preparedFor(r).messageView(title, heading, text)
	v.Action = action
	h.writeMessage(w, status, v)
}

// writeMessage writes a per-request page: never cached, never indexed, and
// never sending its address (which may hold a token) as a Referer.
func (h *Handler) writeMessage(w http.ResponseWriter, status int, v messageView) {
	body, err := execute(pages.message, v)
	if err != nil {
		h.log.Error("status page render failed", "err", err)
		status, body = http.StatusInternalServerError, []byte("internal error\n")
	}
	hd := w.Header()
	hd.Set("Content-Type", contentTypes[kindHTML])
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd["Cache-Control"] = hdrNoStore
	hd["Content-Security-Policy"] = hdrCSP
	hd["Referrer-Policy"] = hdrNoReferrer
	hd["X-Robots-Tag"] = hdrNoIndex
	hd["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(status)
	w.Write(body)
}
