package apigw

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/wagate/wagate/core"
)

// statusOf is the one table from error codes to HTTP statuses, and the code the
// caller sees. core.CodeConflict comes from a conditional store write that lost to a
// concurrent change; the contract has no "conflict" code, so callers see
// 409 wrong_state and retry. Any code not listed is an internal error.
func statusOf(code core.Code) (int, core.Code) {
	switch code {
	case core.CodeInvalid:
		return http.StatusBadRequest, code
	case core.CodeUnauthorized:
		return http.StatusUnauthorized, code
	case core.CodeNotFound:
		return http.StatusNotFound, code
	case core.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed, code
	case core.CodeWrongState:
		return http.StatusConflict, code
	case core.CodeConflict:
		return http.StatusConflict, core.CodeWrongState
	case core.CodeTooLarge:
		return http.StatusRequestEntityTooLarge, code
	case core.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType, code
	case core.CodeIdempotencyMismatch:
		return http.StatusUnprocessableEntity, code
	case core.CodeRateLimited:
		return http.StatusTooManyRequests, code
	case core.CodeConnectorUnavailable:
		return http.StatusServiceUnavailable, code
	}
	return http.StatusInternalServerError, core.CodeInternal
}

// knownCode reports whether code is one of the API's error codes, for codes that
// arrive as strings (a connector's result).
func knownCode(code string) bool {
	c := core.Code(code)
	if c == core.CodeInternal {
		return true
	}
	_, mapped := statusOf(c)
	return mapped != core.CodeInternal
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    core.Code `json:"code"`
	Message string    `json:"message"`
}

// writeError answers err with its status and code. Internal errors are logged once
// here with the request id and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(core.ErrorCode(err))
	msg := core.ErrorMessage(err)
	if code == core.CodeInternal {
		s.log(r.Context()).Error("internal_error", "event", "internal_error", "outcome", "fail", "method", r.Method, "path", r.URL.Path, "error", err.Error())
		msg = core.ErrorMessage(errors.New("internal"))
	} else if code == core.CodeWrongState && core.IsCode(err, core.CodeConflict) {
		msg = "the session changed while the request ran; retry"
	}
	var ra *core.RetryAfterError
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(max(ra.Seconds, 1)))
	} else if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wagate"`)
	}
	writeErrorBody(w, status, code, msg)
}

func writeErrorBody(w http.ResponseWriter, status int, code core.Code, msg string) {
	data, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: msg}}) // plain strings always marshal
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// writeJSON answers v as JSON with status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, core.WrapError(core.CodeInternal, err, "encode response"))
		return
	}
	writeRaw(w, status, data)
}

// writeRaw answers an already encoded JSON body.
func writeRaw(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
