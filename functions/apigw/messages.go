package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/wagate/wagate/core"
)

// sendRequest is the body of POST /v1/sessions/{id}/messages.
type sendRequest struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

// maxCursorLen bounds the opaque paging cursor.
const maxCursorLen = 1024

// sendMessage accepts a text message for sending: it decides the WhatsApp message id
// now, stores the message as queued and enqueues message.send, answering 202.
//
// With an Idempotency-Key, the response is stored before the message and command, so
// a repeated or concurrent request gets the first response (the same message id).
// The session, connector and send-queue checks run before the key is claimed: a
// request they reject claims nothing, and a retry after them replays the first answer.
// If storing or enqueueing fails, the key is released and the error answered; a
// stored message whose command could not be enqueued is marked failed.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	key, err := sessionKey(r)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req sendRequest
	if err := core.DecodeJSON(bytes.NewReader(body), &req); err != nil {
		return err
	}
	to, err := core.NormalizeRecipient(req.To)
	if err != nil {
		return err
	}
	if err := core.ValidateText(req.Text); err != nil {
		return err
	}
	header, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	sess, err := s.loadSession(r)
	if err != nil {
		return err
	}
	switch sess.Status {
	case core.StatusConnected, core.StatusConnecting, core.StatusReconnecting:
	default:
		return core.Errorf(core.CodeWrongState, "the session is %s; messages can be sent while it is connected, connecting or reconnecting", sess.Status)
	}
	ctx := r.Context()
	if err := s.requireConnector(ctx); err != nil {
		return err
	}
	if s.SendGate != nil {
		if err := s.SendGate.AdmitSend(ctx, key); err != nil {
			return err
		}
	}

	now := s.Now().UTC()
	msg := core.Message{
		ID: core.NewMessageID(), Tenant: key.Tenant, SessionID: key.ID, Direction: core.DirectionOut,
		Chat: to, From: sess.JID, To: to, Text: req.Text, Status: core.MessageQueued,
		CreatedAt: now, UpdatedAt: now,
	}
	resp, err := json.Marshal(msg)
	if err != nil {
		return core.WrapError(core.CodeInternal, err, "encode message")
	}
	var idem *idempotentRequest
	if header != "" {
		ir := newIdempotentRequest(r, key, header, body)
		prev, err := s.claim(ctx, ir, http.StatusAccepted, resp)
		if err != nil {
			return err
		}
		if prev != nil {
			var first core.Message
			if json.Unmarshal(prev.Body, &first) == nil && first.ID != "" {
				w.Header().Set("Location", messagePath(key, first.ID))
			}
			s.log(ctx).Info("idempotent_replay", "event", "idempotent_replay", "message_id", first.ID)
			replay(w, prev)
			return nil
		}
		idem = &ir
	}
	if err := s.enqueueMessage(ctx, msg); err != nil {
		if idem != nil {
			s.release(ctx, *idem)
		}
		return err
	}
	w.Header().Set("Location", messagePath(key, msg.ID))
	writeRaw(w, http.StatusAccepted, resp)
	return nil
}

// enqueueMessage stores msg and sends its message.send command. If the command
// cannot be enqueued, the stored message is marked failed, so no queued message is
// left that nobody will send.
func (s *Server) enqueueMessage(ctx context.Context, msg core.Message) error {
	if err := s.State.PutMessage(ctx, msg); err != nil {
		return err
	}
	payload := core.SendPayload{MessageID: msg.ID, To: msg.To, Text: msg.Text}
	if _, err := s.sendCommand(ctx, core.CmdSendMessage, msg.Key(), payload); err != nil {
		_, uerr := s.State.UpdateMessage(context.WithoutCancel(ctx), msg.Key(), msg.ID, func(m *core.Message) error {
			m.Status = core.MessageFailed
			m.Error = "could not queue the message for sending: " + core.ErrorMessage(err)
			m.UpdatedAt = s.Now().UTC()
			return nil
		})
		if uerr != nil {
			s.log(ctx).Error("message_mark_failed", "event", "message_mark_failed", "outcome", "fail", "message_id", msg.ID, "error", uerr.Error())
		}
		return err
	}
	s.log(ctx).Info("message_accepted", "event", "message_accepted", "outcome", "ok", "message_id", msg.ID)
	return nil
}

func messagePath(key core.SessionKey, id string) string {
	return "/v1/sessions/" + key.ID + "/messages/" + id
}

// listMessages answers a page of the session's messages, newest first.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	if _, err := sessionKey(r); err != nil {
		return err
	}
	q, err := messageQuery(r)
	if err != nil {
		return err
	}
	sess, err := s.loadSession(r)
	if err != nil {
		return err
	}
	page, err := s.State.ListMessages(r.Context(), sess.Key(), q)
	if err != nil {
		return err
	}
	if page.Messages == nil {
		page.Messages = []core.Message{}
	}
	s.writeJSON(w, r, http.StatusOK, page)
	return nil
}

// messageQuery parses ?direction=in|out&limit=1..200&cursor=.
func messageQuery(r *http.Request) (core.MessageQuery, error) {
	v := r.URL.Query()
	var q core.MessageQuery
	switch d := v.Get("direction"); d {
	case "", string(core.DirectionIn), string(core.DirectionOut):
		q.Direction = core.Direction(d)
	default:
		return q, core.Errorf(core.CodeInvalid, "direction must be in or out")
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > core.MaxPageSize {
			return q, core.Errorf(core.CodeInvalid, "limit must be a number from 1 to %d", core.MaxPageSize)
		}
		q.Limit = n
	}
	q.Cursor = v.Get("cursor")
	if len(q.Cursor) > maxCursorLen {
		return q, core.Errorf(core.CodeInvalid, "cursor is malformed; use nextCursor from the previous page")
	}
	return q, nil
}

// getMessage answers one message of the session.
func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	if _, err := sessionKey(r); err != nil {
		return err
	}
	id := r.PathValue("messageId")
	if !validMessageID(id) {
		return core.Errorf(core.CodeInvalid, "messageId must be 1 to 128 letters, digits, '.', '_', ':' or '-'")
	}
	sess, err := s.loadSession(r)
	if err != nil {
		return err
	}
	msg, err := s.State.GetMessage(r.Context(), sess.Key(), id)
	if err != nil {
		return notFoundAs(err, "no message %s in session %q", id, sess.ID)
	}
	s.writeJSON(w, r, http.StatusOK, msg)
	return nil
}

// validMessageID accepts the character set of WhatsApp message ids.
func validMessageID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
