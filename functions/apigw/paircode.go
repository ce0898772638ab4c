package apigw

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/wagate/wagate/core"
)

// pairCodeRequest is the body of POST /v1/sessions/{id}/pair-code.
type pairCodeRequest struct {
	Phone string `json:"phone"`
}

// pending is the 202 answer while a result is not there yet.
type pending struct {
	CommandID string `json:"commandId"`
	Status    string `json:"status"`
	Poll      string `json:"poll"`
}

// requestPairCode asks the connector for a pairing code for phone and waits up to
// ResultWait for it; after that it answers 202 with a location to poll.
func (s *Server) requestPairCode(w http.ResponseWriter, r *http.Request) error {
	if _, err := sessionKey(r); err != nil {
		return err
	}
	var req pairCodeRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	phone, err := core.NormalizePhone(req.Phone)
	if err != nil {
		return err
	}
	sess, err := s.loadSession(r)
	if err != nil {
		return err
	}
	if sess.Status == core.StatusConnected {
		return core.Errorf(core.CodeWrongState, "the session is already linked; log out first to link another phone")
	}
	ctx := r.Context()
	if err := s.requireConnector(ctx); err != nil {
		return err
	}
	cmd, err := s.sendCommand(ctx, core.CmdPairCode, sess.Key(), core.PairCodePayload{Phone: phone})
	if err != nil {
		return err
	}
	res, err := s.waitResult(ctx, sess.Tenant, cmd.ID, s.Options.ResultWait)
	if core.IsCode(err, core.CodeNotFound) {
		poll := "/v1/sessions/" + sess.ID + "/pair-code/" + cmd.ID
		w.Header().Set("Location", poll)
		s.writeJSON(w, r, http.StatusAccepted, pending{CommandID: cmd.ID, Status: "pending", Poll: poll})
		return nil
	}
	if err != nil {
		return err
	}
	return s.writePairCode(w, r, res)
}

// getPairCode answers the result of an earlier pair-code request: 200 with the
// code, 202 while pending, or the connector's error.
func (s *Server) getPairCode(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.loadSession(r)
	if err != nil {
		return err
	}
	id := r.PathValue("commandId")
	if !validCommandID(id) {
		return core.Errorf(core.CodeInvalid, "commandId must be the 32 hex digits from the pair-code answer")
	}
	res, err := s.State.GetResult(r.Context(), sess.Tenant, id)
	if core.IsCode(err, core.CodeNotFound) {
		poll := "/v1/sessions/" + sess.ID + "/pair-code/" + id
		s.writeJSON(w, r, http.StatusAccepted, pending{CommandID: id, Status: "pending", Poll: poll})
		return nil
	}
	if err != nil {
		return err
	}
	if res.SessionID != sess.ID || res.Type != core.CmdPairCode {
		return core.Errorf(core.CodeNotFound, "no pair-code request %s for session %q", id, sess.ID)
	}
	return s.writePairCode(w, r, res)
}

func (s *Server) writePairCode(w http.ResponseWriter, r *http.Request, res core.CommandResult) error {
	if err := resultError(res); err != nil {
		return err
	}
	var code core.PairCodeResult
	if err := json.Unmarshal(res.Data, &code); err != nil || code.Code == "" {
		return core.Errorf(core.CodeInternal, "pair-code result %s has no code", res.CommandID)
	}
	s.writeJSON(w, r, http.StatusOK, code)
	return nil
}

// resultError turns the error of a connector's result into an API error. Codes of
// the API pass through with the connector's message; any other code is logged and
// answered as internal.
func resultError(res core.CommandResult) error {
	if res.Error == nil {
		return nil
	}
	if knownCode(res.Error.Code) {
		return core.Errorf(core.Code(res.Error.Code), "%s", res.Error.Message)
	}
	return core.Errorf(core.CodeInternal, "connector result %s failed with code %q: %s", res.CommandID, res.Error.Code, res.Error.Message)
}

// waitResult polls the result store for a command's result for up to wait, starting
// with short intervals. It returns CodeNotFound when the wait ends without a result.
func (s *Server) waitResult(ctx context.Context, tenant, commandID string, wait time.Duration) (core.CommandResult, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	interval := 10 * time.Millisecond
	for {
		res, err := s.State.GetResult(ctx, tenant, commandID)
		if !core.IsCode(err, core.CodeNotFound) {
			return res, err
		}
		tick := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			tick.Stop()
			return core.CommandResult{}, core.WrapError(core.CodeNotFound, ctx.Err(), "request ended while waiting")
		case <-deadline.C:
			tick.Stop()
			return core.CommandResult{}, core.Errorf(core.CodeNotFound, "no result yet")
		case <-tick.C:
		}
		interval = min(interval*2, 250*time.Millisecond)
	}
}

// validCommandID reports whether id looks like a core.NewID value.
func validCommandID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
