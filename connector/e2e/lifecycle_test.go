package e2e

import (
	"regexp"
	"testing"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/core"
)

// pairCodeRE is the shape of a WhatsApp pairing code as the API answers it.
var pairCodeRE = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}$`)

// TestPairByPhoneCode links a session without a camera: the API returns a code,
// the phone enters it, and the session connects as that phone.
func TestPairByPhoneCode(t *testing.T) {
	e := start(t)
	alice := e.phone(t, alicePhone, "Alice")
	e.createSession(t, "desk")

	r := e.api.do(t, "POST", "/v1/sessions/desk/pair-code", map[string]string{"phone": "+1 555 000 1111"})
	var code struct {
		Code string `json:"code"`
		Poll string `json:"poll"`
	}
	r.decode(t, &code)
	if r.status == 202 {
		eventually(t, linkTimeout, "the pairing code", func() (bool, string) {
			p := e.api.do(t, "GET", code.Poll, nil)
			p.decode(t, &code)
			return p.status == 200, p.String()
		})
	} else if r.status != 200 {
		t.Fatalf("pair-code: %s, want 200 with a code", r)
	}
	if !pairCodeRE.MatchString(code.Code) {
		t.Fatalf("pairing code %q, want ABCD-EFGH", code.Code)
	}
	if s := e.api.session(t, "desk"); s.Status != core.StatusPairing {
		t.Errorf("while the code is shown: %s, want pairing", describe(s))
	}
	dev, err := e.sim.Control.LinkCode(ctx(t), alice, code.Code)
	if err != nil {
		t.Fatalf("the phone enters the code: %v", err)
	}
	s := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if s.JID != dev.JID {
		t.Errorf("paired session jid %q, want %q", s.JID, dev.JID)
	}
	if r := e.api.do(t, "POST", "/v1/sessions/desk/pair-code", map[string]string{"phone": alice}); r.status != 409 {
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

	e.api.mustJSON(t, "POST", "/v1/sessions/desk/disconnect", nil, 202, nil)
	e.waitStatus(t, "desk", core.StatusDisconnected, linkTimeout)
	eventually(t, linkTimeout, "the device to go offline", func() (bool, string) {
		c, ok := e.deviceConnected(t, s.JID)
		return ok && !c, "still connected"
	})
	// Reconnecting needs no QR: the link was kept.
	e.api.mustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	if again := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout); again.JID != s.JID {
		t.Errorf("reconnected as %q, want %q", again.JID, s.JID)
	}

	e.api.mustJSON(t, "POST", "/v1/sessions/desk/logout", nil, 202, nil)
	out := e.waitStatus(t, "desk", core.StatusLoggedOut, linkTimeout)
	wantLastError(t, out, "logout_requested")
	eventually(t, linkTimeout, "the phone to forget the device", func() (bool, string) {
		_, ok := e.deviceConnected(t, s.JID)
		return !ok, "the simulator still lists " + s.JID
	})

	// Link again, leave a message behind, then delete everything.
	e.api.mustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	if _, err := e.sim.Control.Scan(ctx(t), alice, e.qrCode(t, "desk")); err != nil {
		t.Fatalf("scan again: %v", err)
	}
	relinked := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	m := e.api.send(t, "desk", bob, "before delete")
	e.waitMessage(t, "desk", m.ID, core.MessageSent)

	e.api.mustJSON(t, "DELETE", "/v1/sessions/desk", nil, 202, nil)
	eventually(t, linkTimeout, "the session to be gone", func() (bool, string) {
		r := e.api.do(t, "GET", "/v1/sessions/desk", nil)
		return r.status == 404, r.String()
	})
	if r := e.api.do(t, "GET", "/v1/sessions/desk/messages/"+m.ID, nil); r.status != 404 {
		t.Errorf("a deleted session's message: %s, want 404", r)
	}
	eventually(t, linkTimeout, "the phone to forget the deleted session's device", func() (bool, string) {
		_, ok := e.deviceConnected(t, relinked.JID)
		return !ok, "the simulator still lists " + relinked.JID
	})
	// The id is free again: a new session starts from scratch.
	if fresh := e.createSession(t, "desk"); fresh.Status != core.StatusNew || fresh.JID != "" {
		t.Errorf("re-created session: %s, want a new, unlinked session", describe(fresh))
	}
	if got := e.api.messages(t, "desk", ""); len(got) != 0 {
		t.Errorf("re-created session lists %d old messages", len(got))
	}
}

// TestSessionsAreTenantScoped checks that another tenant's session does not exist for
// a caller (404, not 403) and that a request without a valid token is refused.
func TestSessionsAreTenantScoped(t *testing.T) {
	e := start(t, func(c *app.Config) { c.Tokens = "token-a-0123456789=tenant-a,token-b-0123456789=tenant-b" })
	e.createSession(t, "shared-name")
	other := newClient(e.main.URL(), "token-b-0123456789")
	if r := other.do(t, "GET", "/v1/sessions/shared-name", nil); r.status != 404 || r.errorCode() != "not_found" {
		t.Errorf("tenant b reads tenant a's session: %s, want 404 not_found", r)
	}
	if r := other.do(t, "POST", "/v1/sessions/shared-name/connect", nil); r.status != 404 {
		t.Errorf("tenant b connects tenant a's session: %s, want 404", r)
	}
	var list struct {
		Sessions []core.Session `json:"sessions"`
	}
	other.mustJSON(t, "GET", "/v1/sessions", nil, 200, &list)
	if len(list.Sessions) != 0 {
		t.Errorf("tenant b lists %d sessions, want none", len(list.Sessions))
	}
	for _, token := range []string{"", "wrong"} {
		if r := newClient(e.main.URL(), token).do(t, "GET", "/v1/sessions", nil); r.status != 401 {
			t.Errorf("token %q: %s, want 401", token, r)
		}
	}
	if e.main.Token() != "" {
		t.Errorf("with WAGATE_TOKENS set, a token was generated")
	}
}
