package core

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code returned by the API as error.code.
// The HTTP layer maps each code to one status in a single table.
type Code string

// The error codes of the API contract.
const (
	CodeInvalid              Code = "invalid_request"        // malformed or invalid input
	CodeUnauthorized         Code = "unauthorized"           // missing or rejected credentials
	CodeNotFound             Code = "not_found"              // no such session/message for this tenant
	CodeMethodNotAllowed     Code = "method_not_allowed"     // wrong HTTP method for the path
	CodeWrongState           Code = "wrong_state"            // the session's status does not allow this
	CodeTooLarge             Code = "too_large"              // body or text over the limit
	CodeUnsupportedMedia     Code = "unsupported_media_type" // body is not JSON
	CodeIdempotencyMismatch  Code = "idempotency_mismatch"   // same Idempotency-Key, different body
	CodeRateLimited          Code = "rate_limited"           // the session's send queue is full
	CodeConnectorUnavailable Code = "connector_unavailable"  // no connector holds a heartbeat
	CodeConflict             Code = "conflict"               // a conditional write lost (internal retry signal)
	CodeInternal             Code = "internal"               // anything else; details are logged, not returned
)

// Error is a domain error with a code and a message that is safe to show to callers.
// Err, when set, is the underlying cause: it is logged, never returned to callers.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error formats the code, message and cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted, caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with code and message whose cause is err.
func WrapError(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err: the message of its *Error, or a
// generic text for anything else (internal details never leak).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	if err == nil {
		return ""
	}
	return "internal error; see the server logs"
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }

// RetryAfterError is returned with CodeRateLimited: Seconds says when to retry.
// Build it with NewRetryAfter.
type RetryAfterError struct {
	Err     *Error
	Seconds int
}

// NewRetryAfter returns a CodeRateLimited error telling the caller to retry after
// seconds, with a formatted, caller-safe message.
func NewRetryAfter(seconds int, format string, args ...any) *RetryAfterError {
	return &RetryAfterError{Err: Errorf(CodeRateLimited, format, args...), Seconds: seconds}
}

// Error formats the wrapped *Error.
func (e *RetryAfterError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped *Error so errors.As finds the code.
func (e *RetryAfterError) Unwrap() error { return e.Err }
