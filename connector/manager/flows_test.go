package manager_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

func TestQRScanConnectsWithThePhonesJID(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	p := h.phone("15550001111", "Alice")
	key := h.createSession("main")
	h.command(core.CmdConnect, key, nil)

	qr := h.waitQR(key)
	if left := time.Until(qr.ExpiresAt); left < 10*time.Second || left > 61*time.Second {
		t.Errorf("first QR code expires in %v, want about 60s", left)
	}
	if _, err := h.sim.Control.Scan(ctxT(t), p.Phone, qr.Code); err != nil {
		t.Fatalf("scan: %v", err)
	}
	s := h.waitStatus(key, core.StatusConnected)
	if userOf(s.JID) != p.JID || s.ConnectedAt == nil || s.LastError != nil || !s.Desired {
		t.Errorf("connected session = %s connectedAt=%v; want jid of %s", describe(s), s.ConnectedAt, p.JID)
	}
	if d, ok := h.device(s.JID); !ok || !d.Connected {
		t.Errorf("simulator lists device %s as %+v (found %v), want connected", s.JID, d, ok)
	}
	if _, err := h.state.GetQR(ctxT(t), key); !core.IsCode(err, core.CodeNotFound) {
		t.Errorf("QR after connect: %v, want not_found", err)
	}
	seen := map[core.Status]bool{}
	for _, e := range h.eventsOf(key, core.EventSessionStatus) {
		var got core.Session
		mustJSON(t, e.Data, &got)
		seen[got.Status] = true
	}
	for _, st := range []core.Status{core.StatusConnecting, core.StatusQR, core.StatusConnected} {
		if !seen[st] {
			t.Errorf("no session.status event with status %s (saw %v)", st, seen)
		}
	}
}
