package server

import (
	"fmt"
	"strconv"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/phone"
)

// target is one device a client message is encrypted for.
type target struct {
	jid types.JID
	enc waBinary.Node
}

// handleClientMessage takes a message a client sent: each participant copy goes to
// its device (queued while the device is offline) or, for device 0, to the fake
// phone, which decrypts it on its own goroutine. The sender gets an ack with the
// server timestamp without waiting for those decryptions.
func (s *Server) handleClientMessage(c *conn, n *waBinary.Node) {
	d := c.dev.Load()
	id := attrString(n.Attrs["id"])
	to, ok := attrJID(*n, "to")
	if id == "" || !ok {
		s.violation(c.who(), "message without id or to", n)
		return
	}
	now := s.now()
	var targets []target
	if parts, ok := n.GetOptionalChildByTag("participants"); ok {
		for _, p := range parts.GetChildren() {
			jid, okJID := attrJID(p, "jid")
			enc, okEnc := p.GetOptionalChildByTag("enc")
			if p.Tag != "to" || !okJID || !okEnc {
				s.violation(c.who(), "message participant without jid or enc", n)
				continue
			}
			targets = append(targets, target{jid: jid, enc: enc})
		}
	} else if enc, ok := n.GetOptionalChildByTag("enc"); ok {
		// A resend after a retry receipt: one enc for the device named by to.
		targets = append(targets, target{jid: to, enc: enc})
	} else {
		s.violation(c.who(), "message without participants or enc", n)
	}
	devIdent, hasDevIdent := n.GetOptionalChildByTag("device-identity")
	for _, t := range targets {
		if v := attrString(t.enc.Attrs["v"]); v != "2" {
			s.violation(c.who(), "enc with version "+strconv.Quote(v)+", want 2", n)
		}
		ta := s.accountFor(t.jid)
		if ta == nil {
			s.log.Warn("message_for_unknown_account", "device", c.who(), "to", t.jid.String())
			continue
		}
		notePeers(d.acct, ta)
		if t.jid.Device == 0 {
			s.phoneReceive(c, ta, d, id, t.enc, now)
			continue
		}
		td := ta.companion(t.jid.Device)
		if td == nil || td == d {
			s.log.Warn("message_for_unknown_device", "device", c.who(), "to", t.jid.String())
			continue
		}
		attrs := waBinary.Attrs{
			"from":       d.jid,
			"sender_lid": d.lid,
			"id":         id,
			"t":          strconv.FormatInt(now.Unix(), 10),
			"notify":     d.acct.name(),
		}
		if t.jid.Server == types.HiddenUserServer {
			attrs["from"] = d.lid
			delete(attrs, "sender_lid")
		}
		if typ := attrString(n.Attrs["type"]); typ != "" {
			attrs["type"] = typ
		}
		if ta == d.acct {
			attrs["recipient"] = to.ToNonAD()
		}
		content := []waBinary.Node{t.enc}
		if hasDevIdent {
			content = append(content, devIdent)
		}
		td.deliver(waBinary.Node{Tag: "message", Attrs: attrs, Content: content})
	}
	c.send(waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{
		"class": "message",
		"id":    id,
		"from":  to,
		"t":     strconv.FormatInt(now.Unix(), 10),
	}})
}

// phoneReceive hands the copy of a message addressed to a fake phone to the phone,
// which decrypts it after the sender's ack is queued (see phoneDecrypt).
func (s *Server) phoneReceive(c *conn, a *account, sender *device, id string, enc waBinary.Node, at time.Time) {
	s.queuePhoneRx(a, phoneRx{who: c.who(), sender: sender, id: id, enc: enc, at: at})
}

// phoneDecrypt is a fake phone decrypting the copy of a message addressed to it. A
// text from another account goes to the phone's inbox; the sender's own copies
// (DeviceSentMessage) and non-text messages are decrypted and dropped.
func (s *Server) phoneDecrypt(a *account, rx phoneRx) {
	sender, id, enc := rx.sender, rx.id, rx.enc
	ct, _ := enc.Content.([]byte)
	msg, err := a.phone.Decrypt(phone.AddressOf(sender.jid), attrString(enc.Attrs["type"]), ct)
	if err != nil {
		s.violation(rx.who, fmt.Sprintf("phone %s cannot decrypt message %s (%s): %v",
			redact(a.number), id, attrString(enc.Attrs["type"]), err), nil)
		return
	}
	if msg.GetDeviceSentMessage() != nil || a == sender.acct {
		return
	}
	text := msg.GetConversation()
	if msg.Conversation == nil {
		if msg.GetExtendedTextMessage() == nil {
			s.log.Debug("phone_received_non_text", "phone", redact(a.number), "id", id)
			return
		}
		text = msg.GetExtendedTextMessage().GetText()
	}
	a.addInbox(InboxMessage{
		ID: id, From: sender.acct.number, FromJID: sender.jid.String(), Text: text, At: rx.at,
		Enc: attrString(enc.Attrs["type"]),
	})
}
