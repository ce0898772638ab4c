package session

import (
	"errors"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// handleWAEvent is the one whatsmeow event handler of a client. It runs on
// whatsmeow's goroutine and, with SynchronousAck, before WhatsApp is acked: messages
// and receipts are stored here, and returning false leaves them unacked so WhatsApp
// delivers them again. Connection events go to the supervisor's loop.
func (s *Supervisor) handleWAEvent(cli *whatsmeow.Client, gen uint64, evt any) bool {
	switch e := evt.(type) {
	case *events.Message:
		return s.handleMessage(cli, e)
	case *events.Receipt:
		return s.handleReceipt(e)
	case *events.Connected, *events.Disconnected, *events.PairSuccess, *events.PairError,
		*events.LoggedOut, *events.StreamReplaced, *events.StreamError, *events.ClientOutdated,
		*events.TemporaryBan, *events.ConnectFailure, *events.KeepAliveTimeout:
		s.post(waEvent{gen: gen, evt: evt})
	case *events.KeepAliveRestored:
		s.log.Info("session_keepalive_restored", "event", "session_keepalive_restored", "outcome", "ok")
	case *events.QRScannedWithoutMultidevice:
		s.log.Warn("session_qr_scanned_without_multidevice", "event", "session_qr_scanned_without_multidevice")
	}
	return true
}

// handleMessage stores an incoming text message (status delivered) and publishes
// message.in. Other kinds of message are ignored; a message seen before is acked
// again without a second event.
func (s *Supervisor) handleMessage(cli *whatsmeow.Client, e *events.Message) bool {
	log := s.log.With("message_id", e.Info.ID)
	if e.Info.IsFromMe {
		log.Debug("message_from_own_device_ignored", "event", "message_from_own_device_ignored")
		return true
	}
	text := e.Message.GetConversation()
	if text == "" {
		text = e.Message.GetExtendedTextMessage().GetText()
	}
	if text == "" {
		log.Debug("message_ignored", "event", "message_ignored", "type", e.Info.Type, "media", e.Info.MediaType)
		return true
	}
	now := s.now().UTC()
	at := e.Info.Timestamp.UTC()
	if at.IsZero() {
		at = now
	}
	m := core.Message{
		ID: e.Info.ID, Tenant: s.key.Tenant, SessionID: s.key.ID, Direction: core.DirectionIn,
		Chat: wa.MakeUserJID(e.Info.Chat), From: wa.MakeUserJID(senderJID(e.Info.MessageSource)),
		To: wa.MakeUserJID(cli.Store.GetJID()), Text: text, Status: core.MessageDelivered,
		CreatedAt: at, UpdatedAt: now,
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	err := s.deps.Messages.PutMessage(ctx, m)
	switch {
	case core.IsCode(err, core.CodeConflict):
		log.Debug("message_duplicate", "event", "message_duplicate")
		return true
	case err != nil:
		log.Error("message_store_failed", "event", "message_store_failed", "outcome", "fail", "error", err)
		return false
	}
	s.deps.Metrics.Count(metrics.MessagesReceived, 1)
	log.Info("message_received", "event", "message_received", "outcome", "ok", "from", wa.MaskJID(m.From))
	s.publish(ctx, core.EventMessageIn, m)
	return true
}

// senderJID prefers the phone-number JID of a sender addressed by LID.
func senderJID(src types.MessageSource) types.JID {
	if src.Sender.Server == types.HiddenUserServer && src.SenderAlt.Server == types.DefaultUserServer {
		return src.SenderAlt
	}
	return src.Sender
}

// errNoChange aborts a message update that would not move its status forward.
var errNoChange = errors.New("status does not advance")

// handleReceipt moves outgoing messages to delivered or read (never backwards) and
// publishes message.status for each one that changed.
func (s *Supervisor) handleReceipt(e *events.Receipt) bool {
	var next core.MessageStatus
	switch e.Type {
	case types.ReceiptTypeDelivered:
		next = core.MessageDelivered
	case types.ReceiptTypeRead, types.ReceiptTypePlayed:
		next = core.MessageRead
	default:
		return true
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	for _, id := range e.MessageIDs {
		now := s.now().UTC()
		m, err := s.deps.Messages.UpdateMessage(ctx, s.key, id, func(m *core.Message) error {
			if m.Direction != core.DirectionOut || !m.Status.Advances(next) {
				return errNoChange
			}
			m.Status, m.UpdatedAt = next, now
			return nil
		})
		switch {
		case errors.Is(err, errNoChange), core.IsCode(err, core.CodeNotFound):
			continue
		case err != nil:
			s.log.Error("receipt_store_failed", "event", "receipt_store_failed", "outcome", "fail", "message_id", id, "error", err)
			return false
		}
		s.log.Info("message_status", "event", "message_status", "outcome", "ok", "message_id", id, "status", next, "lag", time.Since(e.Timestamp).Round(time.Millisecond).String())
		s.publish(ctx, core.EventMessageStatus, m)
	}
	return true
}
