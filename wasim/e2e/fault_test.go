package e2e

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/simtest"
)

// faultSetup starts a simulator with one linked, connected client.
func faultSetup(t *testing.T) (*simtest.Sim, *linked) {
	t.Helper()
	sim := simtest.Start(t)
	createPhone(t, sim, "15550008888", "Heidi")
	l := pairQR(t, sim, "15550008888")
	waitDevice(t, sim, l.jid.String(), func(d deviceView) bool { return d.Connected })
	return sim, l
}

func inject(t *testing.T, sim *simtest.Sim, l *linked, f server.Fault) {
	t.Helper()
	if err := sim.Control.Fault(ctxFor(t), l.jid.String(), f); err != nil {
		t.Fatalf("inject %s: %v", f.Kind, err)
	}
}

func TestFaultStreamReplaced(t *testing.T) {
	sim, l := faultSetup(t)
	mark := l.rec.Mark()
	inject(t, sim, l, server.Fault{Kind: server.FaultStreamReplaced})
	simtest.WaitFor[*events.StreamReplaced](t, l.rec, mark, wait, nil)
	waitDevice(t, sim, l.jid.String(), func(d deviceView) bool { return !d.Connected })
}

func TestFaultDeviceRemoved(t *testing.T) {
	sim, l := faultSetup(t)
	mark := l.rec.Mark()
	inject(t, sim, l, server.Fault{Kind: server.FaultDeviceRemoved})
	lo := simtest.WaitFor[*events.LoggedOut](t, l.rec, mark, wait, nil)
	if lo.OnConnect {
		t.Fatal("LoggedOut.OnConnect = true, want false (removed while connected)")
	}
	devs, err := sim.Control.Devices(ctxFor(t))
	if err != nil {
		t.Fatalf("devices: %v", err)
	}
	for _, d := range devs {
		if d.JID == l.jid.String() {
			t.Fatalf("removed device still listed: %+v", d)
		}
	}
}

func TestFaultTempBan(t *testing.T) {
	sim, l := faultSetup(t)
	mark := l.rec.Mark()
	inject(t, sim, l, server.Fault{Kind: server.FaultTempBan, Seconds: 120})
	ban := simtest.WaitFor[*events.TemporaryBan](t, l.rec, mark, wait, nil)
	if d := ban.Expire - 120*time.Second; d < -time.Second || d > time.Second {
		t.Fatalf("TemporaryBan.Expire = %v, want 120s ± 1s", ban.Expire)
	}
}

func TestFaultServiceUnavailableThenReconnects(t *testing.T) {
	sim, l := faultSetup(t)
	mark := l.rec.Mark()
	start := time.Now()
	inject(t, sim, l, server.Fault{Kind: server.FaultServiceUnavailable, Seconds: 3})
	simtest.WaitFor[*events.Disconnected](t, l.rec, mark, wait, nil)
	simtest.WaitFor[*events.Connected](t, l.rec, mark, wait, nil)
	if elapsed := time.Since(start); elapsed < 3*time.Second {
		t.Fatalf("reconnected after %v, inside the 3 s unavailability window", elapsed)
	}
}

func TestFaultClientOutdated(t *testing.T) {
	sim, l := faultSetup(t)
	mark := l.rec.Mark()
	inject(t, sim, l, server.Fault{Kind: server.FaultClientOutdated})
	simtest.WaitFor[*events.ClientOutdated](t, l.rec, mark, wait, nil)
}

func TestFaultDropThenReconnects(t *testing.T) {
	sim, l := faultSetup(t)
	mark := l.rec.Mark()
	inject(t, sim, l, server.Fault{Kind: server.FaultDrop})
	simtest.WaitFor[*events.Disconnected](t, l.rec, mark, wait, nil)
	simtest.WaitFor[*events.Connected](t, l.rec, mark, wait, nil)
}

func TestFaultStallTimesOutKeepalives(t *testing.T) {
	sim, l := faultSetup(t)
	mark := l.rec.Mark()
	inject(t, sim, l, server.Fault{Kind: server.FaultStall, Seconds: int(2 * keepAliveDeadline / time.Second)})
	simtest.WaitFor[*events.KeepAliveTimeout](t, l.rec, mark, wait, nil)
	simtest.WaitFor[*events.KeepAliveRestored](t, l.rec, mark, wait, nil)
}

func TestFaultLatencySlowsRoundTrips(t *testing.T) {
	sim, l := faultSetup(t)
	createPhone(t, sim, "15550009999", "Ivan")
	const latency = 800 * time.Millisecond
	inject(t, sim, l, server.Fault{Kind: server.FaultLatency, Millis: int(latency / time.Millisecond), Seconds: 60})
	start := time.Now()
	resp, err := l.cli.SendMessage(ctxFor(t), types.NewJID("15550009999", types.DefaultUserServer), text("slow"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if elapsed := time.Since(start); elapsed < latency {
		t.Fatalf("send round trip took %v, want at least the injected %v", elapsed, latency)
	}
	waitInbox(t, sim, "15550009999", resp.ID)
}
