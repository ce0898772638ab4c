package server

import (
	"strconv"
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// usyncProtocols are the query children the server answers; each user in the
// response gets one child per requested protocol.
var usyncProtocols = map[string]bool{
	"devices": true, "contact": true, "lid": true, "status": true,
	"picture": true, "business": true, "disappearing_mode": true,
}

// handleUsync answers device-list and contact queries for the listed users. Unknown
// users get an empty device list and contact type "out".
func (s *Server) handleUsync(c *conn, n *waBinary.Node) {
	us, ok := n.GetOptionalChildByTag("usync")
	if !ok {
		s.unknownIQ(c, n)
		return
	}
	query, okQ := us.GetOptionalChildByTag("query")
	list, okL := us.GetOptionalChildByTag("list")
	if !okQ || !okL {
		s.violation(c.who(), "usync without query or list", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	var protocols []string
	for _, q := range query.GetChildren() {
		if !usyncProtocols[q.Tag] {
			s.violation(c.who(), "usync query protocol <"+q.Tag+"> is not simulated", n)
			continue
		}
		protocols = append(protocols, q.Tag)
	}
	var users []waBinary.Node
	for _, u := range list.GetChildren() {
		if u.Tag != "user" {
			s.violation(c.who(), "usync list with unknown child <"+u.Tag+">", n)
			continue
		}
		if out, ok := s.usyncUser(u, protocols); ok {
			users = append(users, out)
		} else {
			s.violation(c.who(), "usync user without a usable jid or contact", n)
		}
	}
	attrs := waBinary.Attrs{}
	for _, k := range []string{"sid", "mode", "last", "index", "context"} {
		if v, ok := us.Attrs[k]; ok {
			attrs[k] = v
		}
	}
	c.send(iqResult(n, waBinary.Node{Tag: "usync", Attrs: attrs, Content: []waBinary.Node{
		{Tag: "result", Content: resultNodes(protocols)},
		{Tag: "list", Content: users},
	}}))
}

func resultNodes(protocols []string) []waBinary.Node {
	out := make([]waBinary.Node, 0, len(protocols))
	for _, p := range protocols {
		out = append(out, waBinary.Node{Tag: p})
	}
	return out
}

// usyncUser builds one user of the response. A user is named by a jid attribute, or
// by a <contact> child holding a phone number (IsOnWhatsApp).
func (s *Server) usyncUser(u waBinary.Node, protocols []string) (waBinary.Node, bool) {
	jid, hasJID := attrJID(u, "jid")
	var contactQuery []byte
	if ct, ok := u.GetOptionalChildByTag("contact"); ok {
		switch v := ct.Content.(type) {
		case string:
			contactQuery = []byte(v)
		case []byte:
			contactQuery = v
		}
	}
	if !hasJID {
		if contactQuery == nil {
			return waBinary.Node{}, false
		}
		number := strings.TrimPrefix(strings.TrimSuffix(string(contactQuery), "@"+types.LegacyUserServer), "+")
		jid = types.NewJID(number, types.DefaultUserServer)
	}
	jid = jid.ToNonAD()
	a := s.accountFor(jid)
	var children []waBinary.Node
	for _, p := range protocols {
		switch p {
		case "devices":
			children = append(children, devicesNode(a))
		case "contact":
			typ := "out"
			if a != nil {
				typ = "in"
			}
			children = append(children, waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": typ}, Content: contactQuery})
		case "lid":
			node := waBinary.Node{Tag: "lid"}
			if a != nil {
				node.Attrs = waBinary.Attrs{"val": a.lid}
			}
			children = append(children, node)
		default:
			children = append(children, waBinary.Node{Tag: p})
		}
	}
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: children}, true
}

// devicesNode lists the account's devices: the phone (0) and every linked companion.
func devicesNode(a *account) waBinary.Node {
	var devs []waBinary.Node
	if a != nil {
		devs = append(devs, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": "0"}})
		for _, d := range a.companionList() {
			devs = append(devs, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{
				"id":        strconv.Itoa(int(d.id)),
				"key-index": strconv.Itoa(int(d.id)),
			}})
		}
	}
	return waBinary.Node{Tag: "devices", Content: []waBinary.Node{{Tag: "device-list", Content: devs}}}
}
