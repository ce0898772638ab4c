package manager_test

import (
	"encoding/json"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/connector/session"
	"github.com/wagate/wagate/core"
)

func TestRestartReconnectsWithoutQR(t *testing.T) {
	h := newHarness(t)
	first := h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	linked := h.link("main", alice)
	key := linked.Key()

	h.stop(first)
	s := h.waitStatus(key, core.StatusDisconnected)
	if s.LastError == nil || s.LastError.Code != session.CodeShutdown || !s.Desired || s.JID != linked.JID {
		t.Fatalf("after shutdown: %s; want disconnected by connector_shutdown, still desired and linked", describe(s))
	}
	if l, err := h.state.ReadLease(ctxT(t), key); err != nil || l.Owner != "" {
		t.Errorf("lease after shutdown = %+v, %v; want released", l, err)
	}

	// A new process: the same key store file and state, another connector id.
	h.devices = h.openDevices()
	mark := len(h.eventsOf(key, core.EventSessionStatus))
	h.start(h.config("c2"), nil)
	s = h.waitStatus(key, core.StatusConnected)
	if s.JID != linked.JID {
		t.Errorf("reconnected as %s, want %s", s.JID, linked.JID)
	}
	for _, e := range h.eventsOf(key, core.EventSessionStatus)[mark:] {
		var got core.Session
		mustJSON(t, e.Data, &got)
		if got.Status == core.StatusQR {
			t.Fatal("the restored session asked for a QR code")
		}
	}
	if d, ok := h.device(s.JID); !ok || !d.Connected {
		t.Errorf("simulator: device %s connected=%v, want connected", s.JID, d.Connected)
	}
}

func TestPairByPhoneCode(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	key := h.createSession("main")
	cmd := h.command(core.CmdPairCode, key, core.PairCodePayload{Phone: alice.Phone})

	var res core.CommandResult
	eventually(t, "the pair-code result", func() string {
		var err error
		if res, err = h.state.GetResult(ctxT(t), tenant, cmd.ID); err != nil {
			return err.Error()
		}
		return ""
	})
	if res.Error != nil {
		t.Fatalf("pair code failed: %+v", res.Error)
	}
	var pc core.PairCodeResult
	if err := json.Unmarshal(res.Data, &pc); err != nil || len(pc.Code) != 9 || pc.Code[4] != '-' {
		t.Fatalf("pair code result %s (%v), want ABCD-EFGH", res.Data, err)
	}
	h.waitStatus(key, core.StatusPairing)
	if _, err := h.sim.Control.LinkCode(ctxT(t), alice.Phone, pc.Code); err != nil {
		t.Fatalf("link code: %v", err)
	}
	s := h.waitStatus(key, core.StatusConnected)
	if userOf(s.JID) != alice.JID {
		t.Errorf("paired as %s, want %s", s.JID, alice.JID)
	}

	// A linked session refuses another pairing code with a clear error.
	again := h.command(core.CmdPairCode, key, core.PairCodePayload{Phone: alice.Phone})
	eventually(t, "the second pair-code result", func() string {
		var err error
		if res, err = h.state.GetResult(ctxT(t), tenant, again.ID); err != nil {
			return err.Error()
		}
		return ""
	})
	if res.Error == nil || res.Error.Code != string(core.CodeWrongState) {
		t.Errorf("second pair code = %+v, want a wrong_state error", res)
	}
}

func TestLogoutUnlinksTheDevice(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	linked := h.link("main", alice)
	key := linked.Key()

	h.command(core.CmdLogout, key, nil)
	s := h.waitStatus(key, core.StatusLoggedOut)
	if s.LastError == nil || s.LastError.Code != session.CodeLogout || s.JID != "" || s.Desired {
		t.Errorf("after logout: %s; want logout_requested, no JID, not desired", describe(s))
	}
	if d, ok := h.device(linked.JID); ok {
		t.Errorf("simulator still lists the device: %+v", d)
	}
	jid, _ := types.ParseJID(linked.JID)
	if dev, err := h.devices.GetDevice(ctxT(t), jid); err != nil || dev != nil {
		t.Errorf("key store still has the device: %v, %v", dev, err)
	}

	// Connecting again starts a new link with a QR code.
	h.command(core.CmdConnect, key, nil)
	qr := h.waitQR(key)
	if _, err := h.sim.Control.Scan(ctxT(t), alice.Phone, qr.Code); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(key, core.StatusConnected)
}

func TestDeleteLogsOutAndRemovesEverything(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	bob := h.phone("15550002222", "Bob")
	linked := h.link("main", alice)
	key := linked.Key()
	if _, err := h.sim.Control.SendMessage(ctxT(t), bob.Phone, alice.Phone, "kept until delete"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a stored message", func() string {
		page, _ := h.state.ListMessages(ctxT(t), key, core.MessageQuery{})
		if len(page.Messages) == 0 {
			return "none"
		}
		return ""
	})

	h.command(core.CmdDelete, key, nil)
	eventually(t, "the session to be deleted", func() string {
		if _, err := h.state.GetSession(ctxT(t), key); !core.IsCode(err, core.CodeNotFound) {
			return "still there"
		}
		return ""
	})
	if page, err := h.state.ListMessages(ctxT(t), key, core.MessageQuery{}); err == nil && len(page.Messages) > 0 {
		t.Errorf("messages survive the delete: %d", len(page.Messages))
	}
	if d, ok := h.device(linked.JID); ok {
		t.Errorf("simulator still lists the device: %+v", d)
	}
	jid, _ := types.ParseJID(linked.JID)
	if dev, err := h.devices.GetDevice(ctxT(t), jid); err != nil || dev != nil {
		t.Errorf("key store still has the device: %v, %v", dev, err)
	}
}

func TestDisconnectKeepsTheLink(t *testing.T) {
	h := newHarness(t)
	c := h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	linked := h.link("main", alice)
	key := linked.Key()

	h.command(core.CmdDisconnect, key, nil)
	s := h.waitStatus(key, core.StatusDisconnected)
	if s.JID != linked.JID || s.Desired || s.LastError != nil {
		t.Errorf("after disconnect: %s; want the link kept, not desired", describe(s))
	}
	eventually(t, "the simulator to see the device offline", func() string {
		if d, _ := h.device(linked.JID); d.Connected {
			return "still connected"
		}
		return ""
	})
	if _, held := c.mgr.Held()[key]; held {
		t.Error("a disconnected session is still held")
	}
	start := time.Now()
	h.command(core.CmdConnect, key, nil)
	h.waitStatus(key, core.StatusConnected)
	t.Logf("reconnected in %v", time.Since(start))
}
