package server

import (
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// handleNode routes one node from a client.
func (s *Server) handleNode(c *conn, n *waBinary.Node) {
	switch n.Tag {
	case "iq":
		s.handleIQ(c, n)
	case "ack":
		s.handleClientAck(c, n)
	case "message", "receipt":
		if !c.loggedIn() {
			s.violation(c.who(), n.Tag+" before login", n)
			return
		}
		if n.Tag == "message" {
			s.handleClientMessage(c, n)
		} else {
			s.handleClientReceipt(c, n)
		}
	case "presence", "chatstate":
		// Presence and typing state are accepted and not relayed.
		if !c.loggedIn() {
			s.violation(c.who(), n.Tag+" before login", n)
		}
	default:
		s.violation(c.who(), "unknown node <"+n.Tag+">", n)
	}
}

// handleIQ routes an iq by type and namespace. Every get or set gets an answer, an
// error 501 when the server does not implement it, so clients never wait 75 s.
func (s *Server) handleIQ(c *conn, n *waBinary.Node) {
	typ := attrString(n.Attrs["type"])
	switch typ {
	case "result", "error":
		if !c.answerWaiter(n) {
			s.violation(c.who(), "iq "+typ+" that answers no request", n)
		}
		return
	case "get", "set":
	default:
		s.violation(c.who(), "iq with unknown type "+strconv.Quote(typ), n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	if attrString(n.Attrs["id"]) == "" {
		s.violation(c.who(), "iq without id", n)
		return
	}
	xmlns := attrString(n.Attrs["xmlns"])
	if xmlns == "w:p" && typ == "get" {
		if d := c.dev.Load(); d != nil {
			d.keepalives.Add(1)
		}
		c.send(iqResult(n))
		return
	}
	if xmlns == "md" && typ == "set" {
		s.handleMDIQ(c, n)
		return
	}
	if !c.loggedIn() {
		s.violation(c.who(), "iq "+xmlns+" before login", n)
		c.send(iqError(n, 401, "not-authorized"))
		return
	}
	switch {
	case xmlns == "encrypt":
		s.handleEncryptIQ(c, n, typ)
	case xmlns == "usync" && typ == "get":
		s.handleUsync(c, n)
	case xmlns == "passive" && typ == "set":
		s.handlePassive(c, n)
	case xmlns == "privacy" && typ == "get":
		s.handlePrivacyGet(c, n)
	case xmlns == "w:sync:app:state" && typ == "set":
		s.handleAppStateSync(c, n)
	default:
		s.unknownIQ(c, n)
	}
}

// unknownIQ records the iq and answers 501 so the client does not stall.
func (s *Server) unknownIQ(c *conn, n *waBinary.Node) {
	s.violation(c.who(), "unhandled iq", n)
	c.send(iqError(n, 501, "feature-not-implemented"))
}

func (s *Server) handlePassive(c *conn, n *waBinary.Node) {
	children := n.GetChildren()
	if len(children) != 1 || (children[0].Tag != "active" && children[0].Tag != "passive") {
		s.violation(c.who(), "passive iq without <active/> or <passive/>", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	c.send(iqResult(n))
}

func (s *Server) handlePrivacyGet(c *conn, n *waBinary.Node) {
	if _, ok := n.GetOptionalChildByTag("privacy"); !ok {
		s.unknownIQ(c, n)
		return
	}
	c.send(iqResult(n, waBinary.Node{Tag: "privacy"}))
}

// handleAppStateSync answers every requested collection with no patches and no
// snapshot: the simulated account has no app state.
func (s *Server) handleAppStateSync(c *conn, n *waBinary.Node) {
	sync, ok := n.GetOptionalChildByTag("sync")
	if !ok {
		s.unknownIQ(c, n)
		return
	}
	var out []waBinary.Node
	for _, col := range sync.GetChildren() {
		if col.Tag != "collection" {
			s.violation(c.who(), "app state sync with unknown child <"+col.Tag+">", n)
			continue
		}
		attrs := waBinary.Attrs{"name": col.Attrs["name"]}
		if v, ok := col.Attrs["version"]; ok {
			attrs["version"] = v
		}
		out = append(out, waBinary.Node{Tag: "collection", Attrs: attrs})
	}
	c.send(iqResult(n, waBinary.Node{Tag: "sync", Content: out}))
}

// handleClientAck clears the acknowledged stanza from the device's queue. An ack with
// a non-zero error means the client rejected a stanza the simulator built.
func (s *Server) handleClientAck(c *conn, n *waBinary.Node) {
	if e := attrString(n.Attrs["error"]); e != "" && e != "0" {
		s.violation(c.who(), "client rejected a stanza with error "+e, n)
	}
	if d := c.dev.Load(); d != nil {
		class := attrString(n.Attrs["class"])
		var typ any
		if class == "receipt" {
			typ = n.Attrs["type"]
		}
		d.acknowledge(class, n.Attrs["id"], n.Attrs["to"], typ)
	}
}

func iqResult(req *waBinary.Node, content ...waBinary.Node) waBinary.Node {
	n := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
		"id":   req.Attrs["id"],
		"type": "result",
		"from": types.ServerJID,
	}}
	if len(content) > 0 {
		n.Content = content
	}
	return n
}

func iqError(req *waBinary.Node, code int, text string) waBinary.Node {
	return waBinary.Node{
		Tag: "iq",
		Attrs: waBinary.Attrs{
			"id":   req.Attrs["id"],
			"type": "error",
			"from": types.ServerJID,
		},
		Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{
			"code": strconv.Itoa(code),
			"text": text,
		}}},
	}
}

// nodeBytes returns a child's binary content, or nil.
func nodeBytes(n waBinary.Node, tag string) []byte {
	child, ok := n.GetOptionalChildByTag(tag)
	if !ok {
		return nil
	}
	b, _ := child.Content.([]byte)
	return b
}

// attrJID returns a JID attribute, reporting false when it is missing or not a JID.
func attrJID(n waBinary.Node, key string) (types.JID, bool) {
	jid, ok := n.Attrs[key].(types.JID)
	return jid, ok
}
