package wire_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"go.mau.fi/whatsmeow/util/keys"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/wagate/wagate/wasim/wire"
)

// newDevice builds an unpaired whatsmeow device with fresh keys and no-op stores,
// which is all an unpaired client needs to connect and show QR codes.
func newDevice(tb testing.TB) *store.Device {
	tb.Helper()
	noop := &store.NoopStore{}
	identity := keys.NewKeyPair()
	adv := make([]byte, 32)
	if _, err := rand.Read(adv); err != nil {
		tb.Fatalf("read random: %v", err)
	}
	return &store.Device{
		Log:            waLog.Noop,
		NoiseKey:       keys.NewKeyPair(),
		IdentityKey:    identity,
		SignedPreKey:   identity.CreateSignedPreKey(1),
		RegistrationID: 0x01020304,
		AdvSecretKey:   adv,
		Identities:     noop,
		Sessions:       noop,
		PreKeys:        noop,
		SenderKeys:     noop,
		AppStateKeys:   noop,
		AppState:       noop,
		Contacts:       noop,
		ChatSettings:   noop,
		MsgSecrets:     noop,
		PrivacyTokens:  noop,
		EventBuffer:    noop,
		LIDs:           noop,
		Container:      noop,
	}
}

// newClient returns a whatsmeow client for dev that dials addr.
func newClient(tb testing.TB, dev *store.Device, addr string) *whatsmeow.Client {
	tb.Helper()
	cli := whatsmeow.NewClient(dev, nil)
	cli.EnableAutoReconnect = false
	hc := dialClient(addr)
	cli.SetPreLoginHTTPClient(hc)
	cli.SetWebsocketHTTPClient(hc)
	return cli
}

func pairDeviceNode(id string, refs [][]byte) waBinary.Node {
	children := make([]waBinary.Node, len(refs))
	for i, ref := range refs {
		children[i] = waBinary.Node{Tag: "ref", Content: ref}
	}
	return waBinary.Node{
		Tag:     "iq",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "id": id, "type": "set", "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-device", Content: children}},
	}
}

