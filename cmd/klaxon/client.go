package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiClient is the CLI's view of a Klaxon server.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(base, token string) (*apiClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Sprintf("server URL %q must look like http://host:port", base)}
	}
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a JSON request and decodes a JSON answer into out. Any answer
// other than 2xx becomes an error carrying the server's message.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach Klaxon at %s: %w", c.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading answer from %s: %w", c.base, err)
	}
	if resp.StatusCode/100 != 2 {
		return serverError(resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("unexpected answer from %s (is it Klaxon?): %w", c.base, err)
	}
	return nil
}

// apiError is a non-2xx answer. It keeps the field the server named, so
// that apply can point at the line of a file that holds it.
type apiError struct {
	status         string
	field, message string
	hint           string
}

func (e *apiError) Error() string {
	msg := e.message
	if e.field != "" {
		msg = e.field + ": " + msg
	}
	return fmt.Sprintf("server answered %s: %s%s", e.status, msg, e.hint)
}

// ErrorField and ErrorMessage implement apply.FieldError.
func (e *apiError) ErrorField() string   { return e.field }
func (e *apiError) ErrorMessage() string { return e.message }

func serverError(resp *http.Response, raw []byte) error {
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	out := &apiError{status: resp.Status, message: strings.TrimSpace(string(raw))}
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		out.message, out.field = e.Error.Message, e.Error.Field
	}
	if len(out.message) > 500 {
		out.message = out.message[:500] + "…"
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		out.hint = " (check --token / KLAXON_TOKEN, or the integration key)"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		out.hint = fmt.Sprintf(" (retry after %ss)", resp.Header.Get("Retry-After"))
	}
	return out
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Do implements apply.Client.
func (c *apiClient) Do(ctx context.Context, method, path string, in, out any) error {
	return c.do(ctx, method, path, in, out)
}
