package server

import (
	"fmt"
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// handleClientReceipt takes a receipt a client sent for a message it received. The
// message leaves the device's queue, the client gets an ack, and the receipt reaches
// the sender: recorded on a phone's sent message and forwarded to the sender's linked
// devices.
func (s *Server) handleClientReceipt(c *conn, n *waBinary.Node) {
	d := c.dev.Load()
	id := attrString(n.Attrs["id"])
	to, ok := attrJID(*n, "to")
	if id == "" || !ok {
		s.violation(c.who(), "receipt without id or to", n)
		return
	}
	typ := attrString(n.Attrs["type"])
	d.acknowledge("message", id, to, nil)
	ack := waBinary.Attrs{"class": "receipt", "id": id, "from": to}
	if typ != "" {
		ack["type"] = typ
	}
	c.send(waBinary.Node{Tag: "ack", Attrs: ack})

	switch typ {
	case "retry":
		s.handleRetryReceipt(c, d, n, id, to)
		return
	case "sender", "peer_msg", "hist_sync":
		// Bookkeeping between a user's own devices: nothing to forward.
		return
	}
	sa := s.accountFor(to)
	if sa == nil {
		s.log.Warn("receipt_for_unknown_account", "device", c.who(), "to", to.String())
		return
	}
	now := s.now()
	if to.Device == 0 {
		r := Receipt{From: d.jid.String(), Type: receiptType(typ), At: now}
		for _, mid := range receiptIDs(id, n) {
			sa.addSentReceipt(mid, r)
		}
	}
	from := d.jid
	if to.Server == types.HiddenUserServer {
		from = d.lid
	}
	attrs := waBinary.Attrs{"from": from, "id": id, "t": strconv.FormatInt(now.Unix(), 10)}
	if typ != "" && typ != "inactive" {
		attrs["type"] = typ
	}
	fwd := waBinary.Node{Tag: "receipt", Attrs: attrs}
	if list, ok := n.GetOptionalChildByTag("list"); ok {
		fwd.Content = []waBinary.Node{list}
	}
	for _, sd := range sa.companionList() {
		if sd != d {
			sd.deliver(fwd)
		}
	}
}

// receiptType names a receipt type for the sent-message record: a receipt without a
// type, or "inactive", means delivered.
func receiptType(typ string) string {
	if typ == "" || typ == "inactive" {
		return "delivered"
	}
	return typ
}

// receiptIDs lists the message ids a receipt covers: its id plus any <list><item/>.
func receiptIDs(id string, n *waBinary.Node) []string {
	ids := []string{id}
	if list, ok := n.GetOptionalChildByTag("list"); ok {
		for _, item := range list.GetChildren() {
			if item.Tag == "item" {
				if v := attrString(item.Attrs["id"]); v != "" {
					ids = append(ids, v)
				}
			}
		}
	}
	return ids
}

// handleRetryReceipt forwards a retry request to the device that sent the message. A
// retry for a fake phone's message means the phone produced something the client could
// not decrypt: a simulator fault, recorded as a violation.
func (s *Server) handleRetryReceipt(c *conn, d *device, n *waBinary.Node, id string, to types.JID) {
	if to.Device == 0 {
		s.violation(c.who(), fmt.Sprintf("client cannot decrypt message %s from phone %s", id, redact(to.User)), n)
		return
	}
	td := s.deviceFor(to)
	if td == nil {
		s.log.Warn("retry_for_unknown_device", "device", c.who(), "to", to.String())
		return
	}
	from := d.jid
	if to.Server == types.HiddenUserServer {
		from = d.lid
	}
	td.deliver(waBinary.Node{Tag: "receipt", Attrs: waBinary.Attrs{
		"from": from, "id": id, "type": "retry", "t": strconv.FormatInt(s.now().Unix(), 10),
	}, Content: n.Content})
}
