package notify

import (
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Helpers every HTTP channel shares.

// NoRedirects returns a copy of c (or, for nil, a client with a 30-second
// timeout) that hands a 3xx answer back instead of following it: a
// provider URL that redirects is an address to fix, and a POST turned into
// a GET on the way delivers nothing.
func NoRedirects(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	} else {
		cp.Timeout = 30 * time.Second
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// WithoutURL drops the URL from a transport error, keeping its cause (so
// errors.Is still finds context.DeadlineExceeded): webhook, chat and push
// URLs are credentials, and must not reach logs or the notification log.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
