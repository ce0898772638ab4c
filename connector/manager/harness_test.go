package manager_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store/sqlstore"

	"github.com/wagate/wagate/connector/manager"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/simtest"
)

const (
	tenant  = "acme"
	waitFor = 45 * time.Second // generous: the race detector slows the crypto down
)

func TestMain(m *testing.M) {
	whatsmeow.WACertPubKey = simtest.RootKey()
	wa.ConfigureDeviceProps()
	// Keepalives every second, so a stalled socket is noticed within seconds.
	whatsmeow.KeepAliveIntervalMin = time.Second
	whatsmeow.KeepAliveIntervalMax = 1500 * time.Millisecond
	whatsmeow.KeepAliveResponseDeadline = time.Second
	os.Exit(m.Run())
}

// harness is one simulator, one state store, one bus and one whatsmeow key store;
// managers come and go on top of them as connectors would.
type harness struct {
	t       testing.TB
	sim     *simtest.Sim
	state   *memstate.State
	bus     *membus.Bus
	devPath string
	devices *sqlstore.Container
	log     *slog.Logger

	evMu   sync.Mutex
	events []core.Event
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		sim:     simtest.Start(t),
		state:   memstate.New(),
		bus:     membus.New(nil),
		devPath: filepath.Join(t.TempDir(), "whatsmeow.db"),
		log:     testLogger(t),
	}
	h.devices = h.openDevices()
	t.Cleanup(func() { _ = h.bus.Close() })
	ch, cancel := h.bus.SubscribeEvents("", 10000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			h.evMu.Lock()
			h.events = append(h.events, e)
			h.evMu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// testLogger writes the connector's logs to the test log when WAGATE_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("WAGATE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (h *harness) openDevices() *sqlstore.Container {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := wa.OpenStore(ctx, h.devPath, h.log)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (h *harness) config(id string) manager.Config {
	cfg := manager.DefaultConfig()
	cfg.ConnectorID = id
	cfg.LeaseDuration = 3 * time.Second
	cfg.LeaseWait = 10 * time.Second
	cfg.HeartbeatInterval = 200 * time.Millisecond
	cfg.RestoreJitter = 50 * time.Millisecond
	cfg.ShutdownTimeout = 15 * time.Second
	cfg.Session.SendInterval = 20 * time.Millisecond
	cfg.Session.SendTimeout = 20 * time.Second
	cfg.Session.ConnectTimeout = 15 * time.Second
	cfg.Session.CallTimeout = 15 * time.Second
	cfg.Session.KeepAliveFailures = 2
	return cfg
}

// connector is one running Manager with its command consumer.
type connector struct {
	mgr    *manager.Manager
	cancel context.CancelFunc
	done   chan error
}

// start runs a Manager (and a consumer of the bus) until stop or the test's end.
func (h *harness) start(cfg manager.Config, leases core.LeaseStore) *connector {
	h.t.Helper()
	return h.run(cfg, leases, true)
}

// startIdle runs a Manager that takes no commands: it only restores sessions.
func (h *harness) startIdle(cfg manager.Config, leases core.LeaseStore) *connector {
	h.t.Helper()
	return h.run(cfg, leases, false)
}

