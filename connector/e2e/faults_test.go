package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/wasim/server"
)

// quietWindow is how long a test watches that a stopped session does not reconnect:
// longer than the first two backoff delays (1 s and 2 s, ±20 %).
const quietWindow = 4 * time.Second

// TestFaultsGiveTheDocumentedStatus injects each simulator fault on a linked session
// and checks the status, lastError and retry behaviour an admin sees: fatal outcomes
// never reconnect (replaced, logged out, outdated), a ban waits for retryAt, and
// transient ones reconnect on their own.
func TestFaultsGiveTheDocumentedStatus(t *testing.T) {
	e := start(t)
	events := e.api.events(t)
	tests := []struct {
		name  string
		fault server.Fault
		// check runs after the fault was injected; from marks the event stream then.
		check func(t *testing.T, id, jid string, from int)
	}{
		{
			name:  "stream_replaced",
			fault: server.Fault{Kind: server.FaultStreamReplaced},
			check: func(t *testing.T, id, jid string, from int) {
				s := e.waitStatus(t, id, core.StatusReplaced, linkTimeout)
				wantLastError(t, s, "stream_replaced")
				e.staysDisconnected(t, id, jid, core.StatusReplaced)
			},
		},
		{
			name:  "device_removed",
			fault: server.Fault{Kind: server.FaultDeviceRemoved},
			check: func(t *testing.T, id, jid string, from int) {
				s := e.waitStatus(t, id, core.StatusLoggedOut, linkTimeout)
				wantLastError(t, s, "logged_out")
				if s.JID != "" {
					t.Errorf("a logged out session keeps jid %q", s.JID)
				}
				e.staysDisconnected(t, id, jid, core.StatusLoggedOut)
				// The link is gone: connecting again asks for a new QR code.
				e.api.MustJSON(t, "POST", "/v1/sessions/"+id+"/connect", nil, 202, nil)
				e.waitStatus(t, id, core.StatusQR, linkTimeout)
			},
		},
		{
			name:  "client_outdated",
			fault: server.Fault{Kind: server.FaultClientOutdated},
			check: func(t *testing.T, id, jid string, from int) {
				s := e.waitStatus(t, id, core.StatusOutdated, linkTimeout)
				wantLastError(t, s, "client_outdated")
				e.staysDisconnected(t, id, jid, core.StatusOutdated)
			},
		},
		{
			name:  "temp_ban",
			fault: server.Fault{Kind: server.FaultTempBan, Seconds: 4},
			check: func(t *testing.T, id, jid string, from int) {
				injected := time.Now()
				s := e.waitStatus(t, id, core.StatusBanned, linkTimeout)
				wantLastError(t, s, "temporary_ban")
				if s.RetryAt == nil || s.RetryAt.Before(injected) || s.RetryAt.After(injected.Add(10*time.Second)) {
					t.Fatalf("banned session: retryAt %v, want within the 4 s ban", s.RetryAt)
				}
				// No reconnect before retryAt (minus clock rounding), then connected again.
				if wait := time.Until(*s.RetryAt) - 500*time.Millisecond; wait > 0 {
					apitest.Never(t, wait, "the banned session reconnected before retryAt", func() (bool, string) {
						c, _ := e.deviceConnected(t, jid)
						return c, "device connected"
					})
				}
				s = e.waitStatus(t, id, core.StatusConnected, linkTimeout)
				if s.RetryAt != nil || s.LastError != nil {
					t.Errorf("reconnected after the ban: %s, want retryAt and lastError cleared", apitest.Describe(s))
				}
			},
		},
		{
			name:  "service_unavailable",
			fault: server.Fault{Kind: server.FaultServiceUnavailable, Seconds: 3},
			check: func(t *testing.T, id, jid string, from int) {
				injected := time.Now()
				// whatsmeow reports a 503 login answer as a plain disconnect.
				events.waitFrom(t, from, linkTimeout, "reconnecting after 503", func(ev core.Event) bool {
					s, ok := sessionOf(ev, id)
					return ok && s.Status == core.StatusReconnecting && s.LastError != nil &&
						(s.LastError.Code == "server_error" || s.LastError.Code == "disconnected")
				})
				events.waitFrom(t, events.mark(), linkTimeout, "connected once the 503s stop", func(ev core.Event) bool {
					s, ok := sessionOf(ev, id)
					return ok && s.Status == core.StatusConnected
				})
				if took := time.Since(injected); took < 2*time.Second {
					t.Errorf("connected again %s after the fault, while logins were refused for 3 s", took)
				}
			},
		},
		{
			name:  "drop",
			fault: server.Fault{Kind: server.FaultDrop},
			check: func(t *testing.T, id, jid string, from int) {
				events.waitFrom(t, from, linkTimeout, "reconnecting after the drop", func(ev core.Event) bool {
					s, ok := sessionOf(ev, id)
					return ok && s.Status == core.StatusReconnecting && s.LastError != nil && s.LastError.Code == "disconnected"
				})
				e.waitStatus(t, id, core.StatusConnected, linkTimeout)
				apitest.Eventually(t, linkTimeout, "the device to be connected again", func() (bool, string) {
					c, _ := e.deviceConnected(t, jid)
					return c, "not connected"
				})
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			phone := fmt.Sprintf("1555000%04d", 3000+i)
			e.phone(t, phone, "Phone "+tt.name)
			id := "fault-" + tt.name
			s := e.link(t, id, phone)
			from := events.mark()
			if err := e.sim.Control.Fault(ctx(t), s.JID, tt.fault); err != nil {
				t.Fatalf("inject %s: %v", tt.fault.Kind, err)
			}
			tt.check(t, id, s.JID, from)
		})
	}
}

// staysDisconnected checks for quietWindow that the session keeps status st and
// the simulator sees no connection of its device.
func (e *env) staysDisconnected(t *testing.T, id, jid string, st core.Status) {
	t.Helper()
	// The fatal status is recorded as soon as the client reads the server's error;
	// the socket closes a moment later. Wait for that, then watch for a reconnect.
	apitest.Eventually(t, quietWindow, "the simulator to see the device disconnected", func() (bool, string) {
		c, _ := e.deviceConnected(t, jid)
		return !c, "still connected"
	})
	apitest.Never(t, quietWindow, "the session reconnected after a fatal outcome", func() (bool, string) {
		if c, _ := e.deviceConnected(t, jid); c {
			return true, "the simulator sees the device connected"
		}
		s := e.api.Session(t, id)
		return s.Status != st, apitest.Describe(s)
	})
}

// sessionOf decodes the session of a session.status event of session id.
func sessionOf(ev core.Event, id string) (core.Session, bool) {
	var s core.Session
	if ev.Type != core.EventSessionStatus || ev.SessionID != id || json.Unmarshal(ev.Data, &s) != nil {
		return core.Session{}, false
	}
	return s, true
}

// wantLastError checks the code of a session's lastError.
func wantLastError(t *testing.T, s core.Session, code string) {
	t.Helper()
	if s.LastError == nil || s.LastError.Code != code || s.LastError.Message == "" || s.LastError.At.IsZero() {
		t.Errorf("session %s: want lastError %s with a message and a time", apitest.Describe(s), code)
	}
}
