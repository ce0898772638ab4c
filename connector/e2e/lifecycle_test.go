package e2e

import (
	"testing"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// TestPairByPhoneCode links a session without a camera: the API returns a code,
// the phone enters it, and the session connects as that phone.
func TestPairByPhoneCode(t *testing.T) {
	e := start(t)
	alice := e.phone(t, alicePhone, "Alice")
	e.createSession(t, "desk")

	code := e.api.PairCode(t, "desk", "+1 555 000 1111", linkTimeout)
	if s := e.api.Session(t, "desk"); s.Status != core.StatusPairing {
		t.Errorf("while the code is shown: %s, want pairing", apitest.Describe(s))
	}
	dev, err := e.sim.Control.LinkCode(ctx(t), alice, code)
	if err != nil {
		t.Fatalf("the phone enters the code: %v", err)
	}
	s := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if s.JID != dev.JID {
		t.Errorf("paired session jid %q, want %q", s.JID, dev.JID)
	}
	if r := e.api.Do(t, "POST", "/v1/sessions/desk/pair-code", map[string]string{"phone": alice}); r.Status != 409 {
		t.Errorf("pair-code on a linked session: %s, want 409", r)
	}
}

// TestDisconnectLogoutAndDelete covers the buttons of a linked session: Disconnect
// keeps the link, Log out unlinks the device on the phone, Delete removes the
// session with its messages.
func TestDisconnectLogoutAndDelete(t *testing.T) {
	e := start(t)
	alice, bob := e.phone(t, alicePhone, "Alice"), e.phone(t, bobPhone, "Bob")
	s := e.link(t, "desk", alice)

	e.api.MustJSON(t, "POST", "/v1/sessions/desk/disconnect", nil, 202, nil)
	e.waitStatus(t, "desk", core.StatusDisconnected, linkTimeout)
	apitest.Eventually(t, linkTimeout, "the device to go offline", func() (bool, string) {
		c, ok := e.deviceConnected(t, s.JID)
		return ok && !c, "still connected"
	})
	// Reconnecting needs no QR: the link was kept.
	e.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	if again := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout); again.JID != s.JID {
		t.Errorf("reconnected as %q, want %q", again.JID, s.JID)
	}

	e.api.MustJSON(t, "POST", "/v1/sessions/desk/logout", nil, 202, nil)
	out := e.waitStatus(t, "desk", core.StatusLoggedOut, linkTimeout)
	wantLastError(t, out, "logout_requested")
	apitest.Eventually(t, linkTimeout, "the phone to forget the device", func() (bool, string) {
		_, ok := e.deviceConnected(t, s.JID)
		return !ok, "the simulator still lists " + s.JID
	})

	// Link again, leave a message behind, then delete everything.
	e.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	if _, err := e.sim.Control.Scan(ctx(t), alice, e.qrCode(t, "desk")); err != nil {
		t.Fatalf("scan again: %v", err)
	}
	relinked := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	m := e.api.Send(t, "desk", bob, "before delete")
	e.waitMessage(t, "desk", m.ID, core.MessageSent)

	e.api.MustJSON(t, "DELETE", "/v1/sessions/desk", nil, 202, nil)
	apitest.Eventually(t, linkTimeout, "the session to be gone", func() (bool, string) {
		r := e.api.Do(t, "GET", "/v1/sessions/desk", nil)
		return r.Status == 404, r.String()
	})
	if r := e.api.Do(t, "GET", "/v1/sessions/desk/messages/"+m.ID, nil); r.Status != 404 {
		t.Errorf("a deleted session's message: %s, want 404", r)
	}
	apitest.Eventually(t, linkTimeout, "the phone to forget the deleted session's device", func() (bool, string) {
		_, ok := e.deviceConnected(t, relinked.JID)
		return !ok, "the simulator still lists " + relinked.JID
	})
	// The id is free again: a new session starts from scratch.
	if fresh := e.createSession(t, "desk"); fresh.Status != core.StatusNew || fresh.JID != "" {
		t.Errorf("re-created session: %s, want a new, unlinked session", apitest.Describe(fresh))
	}
	if got := e.api.Messages(t, "desk", ""); len(got) != 0 {
		t.Errorf("re-created session lists %d old messages", len(got))
	}
}

// TestSessionsAreTenantScoped checks that another tenant's session does not exist for
// a caller (404, not 403) and that a request without a valid token is refused.
func TestSessionsAreTenantScoped(t *testing.T) {
	e := start(t, func(c *app.Config) { c.Tokens = "token-a-0123456789=tenant-a,token-b-0123456789=tenant-b" })
	e.createSession(t, "shared-name")
	other := newClient(e.main.URL(), "token-b-0123456789")
	if r := other.Do(t, "GET", "/v1/sessions/shared-name", nil); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Errorf("tenant b reads tenant a's session: %s, want 404 not_found", r)
	}
	if r := other.Do(t, "POST", "/v1/sessions/shared-name/connect", nil); r.Status != 404 {
		t.Errorf("tenant b connects tenant a's session: %s, want 404", r)
	}
	var list struct {
		Sessions []core.Session `json:"sessions"`
	}
	other.MustJSON(t, "GET", "/v1/sessions", nil, 200, &list)
	if len(list.Sessions) != 0 {
		t.Errorf("tenant b lists %d sessions, want none", len(list.Sessions))
	}
	for _, token := range []string{"", "wrong"} {
		if r := newClient(e.main.URL(), token).Do(t, "GET", "/v1/sessions", nil); r.Status != 401 {
			t.Errorf("token %q: %s, want 401", token, r)
		}
	}
	if e.main.Token() != "" {
		t.Errorf("with WAGATE_TOKENS set, a token was generated")
	}
}
