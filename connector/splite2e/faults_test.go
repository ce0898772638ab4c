//go:build unix

package splite2e

import (
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

// TestSplitFaultsGiveTheDocumentedStatus injects each simulator fault on a session
// linked through the split deployment and checks what an admin sees through the API
// and the webhook: fatal outcomes never reconnect (replaced, logged out, outdated), a
// ban waits for retryAt, and transient ones reconnect on their own.
func TestSplitFaultsGiveTheDocumentedStatus(t *testing.T) {
	s := newStack(t, false)
	s.startConnector(t, "conn-a")
	tests := []struct {
		name  string
		fault server.Fault
		// check runs after the fault was injected; from marks the webhook's deliveries.
		check func(t *testing.T, id, jid, hook string, from int)
	}{
		{
			name:  "stream_replaced",
			fault: server.Fault{Kind: server.FaultStreamReplaced},
			check: func(t *testing.T, id, jid, hook string, from int) {
				st := s.api.waitStatus(t, id, core.StatusReplaced, linkTimeout)
				wantLastError(t, st, "stream_replaced")
				s.staysDisconnected(t, id, jid, core.StatusReplaced)
			},
		},
		{
			name:  "device_removed",
			fault: server.Fault{Kind: server.FaultDeviceRemoved},
			check: func(t *testing.T, id, jid, hook string, from int) {
				st := s.api.waitStatus(t, id, core.StatusLoggedOut, linkTimeout)
				wantLastError(t, st, "logged_out")
				if st.JID != "" {
					t.Errorf("a logged out session keeps jid %q", st.JID)
				}
				s.staysDisconnected(t, id, jid, core.StatusLoggedOut)
				// The link is gone: connecting again asks for a new QR code.
				s.api.MustJSON(t, "POST", "/v1/sessions/"+id+"/connect", nil, 202, nil)
				s.api.waitStatus(t, id, core.StatusQR, linkTimeout)
			},
		},
		{
			name:  "client_outdated",
			fault: server.Fault{Kind: server.FaultClientOutdated},
			check: func(t *testing.T, id, jid, hook string, from int) {
				st := s.api.waitStatus(t, id, core.StatusOutdated, linkTimeout)
				wantLastError(t, st, "client_outdated")
				s.staysDisconnected(t, id, jid, core.StatusOutdated)
			},
		},
		{
			name:  "temp_ban",
			fault: server.Fault{Kind: server.FaultTempBan, Seconds: 4},
			check: func(t *testing.T, id, jid, hook string, from int) {
				injected := time.Now()
				st := s.api.waitStatus(t, id, core.StatusBanned, linkTimeout)
				wantLastError(t, st, "temporary_ban")
				if st.RetryAt == nil || st.RetryAt.Before(injected) || st.RetryAt.After(injected.Add(10*time.Second)) {
					t.Fatalf("banned session: retryAt %v, want within the 4 s ban", st.RetryAt)
				}
				if wait := time.Until(*st.RetryAt) - 500*time.Millisecond; wait > 0 {
					apitest.Never(t, wait, "the banned session reconnected before retryAt", func() (bool, string) {
						c, _ := s.deviceConnected(t, jid)
						return c, "device connected"
					})
				}
				st = s.api.waitStatus(t, id, core.StatusConnected, linkTimeout)
				if st.RetryAt != nil || st.LastError != nil {
					t.Errorf("reconnected after the ban: %s, want retryAt and lastError cleared", apitest.Describe(st))
				}
			},
		},
		{
			name:  "service_unavailable",
			fault: server.Fault{Kind: server.FaultServiceUnavailable, Seconds: 3},
			check: func(t *testing.T, id, jid, hook string, from int) {
				injected := time.Now()
				// whatsmeow reports a 503 login answer as a plain disconnect.
				d := s.hook.waitFor(t, hook, from, "reconnecting after 503", func(e core.Event) bool {
					st, ok := sessionOf(e, id)
					return ok && st.Status == core.StatusReconnecting && st.LastError != nil &&
						(st.LastError.Code == "server_error" || st.LastError.Code == "disconnected")
				})
				s.hook.waitFor(t, hook, indexOf(s.hook.at(hook), d), "connected once the 503s stop", sessionStatus(id, core.StatusConnected))
				if took := time.Since(injected); took < 2*time.Second {
					t.Errorf("connected again %s after the fault, while logins were refused for 3 s", took)
				}
			},
		},
		{
			name:  "drop",
			fault: server.Fault{Kind: server.FaultDrop},
			check: func(t *testing.T, id, jid, hook string, from int) {
				s.hook.waitFor(t, hook, from, "reconnecting after the drop", func(e core.Event) bool {
					st, ok := sessionOf(e, id)
					return ok && st.Status == core.StatusReconnecting && st.LastError != nil && st.LastError.Code == "disconnected"
				})
				s.api.waitStatus(t, id, core.StatusConnected, linkTimeout)
				apitest.Eventually(t, linkTimeout, "the device to be connected again", func() (bool, string) {
					c, _ := s.deviceConnected(t, jid)
					return c, "not connected"
				})
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			phone := s.phone(t, fmt.Sprintf("1555000%04d", 3000+i), "Phone "+tt.name)
			id, hook := "fault-"+tt.name, "ok/fault-"+tt.name
			linked := s.link(t, id, phone, s.hook.url(hook))
			s.hook.waitFor(t, hook, 0, "session.status connected", sessionStatus(id, core.StatusConnected))
			from := len(s.hook.at(hook))
			if err := s.sim.Control.Fault(ctx(t), linked.JID, tt.fault); err != nil {
				t.Fatalf("inject %s: %v", tt.fault.Kind, err)
			}
			tt.check(t, id, linked.JID, hook, from)
			s.hook.checkEachOnce(t, hook)
		})
	}
}

// staysDisconnected checks for quietWindow that the session keeps status st and
// the simulator sees no connection of its device.
func (s *stack) staysDisconnected(t *testing.T, id, jid string, st core.Status) {
	t.Helper()
	// The fatal status is recorded as soon as the client reads the server's error;
	// the socket closes a moment later. Wait for that, then watch for a reconnect.
	apitest.Eventually(t, quietWindow, "the simulator to see the device disconnected", func() (bool, string) {
		c, _ := s.deviceConnected(t, jid)
		return !c, "still connected"
	})
	apitest.Never(t, quietWindow, "the session reconnected after a fatal outcome", func() (bool, string) {
		if c, _ := s.deviceConnected(t, jid); c {
			return true, "the simulator sees the device connected"
		}
		got := s.api.Session(t, id)
		return got.Status != st, apitest.Describe(got)
	})
}

// wantLastError checks the code of a session's lastError.
func wantLastError(t *testing.T, s core.Session, code string) {
	t.Helper()
	if s.LastError == nil || s.LastError.Code != code || s.LastError.Message == "" || s.LastError.At.IsZero() {
		t.Errorf("session %s: want lastError %s with a message and a time", apitest.Describe(s), code)
	}
}

// indexOf returns the position of d among ds (by event id), or len(ds).
func indexOf(ds []delivery, d delivery) int {
	for i, x := range ds {
		if x.event.ID == d.event.ID {
			return i
		}
	}
	return len(ds)
}