func TestWhatsmeowClientGetsQRCodeAndKeepalives(t *testing.T) {
	refs := make([][]byte, 6)
	for i := range refs {
		refs[i] = []byte(fmt.Sprintf("2@wire-test-ref-%d", i))
	}
	accepted := make(chan *wire.Conn, 1)
	pairAcked := make(chan struct{}, 1)
	var keepalives atomic.Int32
	addr := startServer(t, testIdentity(t), 0, func(ctx context.Context, conn *wire.Conn, err error) {
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		accepted <- conn
		if err := conn.WriteNode(ctx, pairDeviceNode("pair-1", refs)); err != nil {
			t.Errorf("WriteNode(pair-device): %v", err)
			return
		}
		for {
			node, err := conn.ReadNode(ctx)
			if err != nil {
				return
			}
			ag := node.AttrGetter()
			switch {
			case node.Tag == "iq" && ag.OptionalString("xmlns") == "w:p" && ag.OptionalString("type") == "get":
				keepalives.Add(1)
				err = conn.WriteNode(ctx, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
					"type": "result", "id": ag.String("id"), "from": types.ServerJID,
				}})
				if err != nil {
					return
				}
			case node.Tag == "iq" && ag.OptionalString("id") == "pair-1" && ag.OptionalString("type") == "result":
				pairAcked <- struct{}{}
			}
		}
	})

	dev := newDevice(t)
	cli := newClient(t, dev, addr)
	var keepaliveTimeouts atomic.Int32
	cli.AddEventHandler(func(evt any) {
		if _, ok := evt.(*events.KeepAliveTimeout); ok {
			keepaliveTimeouts.Add(1)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	qr, err := cli.GetQRChannel(ctx)
	if err != nil {
		t.Fatalf("GetQRChannel: %v", err)
	}
	if err := cli.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cli.Disconnect()

	var conn *wire.Conn
	select {
	case conn = <-accepted:
	case <-ctx.Done():
		t.Fatal("server never completed the handshake")
	}
	if got, want := conn.ClientStatic(), *dev.NoiseKey.Pub; got != want {
		t.Errorf("ClientStatic() = %x, want the device noise key %x", got, want)
	}
	reg := conn.Payload().GetDevicePairingData()
	if reg == nil {
		t.Fatal("Payload() has no DevicePairingData; want a registration payload from an unpaired device")
	}
	if !bytes.Equal(reg.GetEIdent(), dev.IdentityKey.Pub[:]) {
		t.Errorf("registration identity = %x, want %x", reg.GetEIdent(), dev.IdentityKey.Pub[:])
	}
	if got := binary.BigEndian.Uint32(reg.GetERegid()); got != dev.RegistrationID {
		t.Errorf("registration id = %#x, want %#x", got, dev.RegistrationID)
	}

	var item whatsmeow.QRChannelItem
	select {
	case item = <-qr:
	case <-ctx.Done():
		t.Fatal("no QR event")
	}
	if item.Event != whatsmeow.QRChannelEventCode {
		t.Fatalf("first QR event = %q (%v), want %q", item.Event, item.Error, whatsmeow.QRChannelEventCode)
	}
	fields := strings.Split(item.Code, ",")
	if len(fields) != 4 {
		t.Fatalf("QR code %q has %d fields, want 4", item.Code, len(fields))
	}
	if fields[0] != string(refs[0]) {
		t.Errorf("QR ref = %q, want the first ref sent %q", fields[0], refs[0])
	}
	static := conn.ClientStatic()
	if want := base64.StdEncoding.EncodeToString(static[:]); fields[1] != want {
		t.Errorf("QR noise key = %q, want the handshake's client static %q", fields[1], want)
	}
	select {
	case <-pairAcked:
	case <-ctx.Done():
		t.Fatal("client never acknowledged pair-device")
	}

	// Keepalive N+1 is sent only after keepalive N was answered or timed out, so three
	// keepalives leave time for a timeout event of the first to be dispatched.
	for keepalives.Load() < 3 {
		select {
		case <-ctx.Done():
			t.Fatalf("server saw %d keepalives, want at least 3", keepalives.Load())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := keepaliveTimeouts.Load(); n != 0 {
		t.Errorf("client reported %d keepalive timeouts, want 0", n)
	}
	if !cli.IsConnected() {
		t.Error("client disconnected; want the connection kept open")
	}
}

func TestWhatsmeowClientRejectsForeignRoot(t *testing.T) {
	foreign, err := wire.NewIdentity()
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	if foreign.RootPublicKey() == testIdentity(t).RootPublicKey() {
		t.Fatal("random identity has the pinned root key")
	}
	acceptErr := make(chan error, 1)
	addr := startServer(t, foreign, 0, func(ctx context.Context, conn *wire.Conn, err error) {
		if err == nil {
			_ = conn.WriteNode(ctx, pairDeviceNode("pair-1", [][]byte{[]byte("2@ref")}))
		}
		acceptErr <- err
	})
	cli := newClient(t, newDevice(t), addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	qr, err := cli.GetQRChannel(ctx)
	if err != nil {
		t.Fatalf("GetQRChannel: %v", err)
	}
	err = cli.Connect()
	defer cli.Disconnect()
	if err == nil || !strings.Contains(err.Error(), "verify server cert") {
		t.Fatalf("Connect() = %v, want a server certificate verification error", err)
	}
	select {
	case err := <-acceptErr:
		if err == nil {
			t.Error("Accept succeeded although the client rejected the certificate")
		}
	case <-ctx.Done():
		t.Fatal("Accept did not return after the client gave up")
	}
	select {
	case item := <-qr:
		if item.Event == whatsmeow.QRChannelEventCode {
			t.Errorf("got QR code %q from a server the client does not trust", item.Code)
		}
	default:
	}
}
