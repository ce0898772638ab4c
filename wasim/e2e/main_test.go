package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/wasim/simtest"
	"github.com/wagate/wagate/wasim/simtest/memstore"
)

// keepAliveDeadline is how long the client waits for a keepalive answer in these
// tests (whatsmeow's default is 10 s).
const keepAliveDeadline = 3 * time.Second

// wait is the generous bound for anything a test waits for.
const wait = 30 * time.Second

func TestMain(m *testing.M) {
	whatsmeow.WACertPubKey = simtest.RootKey()
	whatsmeow.KeepAliveIntervalMin = 1 * time.Second
	whatsmeow.KeepAliveIntervalMax = 2 * time.Second
	whatsmeow.KeepAliveResponseDeadline = keepAliveDeadline
	os.Exit(m.Run())
}

// linked is a whatsmeow client paired with a simulated phone.
type linked struct {
	cli       *whatsmeow.Client
	rec       *simtest.Recorder
	container *memstore.Container
	jid       types.JID // the device's JID
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	t.Cleanup(cancel)
	return ctx
}

// createPhone creates a fake phone, failing the test on error.
func createPhone(t testing.TB, sim *simtest.Sim, number, name string) {
	t.Helper()
	if _, err := sim.Control.CreatePhone(ctxFor(t), number, name); err != nil {
		t.Fatalf("create phone %s: %v", number, err)
	}
}

// pairQR links a new client to the phone by scanning its first QR code and waits
// until it is connected after the 515 reconnect.
func pairQR(t testing.TB, sim *simtest.Sim, phone string) *linked {
	t.Helper()
	return pairQROwned(t, t, sim, phone)
}

// pairQROwned is pairQR reporting failures on t while the client lives until owner
// ends (owner may be a parent of t, so parallel subtests can link clients).
func pairQROwned(t, owner testing.TB, sim *simtest.Sim, phone string) *linked {
	t.Helper()
	ctx := ctxFor(t)
	container := memstore.New(nil)
	cli := simtest.NewWhatsmeowClient(owner, sim, container.NewDevice())
	rec := simtest.Record(cli)
	qrs, err := cli.GetQRChannel(ctx)
	if err != nil {
		t.Fatalf("qr channel: %v", err)
	}
	if err := cli.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	var code string
	select {
	case item := <-qrs:
		if item.Event != "code" {
			t.Fatalf("first qr item = %q (%v), want a code", item.Event, item.Error)
		}
		code = item.Code
	case <-time.After(wait):
		t.Fatal("no qr code")
	}
	info, err := sim.Control.Scan(ctx, phone, code)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	ps := simtest.WaitFor[*events.PairSuccess](t, rec, 0, wait, nil)
	if ps.ID.String() != info.JID {
		t.Fatalf("PairSuccess.ID = %s, want %s", ps.ID, info.JID)
	}
	simtest.WaitFor[*events.Connected](t, rec, 0, wait, nil)
	return &linked{cli: cli, rec: rec, container: container, jid: ps.ID}
}

// restart builds a new client on the saved device, as a restarted process would.
func (l *linked) restart(t *testing.T, sim *simtest.Sim) *linked {
	t.Helper()
	simtest.Quiesce(sim, l.jid, 5*time.Second)
	l.cli.Disconnect()
	dev := l.container.GetDevice(l.jid)
	if dev == nil {
		t.Fatalf("device %s is not saved", l.jid)
	}
	cli := simtest.NewWhatsmeowClient(t, sim, dev)
	return &linked{cli: cli, rec: simtest.Record(cli), container: l.container, jid: l.jid}
}

// waitDevice polls the control API until the device appears and cond holds.
func waitDevice(t testing.TB, sim *simtest.Sim, jid string, cond func(d deviceView) bool) deviceView {
	t.Helper()
	deadline := time.Now().Add(wait)
	var last []deviceView
	for time.Now().Before(deadline) {
		devs, err := sim.Control.Devices(ctxFor(t))
		if err != nil {
			t.Fatalf("devices: %v", err)
		}
		last = last[:0]
		for _, d := range devs {
			v := deviceView{JID: d.JID, Phone: d.Phone, Connected: d.Connected, PreKeys: d.PreKeys, Keepalives: d.Keepalives}
			last = append(last, v)
			if d.JID == jid && cond(v) {
				return v
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("device %s never reached the expected state; devices: %+v", jid, last)
	return deviceView{}
}

type deviceView struct {
	JID        string
	Phone      string
	Connected  bool
	PreKeys    int
	Keepalives int64
}
