package manager_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/manager"
	"github.com/wagate/wagate/core"
)

func TestConfigValidateListsEveryProblem(t *testing.T) {
	if err := manager.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cfg := manager.Config{RestoreJitter: -1}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("zero config accepted")
	}
	for _, want := range []string{"connector id", "lease duration", "lease wait", "heartbeat", "restore concurrency", "restore jitter", "shutdown", "send queue"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := manager.New(manager.DefaultConfig(), manager.Deps{}); err == nil || !strings.Contains(err.Error(), "state") {
		t.Errorf("New without dependencies = %v, want an error naming them", err)
	}
}

func TestHeartbeatsReportTheHeldSessions(t *testing.T) {
	h := newHarness(t)
	cfg := h.config("c1")
	cfg.Version = "1.2.3"
	h.start(cfg, nil)
	alice := h.phone("15550001111", "Alice")
	h.link("main", alice)
	eventually(t, "a heartbeat with one session", func() string {
		hbs, err := h.state.ListHeartbeats(ctxT(t), time.Now().Add(-time.Second))
		if err != nil {
			return err.Error()
		}
		for _, hb := range hbs {
			if hb.ConnectorID == "c1" && hb.Version == "1.2.3" && hb.Sessions == 1 && !hb.StartedAt.IsZero() {
				return ""
			}
		}
		return "none yet"
	})
}

func TestDiagnosticsCommandStoresReportAndResult(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	cmd := h.command(core.CmdDiagnostics, core.SessionKey{Tenant: tenant}, nil)
	var res core.CommandResult
	eventually(t, "the diagnostics result", func() string {
		var err error
		if res, err = h.state.GetResult(ctxT(t), tenant, cmd.ID); err != nil {
			return err.Error()
		}
		return ""
	})
	var r core.Report
	if err := json.Unmarshal(res.Data, &r); err != nil || res.Error != nil || !r.OK || r.Connector != "c1" || r.Reason != "request" {
		t.Fatalf("result %+v (%v)", res, err)
	}
	latest, err := h.state.LatestReport(ctxT(t))
	if err != nil || latest.ID != r.ID {
		t.Errorf("latest report %+v, %v; want the one in the result", latest, err)
	}
}

func TestRestoreBringsBackDesiredSessionsWithBoundedConcurrency(t *testing.T) {
	h := newHarness(t)
	first := h.start(h.config("c1"), nil)
	phones := []string{"15550001111", "15550002222", "15550003333"}
	linked := map[core.SessionKey]string{}
	for i, number := range phones {
		s := h.link("s"+number[len(number)-1:], h.phone(number, "Phone"+string(rune('A'+i))))
		linked[s.Key()] = s.JID
	}
	// A session the user disconnected stays down.
	off := h.link("off", h.phone("15550004444", "Dora"))
	h.command(core.CmdDisconnect, off.Key(), nil)
	h.waitStatus(off.Key(), core.StatusDisconnected)
	h.stop(first)

	h.devices = h.openDevices()
	h.evMu.Lock()
	mark := len(h.events)
	h.evMu.Unlock()
	cfg := h.config("c2")
	cfg.RestoreConcurrency = 1
	second := h.start(cfg, nil)
	for key, jid := range linked {
		s := h.waitStatus(key, core.StatusConnected)
		if s.JID != jid {
			t.Errorf("%s restored as %s, want %s", key, s.JID, jid)
		}
	}
	// With one restore slot, a session starts connecting only once the previous one
	// settled.
	h.evMu.Lock()
	restored := append([]core.Event(nil), h.events[mark:]...)
	h.evMu.Unlock()
	connecting := map[string]bool{}
	for _, e := range restored {
		if e.Type != core.EventSessionStatus {
			continue
		}
		var got core.Session
		mustJSON(t, e.Data, &got)
		if got.Status == core.StatusConnecting {
			connecting[got.ID] = true
		} else {
			delete(connecting, got.ID)
		}
		if len(connecting) > 1 {
			t.Fatalf("sessions %v connecting at once with a restore concurrency of 1", connecting)
		}
	}
	if _, held := second.mgr.Held()[off.Key()]; held {
		t.Error("a disconnected session was restored")
	}
	if s, _ := h.state.GetSession(ctxT(t), off.Key()); s.Status != core.StatusDisconnected {
		t.Errorf("disconnected session is %s after restart", s.Status)
	}
}

func TestShutdownDisconnectsWithinItsBudget(t *testing.T) {
	h := newHarness(t)
	c := h.start(h.config("c1"), nil)
	s := h.link("main", h.phone("15550001111", "Alice"))
	start := time.Now()
	h.stop(c)
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("shutdown took %v, want under 25s", took)
	}
	if d, _ := h.device(s.JID); d.Connected {
		t.Error("the simulator still sees the device connected after shutdown")
	}
	if err := c.mgr.HandleCommand(ctxT(t), mustCommand(t, core.CmdConnect, s.Key())); !core.IsCode(err, core.CodeConnectorUnavailable) {
		t.Errorf("command after shutdown = %v, want connector_unavailable (redelivery)", err)
	}
}

func mustCommand(t *testing.T, typ core.CommandType, key core.SessionKey) core.Command {
	t.Helper()
	c, err := core.NewCommand(typ, key, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSessionsShareAClientOnlyWithTheSameNetworkPath(t *testing.T) {
	clients := manager.HTTPClients("")
	get := func(s core.Settings) *http.Client {
		t.Helper()
		c, err := clients(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	direct := core.Settings{PreferIPv4: true}
	viaProxy := core.Settings{PreferIPv4: true, ProxyURL: "socks5://127.0.0.1:1080"}
	otherProxy := core.Settings{PreferIPv4: true, ProxyURL: "http://127.0.0.1:3128"}
	if get(direct) != get(core.Settings{PreferIPv4: true, DisplayName: "another session"}) {
		t.Error("two sessions with the same network settings got different clients")
	}
	seen := map[*http.Client]string{}
	for name, s := range map[string]core.Settings{
		"direct": direct, "direct, IPv6 allowed": {PreferIPv4: false}, "proxy": viaProxy, "other proxy": otherProxy,
	} {
		c := get(s)
		if other, ok := seen[c]; ok {
			t.Errorf("%s and %s share a client: one's traffic would take the other's path", name, other)
		}
		seen[c] = name
	}
	if _, err := clients(core.Settings{ProxyURL: "ftp://nope"}); err == nil {
		t.Error("an unusable proxy URL was accepted")
	}
}

// TestUnknownCommandIsGivenBackNotDropped: a command of a type this connector does
// not know (sent by a newer API during a deploy) is handed back for redelivery and
// ends in the bus's dead letters, where on-call can see and redrive it; it is never
// acknowledged as done.
func TestUnknownCommandIsGivenBackNotDropped(t *testing.T) {
	h := newHarness(t)
	h.bus.RetryDelay = 10 * time.Millisecond
	c := h.start(h.config("c1"), nil)
	key := core.SessionKey{Tenant: tenant, ID: "desk"}
	cmd, err := core.NewCommand("session.frobnicate", key, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.mgr.HandleCommand(ctxT(t), cmd); err == nil || !strings.Contains(err.Error(), "session.frobnicate") {
		t.Fatalf("HandleCommand(unknown type) = %v, want an error naming the type", err)
	}
	if err := h.bus.SendCommand(ctxT(t), cmd); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unknown command in the dead letters", func() string {
		for _, d := range h.bus.DeadLetters() {
			if d.Command.ID == cmd.ID {
				return ""
			}
		}
		return fmt.Sprintf("%d dead letters", len(h.bus.DeadLetters()))
	})
}
