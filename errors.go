package klaxon

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an error so that every edge (HTTP, CLI, logs) can
// answer it the same way without knowing where it came from.
type ErrorCode string

// The error codes. Adapters map them to their own vocabulary: the API maps
// EINVALID to 400, ENOTFOUND to 404, and so on.
const (
	EINVALID      ErrorCode = "invalid"
	ENOTFOUND     ErrorCode = "not_found"
	ECONFLICT     ErrorCode = "conflict"
	EUNAUTHORIZED ErrorCode = "unauthorized"
	EFORBIDDEN    ErrorCode = "forbidden"
	ETOOLARGE     ErrorCode = "too_large"
	ERATELIMIT    ErrorCode = "rate_limited"
	EOVERLOAD     ErrorCode = "overloaded"
	EUNAVAILABLE  ErrorCode = "unavailable" // a dependency (the database) failed; retry
	EINTERNAL     ErrorCode = "internal"
)

// Error is an error a user can act on: a code, a message written for people,
// and, for validation errors, the field that is wrong.
type Error struct {
	Code    ErrorCode
	Message string
	Field   string
}

// Error renders the error for logs and the CLI: "field: message".
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf builds an *Error with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an EINVALID error that names the offending field, so a
// sender sees exactly what to fix.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// EINTERNAL for anything else: unknown failures are never shown as the
// caller's fault.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// AsError returns the first *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ErrResponseSpent is returned when a single-use response (a link, an SMS
// reply by its message id, a key press on a call) has acted already.
var ErrResponseSpent = &Error{Code: ECONFLICT, Message: "this link has already been used"}

// ErrLeaseLost is returned when a node completes work whose lease it no
// longer holds: the lease ran out and another node took the work over, and
// that node's result is the one that counts.
var ErrLeaseLost = errors.New("lease lost: another node took the work over")
