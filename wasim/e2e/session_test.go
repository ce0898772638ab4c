package e2e

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/wasim/simtest"
)

func TestFirstLoginUploadsPreKeysAndServesDevices(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550006666", "Frank")
	first := pairQR(t, sim, "15550006666")
	second := pairQR(t, sim, "15550006666")
	ctx := ctxFor(t)

	// The first login uploaded whatsmeow's initial batch of 812 one-time prekeys.
	waitDevice(t, sim, first.jid.String(), func(d deviceView) bool { return d.Connected && d.PreKeys == 812 })
	if n, err := first.cli.DangerousInternals().GetServerPreKeyCount(ctx); err != nil || n != 812 {
		t.Fatalf("server prekey count = %d, %v; want 812", n, err)
	}

	// usync lists the phone (device 0) and both companions.
	account := types.NewJID("15550006666", types.DefaultUserServer)
	devs, err := first.cli.GetUserDevices(ctx, []types.JID{account})
	if err != nil {
		t.Fatalf("get user devices: %v", err)
	}
	want := map[types.JID]bool{account: true, first.jid: true, second.jid: true}
	if len(devs) != len(want) {
		t.Fatalf("devices = %v, want %v", devs, want)
	}
	for _, d := range devs {
		if !want[d] {
			t.Fatalf("devices = %v, want %v", devs, want)
		}
	}

	// Bundles for the phone and the other companion; an unknown device fails alone.
	unknown := types.JID{User: "15550006666", Device: 77, Server: types.DefaultUserServer}
	resp := first.cli.DangerousInternals().FetchPreKeysNoError(ctx, []types.JID{account, second.jid, unknown})
	for _, jid := range []types.JID{account, second.jid} {
		if resp[jid] == nil || resp[jid].IdentityKey() == nil {
			t.Fatalf("no bundle for %s (all: %v)", jid, resp)
		}
	}
	if resp[unknown] != nil {
		t.Fatalf("got a bundle for unknown device %s", unknown)
	}
	if got, want := resp[account].IdentityKey().PublicKey().PublicKey(), [32]byte(first.cli.Store.Account.AccountSignatureKey); got != want {
		t.Fatal("phone bundle identity is not the key that signed the pairing")
	}
	// The fetch consumed one of the second device's one-time prekeys.
	waitDevice(t, sim, second.jid.String(), func(d deviceView) bool { return d.PreKeys == 811 })
}

func TestKeepalivesAnswered(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550007777", "Grace")
	l := pairQR(t, sim, "15550007777")
	mark := l.rec.Mark()
	waitDevice(t, sim, l.jid.String(), func(d deviceView) bool { return d.Keepalives >= 3 })
	for _, evt := range l.rec.Events(mark) {
		switch evt.(type) {
		case *events.KeepAliveTimeout, *events.Disconnected:
			t.Fatalf("got %T while the server answered keepalives", evt)
		}
	}
	if !l.cli.IsConnected() || !l.cli.IsLoggedIn() {
		t.Fatal("client is no longer connected and logged in")
	}
}

func TestLogoutUnlinksDevice(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550007778", "Heidi")
	l := pairQR(t, sim, "15550007778")
	if err := l.cli.Logout(ctxFor(t)); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if l.cli.Store.ID != nil {
		t.Fatalf("store still has ID %s after logout", l.cli.Store.ID)
	}
	devs, err := sim.Control.Devices(ctxFor(t))
	if err != nil {
		t.Fatalf("devices: %v", err)
	}
	for _, d := range devs {
		if d.JID == l.jid.String() {
			t.Fatalf("logged-out device still listed: %+v", d)
		}
	}
}

func TestSecondLoginReplacesFirst(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550007779", "Ivy")
	first := pairQR(t, sim, "15550007779")
	mark := first.rec.Mark()

	// A second process logs in with the same credentials while the first is online.
	dev := first.container.GetDevice(first.jid)
	second := simtest.NewWhatsmeowClient(t, sim, dev)
	rec := simtest.Record(second)
	if err := second.Connect(); err != nil {
		t.Fatalf("connect second: %v", err)
	}
	simtest.WaitFor[*events.Connected](t, rec, 0, wait, nil)
	simtest.WaitFor[*events.StreamReplaced](t, first.rec, mark, wait, nil)
	waitDevice(t, sim, first.jid.String(), func(d deviceView) bool { return d.Connected })
}
