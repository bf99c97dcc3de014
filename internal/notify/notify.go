// Package notify is the contract between the engine and the channels that
// carry notifications out (email, SMS, voice, push, chat, webhooks): one
// small interface, the message every channel renders, and the one rule for
// telling a failure worth retrying from one that is not.
//
// Each channel lives in its own package under internal/notify/ and depends
// only on this package and the klaxon domain. The engine decides who is told
// what and when; a channel only turns a Message into its provider's request.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Notifier sends one message through one channel. It returns the provider's
// id for the message (for delivery callbacks and the notification log), or
// an error: an *Error says whether to retry; any other error is retried.
//
// Notify must honour ctx's deadline: the engine sends every message with a
// timeout, and a stuck provider must turn into a retry, not a stuck worker.
type Notifier interface {
	Notify(ctx context.Context, m Message) (Receipt, error)
}

// Kind is what a message is for.
type Kind string

const (
	// KindAlert pages someone about one alert, or a bundle of alerts on one
	// service.
	KindAlert Kind = "alert"
	// KindVerification carries a code that proves a phone number belongs to
	// the person who entered it.
	KindVerification Kind = "verification"
)

// Message is one notification, fully decided: channels render it and send
// it, and decide nothing.
type Message struct {
	// IdempotencyKey identifies the notification job. It is the same on
	// every retry of the job, so a provider that accepts an idempotency key
	// never delivers one job twice, and a receiver can drop duplicates.
	IdempotencyKey string
	Kind           Kind
	To             Recipient
	// Service is the name of the service the alerts belong to.
	Service string
	// Alerts are the alerts the message is about: one, or a bundle (several
	// alerts on Service that fired within a short window). Empty for a
	// verification message.
	Alerts []Alert
	// Code is the verification code of a KindVerification message.
	Code string
	// ConsoleURL is where the alert (or, for a bundle, the service's
	// alerts) can be seen; empty when no public URL is configured.
	ConsoleURL string
	// Status is what a KindStatusConfirm or KindStatusUpdate message says
	// to a status page subscriber; nil for the other kinds.
	Status *StatusNotice
}

// Recipient is who a message goes to, and where.
type Recipient struct {
	UserID int64
	Name   string
	Type   klaxon.ContactType
	// Address is the contact method's address: an email address, an E.164
	// phone number, or a URL (push topic, chat or webhook endpoint).
	Address string
	// SigningSecret signs what is sent to a webhook address, so that the
	// receiver can check it came from this Klaxon. Empty for other types.
	SigningSecret []byte
}

// Alert is what a message says about one alert.
type Alert struct {
	ID int64
	// Number is a short number for this alert that is unique for the
	// recipient while the alert is open: what an SMS reply names ("ACK 4").
	Number     int
	Summary    string
	Severity   klaxon.Severity
	Status     klaxon.AlertStatus
	Source     string
	Component  string
	EventCount int
	CreatedAt  time.Time
	// AcknowledgeURL and ResolveURL are signed, expiring, single-use links
	// that act on the alert. A GET on them shows a confirmation page and
	// only a POST acts, so mail scanners that prefetch links act on
	// nothing. Empty when no public URL is configured.
	AcknowledgeURL string
	ResolveURL     string
}

// Receipt is what a provider answered for a message it accepted.
type Receipt struct {
	// ProviderID is the provider's id for the message (Twilio's Message
	// SID, the SMTP Message-ID...), recorded with the notification so that
	// delivery callbacks can find it. May be empty if the provider gives
	// none.
	ProviderID string
}

// Error is a send failure with what the engine should do about it.
type Error struct {
	// Permanent failures are not retried: the address is wrong, the
	// credentials are refused, the request is malformed. The engine falls
	// over to the person's next contact method at once.
	Permanent bool
	// RetryAfter, when set, is the earliest the provider asked to be tried
	// again (a 429's or 503's Retry-After).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent wraps err as a failure that retrying cannot fix.
func Permanent(err error) error { return &Error{Permanent: true, Err: err} }

// IsPermanent reports whether err says that retrying cannot help.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// RetryAfterOf returns the delay a provider asked for, if any.
func RetryAfterOf(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// HTTPStatusError classifies a provider's HTTP answer; every HTTP channel
// uses it, so that one table (notify_test.go) decides for all of them.
// It returns nil for 2xx. 408, 425, 429 and 5xx are worth retrying (with
// the answer's Retry-After, given in seconds or as an HTTP date, when
// present); every other status is permanent: the provider understood the
// request and refused it, and the same request will be refused again.
// body is a short excerpt of the answer, included in the message.
func HTTPStatusError(provider string, status int, retryAfter string, body []byte, now time.Time) error {
	if status >= 200 && status < 300 {
		return nil
	}
	msg := fmt.Errorf("%s answered HTTP %d%s", provider, status, excerpt(body))
	switch {
	case status == 408, status == 425, status == 429, status >= 500:
		return &Error{Err: msg, RetryAfter: parseRetryAfter(retryAfter, now)}
	default:
		return &Error{Permanent: true, Err: msg}
	}
}

// maxRetryAfter caps what a provider may ask for: a page delayed by more
// than this is no longer a page, so the engine's own backoff takes over.
const maxRetryAfter = 10 * time.Minute

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := time.Parse(time.RFC1123, v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// excerpt renders up to 200 bytes of a provider's answer for an error
// message, on one line.
func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if s == "" {
		return ""
	}
	return ": " + klaxon.Truncate(s, 200)
}
