package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/ingest"
)

// statusFor maps an error code to its HTTP status. It is the one place where
// domain errors become HTTP.
func statusFor(code klaxon.ErrorCode) int {
	switch code {
	case klaxon.EINVALID:
		return http.StatusBadRequest
	case klaxon.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case klaxon.EFORBIDDEN:
		return http.StatusForbidden
	case klaxon.ENOTFOUND:
		return http.StatusNotFound
	case klaxon.ECONFLICT:
		return http.StatusConflict
	case klaxon.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case klaxon.ERATELIMIT:
		return http.StatusTooManyRequests
	case klaxon.EOVERLOAD, klaxon.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// retryAfterSeconds is what overloaded answers tell senders to wait.
const retryAfterSeconds = 1

type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    klaxon.ErrorCode `json:"code"`
	Message string           `json:"message"`
	Field   string           `json:"field,omitempty"`
}

// unavailable turns a failure of the database into a retryable 503: the
// sender did nothing wrong and should try again. The cause is logged.
func (s *Server) unavailable(err error) error {
	if klaxon.ErrorCodeOf(err) != klaxon.EINTERNAL {
		return err
	}
	s.log.Error("database unavailable", "err", err)
	return klaxon.Errorf(klaxon.EUNAVAILABLE, "the event store is unavailable; retry shortly")
}

// toErrorJSON shows a domain error as it is, and hides anything else behind
// "internal error" (it is logged, never sent: it may name tables or hosts).
func toErrorJSON(err error) errorJSON {
	if e, ok := klaxon.AsError(err); ok {
		return errorJSON{Code: e.Code, Message: e.Message, Field: e.Field}
	}
	return errorJSON{Code: klaxon.EINTERNAL, Message: "internal error"}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	body := toErrorJSON(err)
	status := statusFor(body.Code)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		}
	}
	writeJSON(w, status, errorBody{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// readBody reads a request body of at most limit bytes. A larger body is
// ETOOLARGE (413), whatever Content-Length claimed.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, klaxon.Errorf(klaxon.ETOOLARGE, "request body is %d bytes; at most %d are allowed", r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, klaxon.Errorf(klaxon.ETOOLARGE, "request body is over the limit of %d bytes", limit)
	}
	if err != nil {
		return nil, klaxon.Errorf(klaxon.EINVALID, "reading request body: %v", err)
	}
	return body, nil
}

// maxAdminBody bounds the body of every management request.
const maxAdminBody = 64 << 10

// decodeStrict reads a management request body (at most maxAdminBody) and
// decodes it into v with ingest.DecodeObject: unknown, misspelt or repeated
// fields are refused, and every error names the field.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeStrictUpTo(w, r, maxAdminBody, v)
}

// decodeStrictUpTo is decodeStrict with a body limit of its own, for the
// requests that carry long text (incident messages, postmortems).
func decodeStrictUpTo(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	return ingest.DecodeObject(body, v)
}

// pathID parses the {name} path segment as an id. A malformed id cannot
// name anything, so it is ENOTFOUND like an unknown one.
func pathID(r *http.Request, name, what string) (int64, error) {
	raw := r.PathValue(name)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, klaxon.Errorf(klaxon.ENOTFOUND, "%s %q not found", what, raw)
	}
	return id, nil
}

// pageFrom reads the cursor and limit query parameters.
func pageFrom(r *http.Request) (klaxon.Page, error) {
	var p klaxon.Page
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > klaxon.MaxPageSize {
			return p, klaxon.FieldError("limit", "must be a whole number from 1 to %d", klaxon.MaxPageSize)
		}
		p.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return p, klaxon.FieldError("cursor", "is not a cursor this API returned")
		}
		p.Before = n
	}
	return p, nil
}

// writePage answers one page of a list: {"<name>": [...], "next_cursor"},
// the cursor present only when the page was full (so more may follow).
func writePage[T, J any](w http.ResponseWriter, p klaxon.Page, name string, items []T, id func(T) int64, toJSON func(T) J) {
	answer := map[string]any{name: mapJSON(items, toJSON)}
	if n := len(items); n > 0 && n >= p.Normalized().Limit {
		answer["next_cursor"] = strconv.FormatInt(id(items[n-1]), 10)
	}
	writeJSON(w, http.StatusOK, answer)
}

// mapJSON converts items to their wire form. The result is never nil, so an
// empty list is [] on the wire, not null.
func mapJSON[T, J any](items []T, toJSON func(T) J) []J {
	out := make([]J, 0, len(items))
	for _, it := range items {
		out = append(out, toJSON(it))
	}
	return out
}
