package e2e

import (
	"testing"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/simtest"
)

func TestPairByQRThenConnected(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550001111", "Alice")
	l := pairQR(t, sim, "15550001111")
	if l.jid.User != "15550001111" || l.jid.Server != types.DefaultUserServer || l.jid.Device < 1 {
		t.Fatalf("paired JID = %s, want 15550001111:N@s.whatsapp.net with N >= 1", l.jid)
	}
	if got := l.cli.Store.GetJID(); got != l.jid {
		t.Fatalf("store JID = %s, want %s", got, l.jid)
	}
	waitDevice(t, sim, l.jid.String(), func(d deviceView) bool { return d.Connected && d.Phone == "15550001111" })
}
