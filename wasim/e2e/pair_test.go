package e2e

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/wasim/simtest"
	"github.com/wagate/wagate/wasim/simtest/memstore"
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

func TestPairByPhoneCodeThenConnected(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550003333", "Carol")
	ctx := ctxFor(t)
	container := memstore.New(nil)
	cli := simtest.NewWhatsmeowClient(t, sim, container.NewDevice())
	rec := simtest.Record(cli)
	qrs, err := cli.GetQRChannel(ctx)
	if err != nil {
		t.Fatalf("qr channel: %v", err)
	}
	if err := cli.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	select {
	case <-qrs: // the registration connection is up
	case <-time.After(wait):
		t.Fatal("no qr code")
	}
	code, err := cli.PairPhone(ctx, "+1 555 000 3333", true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		t.Fatalf("pair phone: %v", err)
	}
	info, err := sim.Control.LinkCode(ctx, "15550003333", code)
	if err != nil {
		t.Fatalf("enter code %s: %v", code, err)
	}
	ps := simtest.WaitFor[*events.PairSuccess](t, rec, 0, wait, nil)
	if ps.ID.String() != info.JID || ps.ID.User != "15550003333" {
		t.Fatalf("PairSuccess.ID = %s, want %s", ps.ID, info.JID)
	}
	simtest.WaitFor[*events.Connected](t, rec, 0, wait, nil)
	waitDevice(t, sim, info.JID, func(d deviceView) bool { return d.Connected })
}

func TestPhoneCodeRejectsWrongCode(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550003334", "Carl")
	ctx := ctxFor(t)
	cli := simtest.NewWhatsmeowClient(t, sim, memstore.New(nil).NewDevice())
	qrs, err := cli.GetQRChannel(ctx)
	if err != nil {
		t.Fatalf("qr channel: %v", err)
	}
	if err := cli.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	<-qrs
	code, err := cli.PairPhone(ctx, "15550003334", false, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		t.Fatalf("pair phone: %v", err)
	}
	wrong := []byte(code)
	if wrong[0] == 'A' {
		wrong[0] = 'B'
	} else {
		wrong[0] = 'A'
	}
	_, err = sim.Control.LinkCode(ctx, "15550003334", string(wrong))
	var apiErr *simtest.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("wrong code: err = %v, want a 400", err)
	}
	if cli.Store.ID != nil {
		t.Fatalf("client paired with a wrong code: %s", cli.Store.ID)
	}
}

func TestLoginAfterRestartNeedsNoQR(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550004444", "Dave")
	first := pairQR(t, sim, "15550004444")
	waitDevice(t, sim, first.jid.String(), func(d deviceView) bool { return d.Connected })

	l := first.restart(t, sim)
	if err := l.cli.Connect(); err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	simtest.WaitFor[*events.Connected](t, l.rec, 0, wait, nil)
	for _, evt := range l.rec.Events(0) {
		switch evt.(type) {
		case *events.QR, *events.PairSuccess, *events.LoggedOut:
			t.Fatalf("restarted client got %T, want a plain login", evt)
		}
	}
	if got := l.cli.Store.GetJID(); got != first.jid {
		t.Fatalf("restarted client JID = %s, want %s", got, first.jid)
	}
	waitDevice(t, sim, first.jid.String(), func(d deviceView) bool { return d.Connected })
}

func TestScanRejectsBadInput(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550005555", "Eve")
	ctx := ctxFor(t)
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	cases := []struct {
		name, phone, qr string
		status          int
	}{
		{"three_fields", "15550005555", "2@abc," + key + "," + key, 400},
		{"bad_base64", "15550005555", "2@abc,!!!," + key + "," + key, 400},
		{"unknown_ref", "15550005555", "2@nobody," + key + "," + key + "," + key, 404},
		{"unknown_phone", "15559999999", "2@nobody," + key + "," + key + "," + key, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sim.Control.Scan(ctx, tc.phone, tc.qr)
			var apiErr *simtest.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
				t.Fatalf("scan: err = %v, want status %d", err, tc.status)
			}
		})
	}
}
