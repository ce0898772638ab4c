package server

import (
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/types"
)

// login authenticates a paired device by its Noise static key and answers success or
// failure. On success it replaces any older connection of the device and sends the
// device's queued stanzas. It reports whether the connection stays open.
func (s *Server) login(c *conn, p *waWa6.ClientPayload) bool {
	d := s.deviceByLogin(p.GetUsername(), p.GetDevice())
	if d == nil || d.noise != c.wc.ClientStatic() {
		s.log.Info("login_rejected", "username", redact(strconv.FormatUint(p.GetUsername(), 10)), "device", p.GetDevice())
		c.closeWith(failureNode("401", nil))
		return false
	}
	now := s.now()
	d.mu.Lock()
	if d.removed {
		d.mu.Unlock()
		c.closeWith(failureNode("401", nil))
		return false
	}
	if b := d.block; b != nil && now.Before(b.until) {
		d.mu.Unlock()
		attrs := waBinary.Attrs{}
		if b.reason == "402" {
			attrs["code"] = b.code
			attrs["expire"] = strconv.FormatInt(int64(b.until.Sub(now).Round(1e9).Seconds()), 10)
		}
		s.log.Info("login_blocked", "device", d.jid.String(), "reason", b.reason)
		c.closeWith(failureNode(b.reason, attrs))
		return false
	}
	old := d.conn
	d.conn = c
	c.dev.Store(d)
	c.state.Store(stateLoggedIn)
	c.send(waBinary.Node{Tag: "success", Attrs: waBinary.Attrs{
		"t":        strconv.FormatInt(now.Unix(), 10),
		"lid":      d.lid,
		"location": "sim",
	}})
	d.pending.each(c.send)
	c.send(waBinary.Node{Tag: "ib", Attrs: waBinary.Attrs{"from": types.ServerJID}, Content: []waBinary.Node{{
		Tag:   "offline",
		Attrs: waBinary.Attrs{"count": strconv.Itoa(d.pending.len())},
	}}})
	d.mu.Unlock()
	s.log.Info("device_logged_in", "device", d.jid.String())
	if old != nil && old != c {
		s.goBackground(func() { old.closeWith(streamErrorReplaced()) })
	}
	return true
}

func failureNode(reason string, extra waBinary.Attrs) waBinary.Node {
	attrs := waBinary.Attrs{"reason": reason}
	for k, v := range extra {
		attrs[k] = v
	}
	return waBinary.Node{Tag: "failure", Attrs: attrs}
}

func streamErrorReplaced() waBinary.Node {
	return waBinary.Node{Tag: "stream:error", Content: []waBinary.Node{{
		Tag: "conflict", Attrs: waBinary.Attrs{"type": "replaced"},
	}}}
}

func streamErrorDeviceRemoved() waBinary.Node {
	return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "401"}, Content: []waBinary.Node{{
		Tag: "conflict", Attrs: waBinary.Attrs{"type": "device_removed"},
	}}}
}

// redact keeps the last four digits of a phone number for logs.
func redact(number string) string {
	if len(number) <= 4 {
		return "****"
	}
	return "****" + number[len(number)-4:]
}
