package server

import (
	"encoding/binary"
	"strconv"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/phone"
)

// handleEncryptIQ serves prekey counts, uploads and bundle fetches.
func (s *Server) handleEncryptIQ(c *conn, n *waBinary.Node, typ string) {
	d := c.dev.Load()
	switch {
	case typ == "get" && hasChild(n, "count"):
		c.send(iqResult(n, waBinary.Node{Tag: "count", Attrs: waBinary.Attrs{
			"value": strconv.Itoa(d.preKeyCount()),
		}}))
	case typ == "get" && hasChild(n, "key"):
		s.handlePreKeyFetch(c, n)
	case typ == "set" && hasChild(n, "list"):
		s.handlePreKeyUpload(c, d, n)
	default:
		s.unknownIQ(c, n)
	}
}

func hasChild(n *waBinary.Node, tag string) bool {
	_, ok := n.GetOptionalChildByTag(tag)
	return ok
}

// handlePreKeyUpload stores the device's registration id, signed prekey and one-time
// prekeys. The identity must be the one the device paired with.
func (s *Server) handlePreKeyUpload(c *conn, d *device, n *waBinary.Node) {
	reg := nodeBytes(*n, "registration")
	ident := nodeBytes(*n, "identity")
	skey, _ := n.GetOptionalChildByTag("skey")
	signed, okSigned := parseSignedPreKey(skey)
	if len(reg) != 4 || len(ident) != 32 || !okSigned {
		s.violation(c.who(), "malformed prekey upload", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	if [32]byte(ident) != d.identity {
		s.violation(c.who(), "prekey upload with an identity key the device did not pair with", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(d.identity), append([]byte{ecc.DjbType}, signed.Pub[:]...), signed.Signature) {
		s.violation(c.who(), "signed prekey signature does not verify", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	list, _ := n.GetOptionalChildByTag("list")
	keys := make([]phone.PreKey, 0, len(list.GetChildren()))
	for _, k := range list.GetChildren() {
		pk, ok := parsePreKey(k)
		if k.Tag != "key" || !ok {
			s.violation(c.who(), "malformed prekey in upload", n)
			c.send(iqError(n, 400, "bad-request"))
			return
		}
		keys = append(keys, pk)
	}
	d.mu.Lock()
	d.regID = binary.BigEndian.Uint32(reg)
	d.signed = signed
	d.preKeys = append(d.preKeys, keys...)
	d.mu.Unlock()
	s.log.Debug("prekeys_uploaded", "device", d.jid.String(), "count", len(keys))
	c.send(iqResult(n))
}

func parsePreKey(n waBinary.Node) (phone.PreKey, bool) {
	id := nodeBytes(n, "id")
	val := nodeBytes(n, "value")
	if len(id) != 3 || len(val) != 32 {
		return phone.PreKey{}, false
	}
	return phone.PreKey{ID: uint32(id[0])<<16 | uint32(id[1])<<8 | uint32(id[2]), Pub: [32]byte(val)}, true
}

func parseSignedPreKey(n waBinary.Node) (phone.SignedPreKey, bool) {
	pk, ok := parsePreKey(n)
	sig := nodeBytes(n, "signature")
	if !ok || n.Tag != "skey" || len(sig) != 64 {
		return phone.SignedPreKey{}, false
	}
	return phone.SignedPreKey{ID: pk.ID, Pub: pk.Pub, Signature: [64]byte(sig)}, true
}

// handlePreKeyFetch answers bundles for the requested devices: the phone's own
// bundle for device 0, the uploaded keys for companions, and a 404 per unknown device.
// Each user node names the JID exactly as requested.
func (s *Server) handlePreKeyFetch(c *conn, n *waBinary.Node) {
	keyNode, _ := n.GetOptionalChildByTag("key")
	var users []waBinary.Node
	for _, u := range keyNode.GetChildren() {
		jid, ok := attrJID(u, "jid")
		if u.Tag != "user" || !ok {
			s.violation(c.who(), "prekey fetch with a malformed user", n)
			continue
		}
		users = append(users, s.bundleNode(jid))
	}
	c.send(iqResult(n, waBinary.Node{Tag: "list", Content: users}))
}

func (s *Server) bundleNode(jid types.JID) waBinary.Node {
	var b phone.Bundle
	found := false
	if a := s.accountFor(jid); a != nil {
		if jid.Device == 0 {
			b, found = a.phone.Bundle(), true
		} else if d := a.companion(jid.Device); d != nil && !d.isRemoved() {
			b, found = d.bundle(), true
		}
	}
	if !found {
		return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: []waBinary.Node{{
			Tag: "error", Attrs: waBinary.Attrs{"code": "404", "text": "item-not-found"},
		}}}
	}
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: bundleContent(b)}
}

func bundleContent(b phone.Bundle) []waBinary.Node {
	var reg [4]byte
	binary.BigEndian.PutUint32(reg[:], b.RegistrationID)
	content := []waBinary.Node{
		{Tag: "registration", Content: reg[:]},
		{Tag: "type", Content: []byte{ecc.DjbType}},
		{Tag: "identity", Content: b.IdentityKey[:]},
	}
	if b.PreKey != nil {
		content = append(content, waBinary.Node{Tag: "key", Content: []waBinary.Node{
			{Tag: "id", Content: keyID(b.PreKey.ID)},
			{Tag: "value", Content: b.PreKey.Pub[:]},
		}})
	}
	return append(content, waBinary.Node{Tag: "skey", Content: []waBinary.Node{
		{Tag: "id", Content: keyID(b.SignedPreKey.ID)},
		{Tag: "value", Content: b.SignedPreKey.Pub[:]},
		{Tag: "signature", Content: b.SignedPreKey.Signature[:]},
	}})
}

func keyID(id uint32) []byte { return []byte{byte(id >> 16), byte(id >> 8), byte(id)} }
