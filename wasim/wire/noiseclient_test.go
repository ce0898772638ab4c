package wire_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/util/keys"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
)

// noiseClient is a client built from whatsmeow's own socket package (FrameSocket and
// NoiseHandshake), driving the handshake the way whatsmeow's doHandshake does, but
// giving the test direct access to frames.
type noiseClient struct {
	fs       *socket.FrameSocket
	ns       *socket.NoiseSocket
	noiseKey *keys.KeyPair
	nodes    chan *waBinary.Node
	// disconnected is closed when the socket reports a disconnect.
	disconnected chan struct{}
}

// finishFunc builds the client finish message; the default encrypts the noise key
// and payload as whatsmeow does.
type finishFunc func(nh *socket.NoiseHandshake, serverEphemeral [32]byte) ([]byte, error)

// dialNoiseClient connects to addr and runs the handshake. finish may replace the
// client finish message (nil for the real one); with a replaced finish the client
// stops after sending it and ns stays nil.
func dialNoiseClient(ctx context.Context, tb testing.TB, addr string, finish finishFunc) (*noiseClient, error) {
	tb.Helper()
	nc := &noiseClient{noiseKey: keys.NewKeyPair(), nodes: make(chan *waBinary.Node, 4096), disconnected: make(chan struct{})}
	custom := finish != nil
	var once sync.Once
	markDisconnected := func() { once.Do(func() { close(nc.disconnected) }) }
	nc.fs = socket.NewFrameSocket(waLog.Noop, dialClient(addr))
	nc.fs.OnDisconnect = func(context.Context, bool) { markDisconnected() }
	if err := nc.fs.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	tb.Cleanup(func() {
		if custom {
			// The server ends a failed handshake; let the read pump see that
			// first, since FrameSocket does not guard a concurrent Close.
			select {
			case <-nc.disconnected:
			case <-time.After(5 * time.Second):
			}
		}
		nc.fs.Close(0)
	})

	ephemeral := keys.NewKeyPair()
	nh := socket.NewNoiseHandshake()
	nh.Start(socket.NoiseStartPattern, nc.fs.Header)
	nh.Authenticate(ephemeral.Pub[:])
	hello, err := proto.Marshal(&waWa6.HandshakeMessage{ClientHello: &waWa6.HandshakeMessage_ClientHello{Ephemeral: ephemeral.Pub[:]}})
	if err != nil {
		return nil, err
	}
	if err := nc.fs.SendFrame(hello); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	var resp []byte
	select {
	case resp = <-nc.fs.Frames:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var msg waWa6.HandshakeMessage
	if err := proto.Unmarshal(resp, &msg); err != nil {
		return nil, fmt.Errorf("unmarshal server hello: %w", err)
	}
	sh := msg.GetServerHello()
	if len(sh.GetEphemeral()) != 32 {
		return nil, fmt.Errorf("server ephemeral has %d bytes", len(sh.GetEphemeral()))
	}
	serverEphemeral := [32]byte(sh.GetEphemeral())
	nh.Authenticate(serverEphemeral[:])
	if err := nh.MixSharedSecretIntoKey(*ephemeral.Priv, serverEphemeral); err != nil {
		return nil, err
	}
	static, err := nh.Decrypt(sh.GetStatic())
	if err != nil || len(static) != 32 {
		return nil, fmt.Errorf("decrypt server static (%d bytes): %v", len(static), err)
	}
	if err := nh.MixSharedSecretIntoKey(*ephemeral.Priv, [32]byte(static)); err != nil {
		return nil, err
	}
	if _, err := nh.Decrypt(sh.GetPayload()); err != nil {
		return nil, fmt.Errorf("decrypt certificate chain: %w", err)
	}
	if !custom {
		finish = nc.realFinish
	}
	fin, err := finish(nh, serverEphemeral)
	if err != nil {
		return nil, err
	}
	if err := nc.fs.SendFrame(fin); err != nil {
		return nil, fmt.Errorf("send finish: %w", err)
	}
	if custom {
		return nc, nil
	}
	nc.ns, err = nh.Finish(ctx, nc.fs, nc.onFrame, func(context.Context, *socket.NoiseSocket, bool) {
		markDisconnected()
	})
	if err != nil {
		return nil, fmt.Errorf("finish: %w", err)
	}
	return nc, nil
}

func (nc *noiseClient) realFinish(nh *socket.NoiseHandshake, serverEphemeral [32]byte) ([]byte, error) {
	encStatic := nh.Encrypt(nc.noiseKey.Pub[:])
	if err := nh.MixSharedSecretIntoKey(*nc.noiseKey.Priv, serverEphemeral); err != nil {
		return nil, err
	}
	payload, err := proto.Marshal(&waWa6.ClientPayload{Username: proto.Uint64(15550001111), Device: proto.Uint32(3)})
	if err != nil {
		return nil, err
	}
	return proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{
		Static:  encStatic,
		Payload: nh.Encrypt(payload),
	}})
}

// onFrame decodes a decrypted frame exactly as whatsmeow's handleFrame does.
func (nc *noiseClient) onFrame(_ context.Context, data []byte) {
	unpacked, err := waBinary.Unpack(data)
	if err != nil {
		return
	}
	node, err := waBinary.Unmarshal(unpacked)
	if err != nil {
		return
	}
	nc.nodes <- node
}

// sendNode sends n uncompressed, as whatsmeow does.
func (nc *noiseClient) sendNode(ctx context.Context, n waBinary.Node) error {
	data, err := waBinary.Marshal(n)
	if err != nil {
		return err
	}
	return nc.ns.SendFrame(ctx, data)
}

// sendCompressed sends n with the compressed flag and a zlib body.
func (nc *noiseClient) sendCompressed(ctx context.Context, n waBinary.Node) error {
	data, err := waBinary.Marshal(n)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteByte(2)
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(data[1:]); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return nc.ns.SendFrame(ctx, buf.Bytes())
}
