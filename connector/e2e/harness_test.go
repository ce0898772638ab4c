package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/wasim/simtest"
)

// Timeouts of the polls: generous, so a loaded machine never fails a test that
// works; they bound how long a broken build takes to fail.
const (
	linkTimeout  = 45 * time.Second
	eventTimeout = 30 * time.Second
)

func TestMain(m *testing.M) {
	// whatsmeow's process-wide settings, once, as main does.
	whatsmeow.WACertPubKey = simtest.RootKey()
	wa.ConfigureDeviceProps()
	if os.Getenv(childKindEnv) != "" {
		os.Exit(runMemChildMain()) // a memory benchmark's child process
	}
	os.Exit(m.Run())
}

// env is one wagate process started through app.Main, with the simulator it dials.
type env struct {
	t    testing.TB
	sim  *simtest.Sim
	cfg  app.Config
	main *app.Main
	api  *client
	logs *syncBuffer
}

// option changes the configuration of a test's wagate.
type option func(*app.Config)

// start runs a simulator and a wagate on 127.0.0.1:0 with a fresh data folder. The
// logs are shown if the test fails.
func start(t testing.TB, opts ...option) *env {
	t.Helper()
	sim := simtest.Start(t)
	cfg := app.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.WADial = sim.Addr
	cfg.SendInterval = 0
	cfg.LogLevel = "debug"
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{t: t, sim: sim, cfg: cfg, logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("wagate logs:\n%s", e.logs.String())
		}
	})
	e.run()
	return e
}

// run starts a Main on the env's configuration and data folder.
func (e *env) run() {
	e.t.Helper()
	m := app.NewMain()
	m.Config = e.cfg
	level := slog.LevelDebug
	if e.cfg.LogLevel == "warn" {
		level = slog.LevelWarn // benchmarks: keep the logs out of the measurements
	}
	m.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		e.t.Fatalf("start wagate: %v", err)
	}
	e.main = m
	e.t.Cleanup(func() {
		if err := m.Close(); err != nil {
			e.t.Errorf("close wagate: %v", err)
		}
	})
	token := m.Token()
	if token == "" {
		// WAGATE_TOKENS is set: use its first token.
		token, _, _ = strings.Cut(strings.Split(e.cfg.Tokens, ",")[0], "=")
	}
	e.api = newClient(m.URL(), token)
}

// restart stops the process and starts a new one on the same data folder.
func (e *env) restart() {
	e.t.Helper()
	if err := e.main.Close(); err != nil {
		e.t.Fatalf("close wagate: %v", err)
	}
	e.run()
}

// ctx returns a context for one control call of the simulator.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// phone creates a simulator phone and returns its number.
func (e *env) phone(t testing.TB, number, name string) string {
	t.Helper()
	if _, err := e.sim.Control.CreatePhone(ctx(t), number, name); err != nil {
		t.Fatalf("create phone %s: %v", number, err)
	}
	return number
}

// createSession creates a session with default settings.
func (e *env) createSession(t testing.TB, id string) core.Session {
	t.Helper()
	var s core.Session
	e.api.MustJSON(t, "PUT", "/v1/sessions/"+id, map[string]any{"displayName": "Desk " + id}, 201, &s)
	return s
}

// waitStatus polls the session until its status is want, failing the test if
// it does not get there within timeout.
func (e *env) waitStatus(t testing.TB, id string, want core.Status, timeout time.Duration) core.Session {
	t.Helper()
	var s core.Session
	apitest.Eventually(t, timeout, fmt.Sprintf("session %s to be %s", id, want), func() (bool, string) {
		s = e.api.Session(t, id)
		return s.Status == want, apitest.Describe(s)
	})
	return s
}

// qrCode waits for the session's QR code and returns it.
func (e *env) qrCode(t testing.TB, id string) string {
	t.Helper()
	var qr core.QR
	apitest.Eventually(t, linkTimeout, "a QR code for "+id, func() (bool, string) {
		r := e.api.Do(t, "GET", "/v1/sessions/"+id+"/qr", nil, "Accept", "application/json")
		if r.Status != 200 {
			return false, r.String()
		}
		r.Decode(t, &qr)
		return qr.Code != "", r.String()
	})
	return qr.Code
}

// link creates a session, connects it and scans its QR code with phone; it returns
// the connected session.
func (e *env) link(t testing.TB, id, phone string) core.Session {
	t.Helper()
	e.createSession(t, id)
	e.api.MustJSON(t, "POST", "/v1/sessions/"+id+"/connect", nil, 202, nil)
	code := e.qrCode(t, id)
	if _, err := e.sim.Control.Scan(ctx(t), phone, code); err != nil {
		t.Fatalf("phone %s scans the QR of %s: %v", phone, id, err)
	}
	return e.waitStatus(t, id, core.StatusConnected, linkTimeout)
}

// deviceConnected reports whether the simulator has a live connection for jid.
func (e *env) deviceConnected(t testing.TB, jid string) (connected, exists bool) {
	t.Helper()
	devs, err := e.sim.Control.Devices(ctx(t))
	if err != nil {
		t.Fatalf("list simulator devices: %v", err)
	}
	for _, d := range devs {
		if d.JID == jid {
			return d.Connected, true
		}
	}
	return false, false
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (the process's logs).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
