package session

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
)

// newIdleSupervisor returns a supervisor of a new session whose network settings are
// unusable, so that connecting fails at once without a network.
func newIdleSupervisor(t *testing.T) (*Supervisor, *memstate.State) {
	t.Helper()
	ctx := context.Background()
	state := memstate.New()
	now := time.Now().UTC()
	if err := state.CreateSession(ctx, core.Session{ID: testKey.ID, Tenant: testKey.Tenant, Status: core.StatusNew,
		Settings: core.DefaultSettings(), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, testKey, 1, DefaultConfig(), Deps{
		Sessions: state, QR: state, Messages: state, Events: &eventLog{}, Devices: noDevices{},
		HTTPClient: func(core.Settings) (*http.Client, error) { return nil, errors.New("no network in unit tests") },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, state
}

// waitFor polls cond until it holds or ten seconds passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	apitest.Eventually(t, 10*time.Second, what, func() (bool, string) { return cond(), "not yet" })
}

func TestIdleSupervisorHoldsNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	s, state := newIdleSupervisor(t)
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := state.GetSession(ctx, testKey); got.Status != core.StatusFailed || errCode(got) != CodeNetworkSettings {
		t.Fatalf("after connecting with unusable settings: %s (%s), want failed (%s)", got.Status, errCode(got), CodeNetworkSettings)
	}
	waitFor(t, "the idle supervisor's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })

	// Idle is not stopped: the next request is served.
	if err := s.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := state.GetSession(ctx, testKey); got.Desired {
		t.Error("disconnect after going idle was not applied")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if err := s.Connect(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect after Close = %v, want ErrClosed", err)
	}
	waitFor(t, "the stopped supervisor's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestRequestGivenUpBeforeItsTurnIsNotCarriedOut(t *testing.T) {
	s, state := newIdleSupervisor(t)
	s.mailbox.mu.Lock()
	s.mailbox.running = true // the loop is busy elsewhere: the request waits its turn
	s.mailbox.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Connect(ctx) }()
	waitFor(t, "the request to be queued", func() bool {
		s.mailbox.mu.Lock()
		defer s.mailbox.mu.Unlock()
		return len(s.mailbox.items) == 1
	})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Connect with a cancelled context = %v, want context.Canceled", err)
	}
	s.run() // the loop's turn comes
	if got, _ := state.GetSession(context.Background(), testKey); got.Status != core.StatusNew || got.Desired {
		t.Errorf("session after a request given up on: %s, desired %v; want it untouched", got.Status, got.Desired)
	}
}

func TestStoppedOrResetTimerExpiryIsIgnored(t *testing.T) {
	posted := make(chan any, 4)
	tm := timer{kind: timerReconnect, post: func(e any) bool { posted <- e; return true }}
	tm.set(time.Hour)
	stale := timerFired{kind: timerReconnect, seq: tm.seq}
	tm.set(time.Hour) // set again: the first expiry no longer counts
	if tm.fired(stale) {
		t.Error("the expiry of an earlier setting fired the timer")
	}
	current := timerFired{kind: timerReconnect, seq: tm.seq}
	tm.stop()
	if tm.fired(current) || tm.armed() {
		t.Error("a stopped timer fired or is still armed")
	}
	tm.set(time.Millisecond)
	var e timerFired
	select {
	case got := <-posted:
		e = got.(timerFired)
	case <-time.After(10 * time.Second):
		t.Fatal("the timer did not expire")
	}
	if !tm.fired(e) || tm.armed() {
		t.Error("the expiry of the current setting did not fire the timer once")
	}
	if tm.fired(e) {
		t.Error("one expiry fired the timer twice")
	}
}
