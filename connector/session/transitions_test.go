package session

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
)

const testJID = "15550001111:3@s.whatsapp.net"

var testKey = core.SessionKey{Tenant: "acme", ID: "main"}

// noDevices is a key store with no saved device.
type noDevices struct{}

func (noDevices) NewDevice() *store.Device { return &store.Device{} }
func (noDevices) GetDevice(context.Context, types.JID) (*store.Device, error) {
	return nil, nil
}

// eventLog records published events.
type eventLog struct {
	mu     sync.Mutex
	events []core.Event
}

func (l *eventLog) PublishEvent(_ context.Context, e core.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return nil
}

// connectedSupervisor returns a supervisor (its loop not running) whose session is
// connected through a client of generation 1, as if it had logged in.
func connectedSupervisor(t *testing.T) (*Supervisor, *memstate.State, *eventLog) {
	t.Helper()
	ctx := context.Background()
	state := memstate.New()
	now := time.Now().UTC()
	err := state.CreateSession(ctx, core.Session{ID: testKey.ID, Tenant: testKey.Tenant, Status: core.StatusConnected,
		JID: testJID, Desired: true, Settings: core.DefaultSettings(), ConnectedAt: &now, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	s, err := newSupervisor(ctx, testKey, 1, DefaultConfig(), Deps{
		Sessions: state, QR: state, Messages: state, Events: events, Devices: noDevices{},
		HTTPClient: func(core.Settings) (*http.Client, error) { return nil, errors.New("no network in unit tests") },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.mailbox.running = true // the test drives the loop: nothing posted runs by itself
	returned := make(chan struct{})
	close(returned)
	s.cli = whatsmeow.NewClient(&store.Device{}, nil)
	s.gen, s.connectReturned, s.cancelAttempt = 1, returned, func() {}
	t.Cleanup(func() {
		s.reconnect.stop()
		s.connectTO.stop()
		s.teardowns.Wait()
		s.cancel()
	})
	return s, state, events
}

func TestConnectionEventsDriveTheStatus(t *testing.T) {
	tests := []struct {
		name      string
		evt       any
		gen       uint64 // 0: the current client
		status    core.Status
		code      string // "" for no lastError
		reconnect bool   // a reconnect is scheduled
		desired   bool
		linked    bool // the JID is kept
	}{
		{"disconnected_reconnects", &events.Disconnected{}, 0, core.StatusReconnecting, CodeDisconnected, true, true, true},
		{"keepalive_miss_below_threshold_changes_nothing", &events.KeepAliveTimeout{ErrorCount: 1}, 0, core.StatusConnected, "", false, true, true},
		{"keepalive_timeout_reconnects", &events.KeepAliveTimeout{ErrorCount: 3}, 0, core.StatusReconnecting, CodeKeepAliveTimeout, true, true, true},
		{"stream_error_reconnects", &events.StreamError{Code: "516"}, 0, core.StatusReconnecting, CodeStreamError, true, true, true},
		{"logged_out_forgets_the_link", &events.LoggedOut{}, 0, core.StatusLoggedOut, CodeLoggedOut, false, false, false},
		{"replaced_never_reconnects", &events.StreamReplaced{}, 0, core.StatusReplaced, CodeReplaced, false, false, true},
		{"outdated_stays_desired_without_reconnect", &events.ClientOutdated{}, 0, core.StatusOutdated, CodeOutdated, false, true, true},
		{"ban_reconnects_after_expiry", &events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Minute}, 0, core.StatusBanned, CodeBanned, true, true, true},
		{"unknown_failure_fails", &events.ConnectFailure{Reason: 409}, 0, core.StatusFailed, CodeConnectFailure, false, false, true},
		{"stale_client_event_ignored", &events.Disconnected{}, 7, core.StatusConnected, "", false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, state, events := connectedSupervisor(t)
			gen := s.gen
			if tt.gen != 0 {
				gen = tt.gen
			}
			before := time.Now()
			s.handleConnEvent(gen, tt.evt)
			got, err := state.GetSession(context.Background(), testKey)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status {
				t.Fatalf("status %s, want %s (%s)", got.Status, tt.status, errCode(got))
			}
			if errCode(got) != tt.code {
				t.Errorf("lastError %q, want %q", errCode(got), tt.code)
			}
			if armed := s.reconnect.armed(); armed != tt.reconnect {
				t.Errorf("reconnect scheduled = %v, want %v", armed, tt.reconnect)
			}
			if got.Desired != tt.desired || (got.JID == testJID) != tt.linked {
				t.Errorf("desired=%v jid=%q; want desired=%v linked=%v", got.Desired, got.JID, tt.desired, tt.linked)
			}
			if got.Fence != 1 && tt.code != "" {
				t.Errorf("fence %d written, want 1", got.Fence)
			}
			if tt.status == core.StatusBanned {
				if got.RetryAt == nil || got.RetryAt.Before(before.Add(time.Minute)) || got.RetryAt.After(time.Now().Add(time.Minute+2*time.Second)) {
					t.Errorf("retryAt %v, want just after now+1m", got.RetryAt)
				}
			}
			if changed := tt.code != ""; changed != (len(events.events) > 0) {
				t.Errorf("%d session.status events published", len(events.events))
			}
			if tt.code != "" && s.cli != nil {
				t.Error("the client was kept after the connection ended")
			}
		})
	}
}

func TestLateFatalEventOfThePreviousClientStillCounts(t *testing.T) {
	s, state, _ := connectedSupervisor(t)
	old := s.gen
	s.handleConnEvent(old, &events.Disconnected{}) // reconnecting; the client is dropped
	s.handleConnEvent(old, &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureLoggedOut})
	got, _ := state.GetSession(context.Background(), testKey)
	if got.Status != core.StatusLoggedOut || s.reconnect.armed() {
		t.Errorf("status %s, reconnect armed %v; want logged_out and no reconnect", got.Status, s.reconnect.armed())
	}
}

func TestQRTimeoutStopsWithoutReconnecting(t *testing.T) {
	s, state, _ := connectedSupervisor(t)
	ctx := context.Background()
	s.sess.JID = ""
	s.onQR(whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@ref,a,b,c", Timeout: 60 * time.Second})
	qr, err := state.GetQR(ctx, testKey)
	if err != nil || qr.Code != "2@ref,a,b,c" || time.Until(qr.ExpiresAt) < 59*time.Second {
		t.Fatalf("stored QR %+v, %v; want the code valid for 60s", qr, err)
	}
	if got, _ := state.GetSession(ctx, testKey); got.Status != core.StatusQR {
		t.Fatalf("status %s, want qr", got.Status)
	}

	// The channel times out early: the socket dropped, so this is transient.
	s.onQR(whatsmeow.QRChannelTimeout)
	if got, _ := state.GetSession(ctx, testKey); got.Status != core.StatusReconnecting || !s.reconnect.armed() {
		t.Fatalf("early QR timeout: status %s, reconnect %v; want reconnecting", got.Status, s.reconnect.armed())
	}

	// The codes ran out: nobody scanned.
	s.reconnect.stop()
	s.cli = whatsmeow.NewClient(&store.Device{}, nil)
	returned := make(chan struct{})
	close(returned)
	s.connectReturned, s.cancelAttempt = returned, func() {}
	s.qrUntil = time.Now().Add(-time.Second)
	s.onQR(whatsmeow.QRChannelTimeout)
	got, _ := state.GetSession(ctx, testKey)
	if got.Status != core.StatusDisconnected || errCode(got) != CodeQRTimeout || got.Desired || s.reconnect.armed() {
		t.Errorf("after the codes ran out: status %s lastError %q desired %v reconnect %v; want disconnected, qr_timeout, not desired, no reconnect",
			got.Status, errCode(got), got.Desired, s.reconnect.armed())
	}
	if _, err := state.GetQR(ctx, testKey); !core.IsCode(err, core.CodeNotFound) {
		t.Errorf("QR kept after timeout: %v", err)
	}
}

func TestWriteRefusedByNewerFenceReportsTheLoss(t *testing.T) {
	s, state, _ := connectedSupervisor(t)
	ctx := context.Background()
	lost := 0
	s.deps.OnFenceLost = func() { lost++ }
	// Another connector took the lease and wrote with fence 2.
	if _, err := state.UpdateSession(ctx, testKey, func(x *core.Session) error { x.Fence = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	s.handleConnEvent(s.gen, &events.Disconnected{})
	got, _ := state.GetSession(ctx, testKey)
	if got.Status != core.StatusConnected || lost != 1 {
		t.Errorf("status %s, fence losses %d; want the newer holder's status kept and one loss reported", got.Status, lost)
	}
}

func errCode(s core.Session) string {
	if s.LastError == nil {
		return ""
	}
	return s.LastError.Code
}
