package manager_test

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/connector/session"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/wasim/server"
)

// noReconnectWindow is how long a test watches that a stopped session stays
// stopped: well past the first backoff delays (1 s, 2 s with jitter).
const noReconnectWindow = 4 * time.Second

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		fault  server.Fault
		status core.Status // where the session settles
		code   string      // its lastError code
		// recovers: the session goes through reconnecting and comes back connected.
		recovers bool
		wiped    bool // the link is gone (keys and JID)
	}{
		{"stream_replaced_never_fights", server.Fault{Kind: server.FaultStreamReplaced}, core.StatusReplaced, session.CodeReplaced, false, false},
		{"device_removed_logs_out", server.Fault{Kind: server.FaultDeviceRemoved}, core.StatusLoggedOut, session.CodeLoggedOut, false, true},
		{"client_outdated_stops", server.Fault{Kind: server.FaultClientOutdated}, core.StatusOutdated, session.CodeOutdated, false, false},
		{"service_unavailable_recovers", server.Fault{Kind: server.FaultServiceUnavailable, Seconds: 2}, core.StatusConnected, "", true, false},
		{"drop_recovers", server.Fault{Kind: server.FaultDrop}, core.StatusConnected, "", true, false},
		{"stall_recovers_after_keepalives", server.Fault{Kind: server.FaultStall, Seconds: 30}, core.StatusConnected, "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.start(h.config("c1"), nil)
			alice := h.phone("15550001111", "Alice")
			linked := h.link("main", alice)
			key := linked.Key()
			mark := len(h.eventsOf(key, core.EventSessionStatus))

			if err := h.sim.Control.Fault(ctxT(t), linked.JID, tt.fault); err != nil {
				t.Fatalf("inject %s: %v", tt.fault.Kind, err)
			}
			if tt.recovers {
				h.waitSession(key, "reconnecting", func(s core.Session) bool {
					return s.Status == core.StatusReconnecting || h.sawStatus(key, mark, core.StatusReconnecting)
				})
				s := h.waitStatus(key, core.StatusConnected)
				if s.JID != linked.JID || s.LastError != nil {
					t.Errorf("after recovery: %s", describe(s))
				}
				return
			}
			s := h.waitStatus(key, tt.status)
			if s.LastError == nil || s.LastError.Code != tt.code {
				t.Fatalf("after %s: %s; want lastError %s", tt.fault.Kind, describe(s), tt.code)
			}
			if tt.wiped != (s.JID == "") {
				t.Errorf("after %s: jid %q, wiped want %v", tt.fault.Kind, s.JID, tt.wiped)
			}
			if tt.wiped {
				jid, _ := types.ParseJID(linked.JID)
				if dev, err := h.devices.GetDevice(ctxT(t), jid); err != nil || dev != nil {
					t.Errorf("key store still has the device: %v, %v", dev, err)
				}
			}
			// The simulator closes the socket just after the error; then the session
			// never reconnects on its own.
			eventually(t, "the device offline", func() string {
				if d, _ := h.device(linked.JID); d.Connected {
					return "connected"
				}
				return ""
			})
			deadline := time.Now().Add(noReconnectWindow)
			for time.Now().Before(deadline) {
				if d, _ := h.device(linked.JID); d.Connected {
					t.Fatalf("the device reconnected after %s", tt.fault.Kind)
				}
				if got, _ := h.state.GetSession(ctxT(t), key); got.Status != tt.status {
					t.Fatalf("status moved on to %s after %s", got.Status, tt.fault.Kind)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

func TestTemporaryBanWaitsForItsExpiry(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	linked := h.link("main", alice)
	key := linked.Key()

	const banFor = 8 * time.Second
	injected := time.Now()
	if err := h.sim.Control.Fault(ctxT(t), linked.JID, server.Fault{Kind: server.FaultTempBan, Seconds: int(banFor / time.Second)}); err != nil {
		t.Fatal(err)
	}
	s := h.waitStatus(key, core.StatusBanned)
	if s.LastError == nil || s.LastError.Code != session.CodeBanned || s.RetryAt == nil {
		t.Fatalf("banned session: %s retryAt=%v", describe(s), s.RetryAt)
	}
	banEnd := injected.Add(banFor)
	if d := s.RetryAt.Sub(banEnd); d < -2*time.Second || d > 3*time.Second {
		t.Errorf("retryAt is %v off the ban's end", d)
	}
	// No connect before retryAt.
	for time.Now().Before(s.RetryAt.Add(-500 * time.Millisecond)) {
		if d, _ := h.device(linked.JID); d.Connected {
			t.Fatalf("connected %v before retryAt", time.Until(*s.RetryAt))
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := h.waitStatus(key, core.StatusConnected)
	if got.ConnectedAt == nil || got.ConnectedAt.Before(*s.RetryAt) {
		t.Errorf("connected at %v, before retryAt %v", got.ConnectedAt, s.RetryAt)
	}
}

// sawStatus reports whether a session.status event with st was published after mark.
func (h *harness) sawStatus(key core.SessionKey, mark int, st core.Status) bool {
	evs := h.eventsOf(key, core.EventSessionStatus)
	for _, e := range evs[min(mark, len(evs)):] {
		var s core.Session
		mustJSON(h.t, e.Data, &s)
		if s.Status == st {
			return true
		}
	}
	return false
}