func (h *harness) run(cfg manager.Config, leases core.LeaseStore, consume bool) *connector {
	h.t.Helper()
	if leases == nil {
		leases = h.state
	}
	mgr, err := manager.New(cfg, manager.Deps{
		State: h.state, Leases: leases, Events: h.bus, Devices: h.devices,
		HTTPClient: func(core.Settings) (*http.Client, error) { return simtest.HTTPClient(h.sim.Addr), nil },
		Diagnose: func(context.Context) core.Report {
			return core.Report{ID: core.NewID(), OK: true, Checks: []core.Check{{Kind: core.CheckTCP4, Target: h.sim.Addr, Outcome: core.OutcomeOK}}}
		},
		Log: h.log,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &connector{mgr: mgr, cancel: cancel, done: make(chan error, 1)}
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		if consume {
			_ = h.bus.ConsumeCommands(ctx, mgr.HandleCommand)
		}
	}()
	go func() { c.done <- mgr.Run(ctx); <-consumed }()
	h.t.Cleanup(func() { h.stop(c) })
	return c
}

// stop shuts the connector down as SIGTERM would and checks it finished in time.
func (h *harness) stop(c *connector) {
	h.t.Helper()
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.cancel = nil
	select {
	case err := <-c.done:
		if err != nil {
			h.t.Errorf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Error("shutdown did not finish within 30s")
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	t.Cleanup(cancel)
	return ctx
}

// createSession stores a new session as the API would.
func (h *harness) createSession(id string) core.SessionKey {
	h.t.Helper()
	now := time.Now().UTC()
	s := core.Session{ID: id, Tenant: tenant, Status: core.StatusNew, Settings: core.DefaultSettings(), CreatedAt: now, UpdatedAt: now}
	if err := h.state.CreateSession(ctxT(h.t), s); err != nil {
		h.t.Fatal(err)
	}
	return s.Key()
}

// command puts a command on the bus as the API would and returns it.
func (h *harness) command(typ core.CommandType, key core.SessionKey, payload any) core.Command {
	h.t.Helper()
	c, err := core.NewCommand(typ, key, time.Now(), payload)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.bus.SendCommand(ctxT(h.t), c); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// eventually polls cond every 20 ms until it returns "" (done) or waitFor passes.
func eventually(t testing.TB, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

// waitSession waits until the stored session satisfies pred.
func (h *harness) waitSession(key core.SessionKey, what string, pred func(core.Session) bool) core.Session {
	h.t.Helper()
	var s core.Session
	eventually(h.t, what, func() string {
		var err error
		if s, err = h.state.GetSession(ctxT(h.t), key); err != nil {
			return err.Error()
		}
		if !pred(s) {
			return describe(s)
		}
		return ""
	})
	return s
}

func (h *harness) waitStatus(key core.SessionKey, st core.Status) core.Session {
	h.t.Helper()
	return h.waitSession(key, "status "+string(st), func(s core.Session) bool { return s.Status == st })
}

func describe(s core.Session) string {
	out := fmt.Sprintf("status=%s jid=%q desired=%v", s.Status, s.JID, s.Desired)
	if s.LastError != nil {
		out += fmt.Sprintf(" lastError=%s (%s)", s.LastError.Code, s.LastError.Message)
	}
	return out
}

// eventsOf returns the events seen so far of one type for one session.
func (h *harness) eventsOf(key core.SessionKey, typ core.EventType) []core.Event {
	h.evMu.Lock()
	defer h.evMu.Unlock()
	var out []core.Event
	for _, e := range h.events {
		if e.Type == typ && e.Tenant == key.Tenant && e.SessionID == key.ID {
			out = append(out, e)
		}
	}
	return out
}

// phone creates a fake phone.
func (h *harness) phone(number, name string) server.PhoneInfo {
	h.t.Helper()
	p, err := h.sim.Control.CreatePhone(ctxT(h.t), number, name)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// link connects a new session and scans its QR with the phone; it returns the
// connected session.
func (h *harness) link(id string, p server.PhoneInfo) core.Session {
	h.t.Helper()
	key := h.createSession(id)
	h.command(core.CmdConnect, key, nil)
	qr := h.waitQR(key)
	if _, err := h.sim.Control.Scan(ctxT(h.t), p.Phone, qr.Code); err != nil {
		h.t.Fatalf("scan: %v", err)
	}
	return h.waitStatus(key, core.StatusConnected)
}

// waitQR waits for status qr and returns the stored code.
func (h *harness) waitQR(key core.SessionKey) core.QR {
	h.t.Helper()
	h.waitStatus(key, core.StatusQR)
	var qr core.QR
	eventually(h.t, "a stored QR code", func() string {
		var err error
		if qr, err = h.state.GetQR(ctxT(h.t), key); err != nil {
			return err.Error()
		}
		return ""
	})
	return qr
}

// device returns the simulator's view of the device with that JID.
func (h *harness) device(jid string) (server.DeviceInfo, bool) {
	h.t.Helper()
	devs, err := h.sim.Control.Devices(ctxT(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, d := range devs {
		if d.JID == jid {
			return d, true
		}
	}
	return server.DeviceInfo{}, false
}

// userOf strips the device part of a JID ("1555:3@s.whatsapp.net" → "1555@s.whatsapp.net").
func userOf(jid string) string {
	user, server, _ := strings.Cut(jid, "@")
	user, _, _ = strings.Cut(user, ":")
	return user + "@" + server
}
