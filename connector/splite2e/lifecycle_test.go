//go:build unix

package splite2e

import (
	"testing"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// TestSplitPairDisconnectLogoutDelete links a session by phone code (the connector
// answers through the state table; the api-qr function waits for it or gives a poll
// location), then covers the buttons of a linked session: Disconnect keeps the link,
// Log out unlinks the device, Delete removes the session with its messages. It also
// asks for diagnostics, which the split deployment runs in the connector and answers
// with 202.
func TestSplitPairDisconnectLogoutDelete(t *testing.T) {
	s := newStack(t, false)
	alice, bob := s.phone(t, alicePhone, "Alice"), s.phone(t, bobPhone, "Bob")
	s.startConnector(t, "conn-a")
	s.api.createSession(t, "desk", "")

	code := s.api.PairCode(t, "desk", "+1 555 000 1111", linkTimeout)
	if st := s.api.Session(t, "desk"); st.Status != core.StatusPairing {
		t.Errorf("while the code is shown: %s, want pairing", apitest.Describe(st))
	}
	dev, err := s.sim.Control.LinkCode(ctx(t), alice, code)
	if err != nil {
		t.Fatalf("the phone enters the code: %v", err)
	}
	linked := s.api.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if linked.JID != dev.JID {
		t.Errorf("paired session jid %q, want %q", linked.JID, dev.JID)
	}

	if r := s.api.Do(t, "POST", "/v1/diagnostics", nil); r.Status != 202 {
		t.Errorf("POST /v1/diagnostics: %s, want 202 (the connector runs them)", r)
	}

	s.api.MustJSON(t, "POST", "/v1/sessions/desk/disconnect", nil, 202, nil)
	s.api.waitStatus(t, "desk", core.StatusDisconnected, linkTimeout)
	apitest.Eventually(t, linkTimeout, "the device to go offline", func() (bool, string) {
		c, ok := s.deviceConnected(t, linked.JID)
		return ok && !c, "still connected"
	})
	s.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	if again := s.api.waitStatus(t, "desk", core.StatusConnected, linkTimeout); again.JID != linked.JID {
		t.Errorf("reconnected as %q, want %q (no new link)", again.JID, linked.JID)
	}

	s.api.MustJSON(t, "POST", "/v1/sessions/desk/logout", nil, 202, nil)
	out := s.api.waitStatus(t, "desk", core.StatusLoggedOut, linkTimeout)
	if out.LastError == nil || out.LastError.Code != "logout_requested" {
		t.Errorf("after logout: %s, want lastError logout_requested", apitest.Describe(out))
	}
	apitest.Eventually(t, linkTimeout, "the phone to forget the device", func() (bool, string) {
		_, ok := s.deviceConnected(t, linked.JID)
		return !ok, "the simulator still lists " + linked.JID
	})

	// Link again by QR, leave a message behind, then delete everything.
	s.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	if _, err := s.sim.Control.Scan(ctx(t), alice, s.api.qrCode(t, "desk").Code); err != nil {
		t.Fatalf("scan: %v", err)
	}
	relinked := s.api.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	m := s.api.Send(t, "desk", bob, "before delete")
	s.api.waitMessage(t, "desk", m.ID, core.MessageSent)
	s.api.MustJSON(t, "DELETE", "/v1/sessions/desk", nil, 202, nil)
	apitest.Eventually(t, linkTimeout, "the session to be gone", func() (bool, string) {
		r := s.api.Do(t, "GET", "/v1/sessions/desk", nil)
		return r.Status == 404, r.String()
	})
	if r := s.api.Do(t, "GET", "/v1/sessions/desk/messages/"+m.ID, nil); r.Status != 404 {
		t.Errorf("a deleted session's message: %s, want 404", r)
	}
	apitest.Eventually(t, linkTimeout, "the phone to forget the deleted session's device", func() (bool, string) {
		_, ok := s.deviceConnected(t, relinked.JID)
		return !ok, "the simulator still lists " + relinked.JID
	})
	if fresh := s.api.createSession(t, "desk", ""); fresh.Status != core.StatusNew || fresh.JID != "" {
		t.Errorf("re-created session: %s, want a new, unlinked session", apitest.Describe(fresh))
	}
	if got := s.api.Messages(t, "desk", ""); len(got) != 0 {
		t.Errorf("re-created session lists %d old messages", len(got))
	}
}
