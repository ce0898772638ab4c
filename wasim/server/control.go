package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxControlBody bounds control API request bodies.
const maxControlBody = 1 << 20

// Control API wire types. They are the JSON bodies of DESIGN.md's table; fields
// beyond it are extensions.
type (
	createPhoneRequest struct {
		Phone string `json:"phone"`
		Name  string `json:"name"`
	}
	scanRequest struct {
		QR string `json:"qr"`
	}
	linkCodeRequest struct {
		Code string `json:"code"`
	}
	sendRequest struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}
	sendResponse struct {
		ID string `json:"id"`
	}
	receiptRequest struct {
		MessageID string `json:"messageId"`
		Type      string `json:"type"`
	}
	errorBody struct {
		Error errorDetail `json:"error"`
	}
	errorDetail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	violationJSON struct {
		At     time.Time `json:"at"`
		Device string    `json:"device"`
		Reason string    `json:"reason"`
		XML    string    `json:"xml,omitempty"`
	}
)

// methods dispatches by HTTP method and answers 405 in JSON otherwise.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	allowed := make([]string, 0, len(m))
	for k := range m {
		allowed = append(allowed, k)
	}
	slices.Sort(allowed)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
}

func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/_sim/health", methods{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}})
	mux.Handle("/_sim/cert", methods{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		key := s.RootKey()
		writeJSON(w, http.StatusOK, map[string]string{"publicKey": base64.StdEncoding.EncodeToString(key[:])})
	}})
	mux.Handle("/_sim/phones", methods{
		http.MethodPost: s.handleCreatePhone,
		http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"phones": nonNil(s.Phones())})
		},
	})
	mux.Handle("/_sim/phones/{phone}/scan", methods{http.MethodPost: s.handleScan})
	mux.Handle("/_sim/phones/{phone}/link-code", methods{http.MethodPost: s.handleLinkCode})
	mux.Handle("/_sim/phones/{phone}/messages", methods{
		http.MethodPost: s.handleSend,
		http.MethodGet:  s.handleInbox,
	})
	mux.Handle("/_sim/phones/{phone}/sent", methods{http.MethodGet: s.handleSent})
	mux.Handle("/_sim/phones/{phone}/receipts", methods{http.MethodPost: s.handleReceipt})
	mux.Handle("/_sim/devices", methods{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"devices": s.Devices()})
	}})
	mux.Handle("/_sim/devices/{jid}/faults", methods{http.MethodPost: s.handleFault})
	mux.Handle("/_sim/violations", methods{http.MethodGet: s.handleViolations})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no control endpoint at "+r.URL.Path)
	})
	return mux
}

func (s *Server) handleCreatePhone(w http.ResponseWriter, r *http.Request) {
	var req createPhoneRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	info, created, err := s.CreatePhone(r.Context(), req.Phone, req.Name)
	if err != nil {
		writeErr(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, info)
}

func (s *Server) handleScan(w http.ResponseWriter, r *http.Request) {
	var req scanRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	info, err := s.Scan(r.Context(), r.PathValue("phone"), req.QR)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleLinkCode(w http.ResponseWriter, r *http.Request) {
	var req linkCodeRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	info, err := s.LinkCode(r.Context(), r.PathValue("phone"), req.Code)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	id, err := s.SendMessage(r.Context(), r.PathValue("phone"), req.To, req.Text)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sendResponse{ID: id})
}

func (s *Server) handleInbox(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.Messages(r.PathValue("phone"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": nonNil(msgs)})
}

func (s *Server) handleSent(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.Sent(r.PathValue("phone"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": nonNil(msgs)})
}

func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	var req receiptRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := s.PhoneReceipt(r.Context(), r.PathValue("phone"), req.MessageID, req.Type); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) handleFault(w http.ResponseWriter, r *http.Request) {
	var req Fault
	if !decodeJSON(w, r, &req) {
		return
	}
	jid := r.PathValue("jid")
	if err := s.InjectFault(r.Context(), jid, req); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jid": jid, "kind": req.Kind})
}

func (s *Server) handleViolations(w http.ResponseWriter, r *http.Request) {
	vs := s.Violations()
	out := make([]violationJSON, len(vs))
	for i, v := range vs {
		out[i] = violationJSON{At: v.At, Device: v.Device, Reason: v.Reason, XML: v.XML}
	}
	writeJSON(w, http.StatusOK, map[string]any{"strict": s.Strict(), "violations": out})
}

// decodeJSON reads exactly one JSON object with no unknown fields into v. On failure
// it answers 400 and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "request body is not valid JSON: " + err.Error()
		if errors.Is(err, io.EOF) {
			msg = "request body is empty"
		}
		writeError(w, http.StatusBadRequest, "invalid", msg)
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "invalid", "request body has data after the JSON object")
		return false
	}
	return true
}

// writeErr maps a server error to its status and code.
func writeErr(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, "internal"
	switch {
	case errors.Is(err, ErrInvalid):
		status, code = http.StatusBadRequest, "invalid"
	case errors.Is(err, ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		status, code = http.StatusGatewayTimeout, "timeout"
	case errors.Is(err, ErrClosed), errors.Is(err, context.Canceled):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	writeError(w, status, code, err.Error())
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(fmt.Sprintf(`{"error":{"code":"internal","message":%q}}`, err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// nonNil turns a nil slice into an empty one so it encodes as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
