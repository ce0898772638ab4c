package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/server"
)

// errDeviceClosed is returned by rawDevice calls after its connection ended.
var errDeviceClosed = errors.New("raw device connection ended")

// keepalivePrefix starts the id of every keepalive ping; the rest is the send time.
const keepalivePrefix = "ka."

// loadStats are the counters every raw device of a run shares.
type loadStats struct {
	received   atomic.Int64 // relayed or phone messages that reached a device
	receipts   atomic.Int64 // receipts that reached the sender of a message
	acks       atomic.Int64 // server acks of sent messages
	pings      atomic.Int64 // keepalive pings sent
	pongs      atomic.Int64 // keepalive pings answered
	unexpected atomic.Int64 // stream errors, login failures, iq errors

	mu        sync.Mutex
	latencies []time.Duration // keepalive round trips
}

func (s *loadStats) addLatency(d time.Duration) {
	s.mu.Lock()
	s.latencies = append(s.latencies, d)
	s.mu.Unlock()
}

// takeLatencies returns the keepalive round trips so far and forgets them.
func (s *loadStats) takeLatencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.latencies
	s.latencies = nil
	return out
}

// rawDevice is a companion device linked and driven over the wire protocol without
// whatsmeow: it answers what whatsmeow answers (a receipt per message, an ack per
// receipt) and never decrypts message content.
type rawDevice struct {
	JID   types.JID
	Phone string

	conn   *noiseConn
	stats  *loadStats
	window chan struct{} // one token per sent message waiting for its receipt
	cancel context.CancelFunc
	done   chan struct{} // closed when the read loop ends

	errMu sync.Mutex
	err   error // first unexpected stanza or read error
}

// newDeviceKeys makes the key material whatsmeow's store would hold for a new device.
func newDeviceKeys() (*store.Device, error) {
	adv := make([]byte, 32)
	if _, err := rand.Read(adv); err != nil {
		return nil, fmt.Errorf("read adv secret: %w", err)
	}
	var reg [4]byte
	if _, err := rand.Read(reg[:]); err != nil {
		return nil, fmt.Errorf("read registration id: %w", err)
	}
	identity := keys.NewKeyPair()
	return &store.Device{
		NoiseKey:       keys.NewKeyPair(),
		IdentityKey:    identity,
		RegistrationID: binary.BigEndian.Uint32(reg[:])%16380 + 1,
		SignedPreKey:   identity.CreateSignedPreKey(1),
		AdvSecretKey:   adv,
	}, nil
}

// linkRaw registers a new device, has phone scan its QR code through the control API,
// answers pair-success like whatsmeow (HMAC and account signature checked, device
// signature added), follows the 515 and logs in.
func linkRaw(ctx context.Context, sim *simProc, phone string, window int, stats *loadStats) (*rawDevice, error) {
	dev, err := newDeviceKeys()
	if err != nil {
		return nil, err
	}
	reg, err := dialNoise(ctx, sim.Addr, dev.NoiseKey, dev.GetClientPayload())
	if err != nil {
		return nil, fmt.Errorf("registration: %w", err)
	}
	defer reg.Close()

	pairDevice, err := readIQ(ctx, reg, "pair-device")
	if err != nil {
		return nil, err
	}
	if err := reg.WriteNode(ctx, iqResultTo(pairDevice)); err != nil {
		return nil, fmt.Errorf("answer pair-device: %w", err)
	}
	ref, ok := firstRef(pairDevice)
	if !ok {
		return nil, errors.New("pair-device without a ref")
	}
	b64 := base64.StdEncoding.EncodeToString
	qr := strings.Join([]string{ref, b64(dev.NoiseKey.Pub[:]), b64(dev.IdentityKey.Pub[:]), b64(dev.AdvSecretKey)}, ",")
	type scanResult struct {
		info server.DeviceInfo
		err  error
	}
	scanned := make(chan scanResult, 1)
	go func() {
		info, err := sim.Control.Scan(ctx, phone, qr)
		scanned <- scanResult{info, err}
	}()

	success, err := readIQ(ctx, reg, "pair-success")
	if err != nil {
		return nil, err
	}
	reply, err := signPairSuccess(success, dev)
	if err != nil {
		return nil, err
	}
	if err := reg.WriteNode(ctx, reply); err != nil {
		return nil, fmt.Errorf("answer pair-success: %w", err)
	}
	if err := readStreamError515(ctx, reg); err != nil {
		return nil, err
	}
	var res scanResult
	select {
	case res = <-scanned:
	case <-ctx.Done():
		return nil, fmt.Errorf("scan: %w", ctx.Err())
	}
	if res.err != nil {
		return nil, fmt.Errorf("scan: %w", res.err)
	}
	jid, err := types.ParseJID(res.info.JID)
	if err != nil {
		return nil, fmt.Errorf("scanned device jid: %w", err)
	}
	dev.ID = &jid
	reg.Close()
	return loginRaw(ctx, sim, dev, phone, window, stats)
}

// loginRaw logs a paired device in and starts its read loop.
func loginRaw(ctx context.Context, sim *simProc, dev *store.Device, phone string, window int, stats *loadStats) (*rawDevice, error) {
	c, err := dialNoise(ctx, sim.Addr, dev.NoiseKey, dev.GetClientPayload())
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	first, err := c.ReadNode(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	if first.Tag != "success" {
		c.Close()
		return nil, fmt.Errorf("login answered %s", first.XMLString())
	}
	runCtx, cancel := context.WithCancel(context.Background())
	d := &rawDevice{
		JID: *dev.ID, Phone: phone, conn: c, stats: stats,
		window: make(chan struct{}, max(window, 1)), cancel: cancel, done: make(chan struct{}),
	}
	go d.readLoop(runCtx)
	return d, nil
}

// readIQ reads until a server iq with the named child arrives.
func readIQ(ctx context.Context, c *noiseConn, child string) (*waBinary.Node, error) {
	for {
		n, err := c.ReadNode(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", child, err)
		}
		if n.Tag == "iq" {
			if _, ok := n.GetOptionalChildByTag(child); ok {
				return n, nil
			}
		}
		if n.Tag == "stream:error" || n.Tag == "failure" {
			return nil, fmt.Errorf("waiting for %s: got %s", child, n.XMLString())
		}
	}
}

func readStreamError515(ctx context.Context, c *noiseConn) error {
	for {
		n, err := c.ReadNode(ctx)
		if err != nil {
			return fmt.Errorf("waiting for stream error 515: %w", err)
		}
		if n.Tag == "stream:error" {
			if code, _ := n.Attrs["code"].(string); code != "515" {
				return fmt.Errorf("stream error %s, want 515", n.XMLString())
			}
			return nil
		}
	}
}

func firstRef(pairDevice *waBinary.Node) (string, bool) {
	pd, _ := pairDevice.GetOptionalChildByTag("pair-device")
	for _, ref := range pd.GetChildren() {
		if b, ok := ref.Content.([]byte); ok && ref.Tag == "ref" {
			return string(b), true
		}
	}
	return "", false
}

func iqResultTo(req *waBinary.Node, content ...waBinary.Node) waBinary.Node {
	n := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"to": types.ServerJID, "id": req.Attrs["id"], "type": "result"}}
	if len(content) > 0 {
		n.Content = content
	}
	return n
}

// signPairSuccess checks the pair-success device identity as whatsmeow's handlePair
// does and builds the pair-device-sign answer.
func signPairSuccess(n *waBinary.Node, dev *store.Device) (waBinary.Node, error) {
	ps, _ := n.GetOptionalChildByTag("pair-success")
	di, _ := ps.GetOptionalChildByTag("device-identity")
	raw, _ := di.Content.([]byte)
	var container waAdv.ADVSignedDeviceIdentityHMAC
	if err := proto.Unmarshal(raw, &container); err != nil {
		return waBinary.Node{}, fmt.Errorf("pair-success identity: %w", err)
	}
	mac := hmac.New(sha256.New, dev.AdvSecretKey)
	mac.Write(container.Details)
	if !bytes.Equal(mac.Sum(nil), container.HMAC) {
		return waBinary.Node{}, errors.New("pair-success hmac mismatch")
	}
	var signed waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(container.Details, &signed); err != nil {
		return waBinary.Node{}, fmt.Errorf("pair-success signed identity: %w", err)
	}
	var details waAdv.ADVDeviceIdentity
	if err := proto.Unmarshal(signed.Details, &details); err != nil {
		return waBinary.Node{}, fmt.Errorf("pair-success identity details: %w", err)
	}
	if len(signed.AccountSignatureKey) != 32 || len(signed.AccountSignature) != 64 {
		return waBinary.Node{}, errors.New("pair-success account signature malformed")
	}
	accountMsg := concat([]byte{6, 0}, signed.Details, dev.IdentityKey.Pub[:])
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey([32]byte(signed.AccountSignatureKey)), accountMsg, [64]byte(signed.AccountSignature)) {
		return waBinary.Node{}, errors.New("pair-success account signature does not verify")
	}
	deviceMsg := concat([]byte{6, 1}, signed.Details, dev.IdentityKey.Pub[:], signed.AccountSignatureKey)
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*dev.IdentityKey.Priv), deviceMsg)
	signed.DeviceSignature = sig[:]
	signed.AccountSignatureKey = nil
	body, err := proto.Marshal(&signed)
	if err != nil {
		return waBinary.Node{}, fmt.Errorf("marshal device identity: %w", err)
	}
	return iqResultTo(n, waBinary.Node{Tag: "pair-device-sign", Content: []waBinary.Node{{
		Tag:     "device-identity",
		Attrs:   waBinary.Attrs{"key-index": strconv.FormatUint(uint64(details.GetKeyIndex()), 10)},
		Content: body,
	}}}), nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// readLoop answers the server until the connection ends.
func (d *rawDevice) readLoop(ctx context.Context) {
	defer close(d.done)
	for {
		n, err := d.conn.ReadNode(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.fail(err)
			}
			return
		}
		d.handle(ctx, n)
	}
}

func (d *rawDevice) handle(ctx context.Context, n *waBinary.Node) {
	switch n.Tag {
	case "message":
		d.stats.received.Add(1)
		d.write(ctx, waBinary.Node{Tag: "receipt", Attrs: waBinary.Attrs{
			"id": n.Attrs["id"], "to": n.Attrs["from"], "type": "inactive",
		}})
	case "receipt":
		ack := waBinary.Attrs{"class": "receipt", "id": n.Attrs["id"], "to": n.Attrs["from"]}
		if typ, ok := n.Attrs["type"]; ok {
			ack["type"] = typ
		}
		d.write(ctx, waBinary.Node{Tag: "ack", Attrs: ack})
		d.stats.receipts.Add(1)
		select {
		case <-d.window:
		default:
		}
	case "ack":
		if class, _ := n.Attrs["class"].(string); class == "message" {
			d.stats.acks.Add(1)
		}
	case "iq":
		id, _ := n.Attrs["id"].(string)
		typ, _ := n.Attrs["type"].(string)
		if sent, ok := strings.CutPrefix(id, keepalivePrefix); ok && typ == "result" {
			if ns, err := strconv.ParseInt(sent, 10, 64); err == nil {
				d.stats.pongs.Add(1)
				d.stats.addLatency(time.Since(time.Unix(0, ns)))
			}
			return
		}
		d.fail(fmt.Errorf("unexpected iq: %s", n.XMLString()))
	case "stream:error", "failure":
		d.fail(fmt.Errorf("server sent %s", n.XMLString()))
	}
}

func (d *rawDevice) write(ctx context.Context, n waBinary.Node) {
	if err := d.conn.WriteNode(ctx, n); err != nil && ctx.Err() == nil {
		d.fail(err)
	}
}

func (d *rawDevice) fail(err error) {
	d.stats.unexpected.Add(1)
	d.errMu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.errMu.Unlock()
}

// Err returns the first unexpected stanza or connection error, if any.
func (d *rawDevice) Err() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

// Send sends a pre-encrypted text to another device's account, addressed to that
// one device only, once fewer than the window's size of this device's messages await
// a receipt.
func (d *rawDevice) Send(ctx context.Context, to types.JID, id string, ciphertext []byte) error {
	select {
	case d.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.done:
		return errDeviceClosed
	}
	return d.conn.WriteNode(ctx, waBinary.Node{
		Tag:   "message",
		Attrs: waBinary.Attrs{"id": id, "to": to.ToNonAD(), "type": "text"},
		Content: []waBinary.Node{{Tag: "participants", Content: []waBinary.Node{{
			Tag:   "to",
			Attrs: waBinary.Attrs{"jid": to},
			Content: []waBinary.Node{{
				Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": "msg"}, Content: ciphertext,
			}},
		}}}},
	})
}

// Drain waits until every sent message has its receipt.
func (d *rawDevice) Drain(ctx context.Context) error {
	for len(d.window) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %d messages without a receipt: %w", d.JID, len(d.window), ctx.Err())
		case <-d.done:
			return errDeviceClosed
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// Ping sends a keepalive as whatsmeow does; the read loop times the answer.
func (d *rawDevice) Ping(ctx context.Context) error {
	d.stats.pings.Add(1)
	return d.conn.WriteNode(ctx, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
		"id":    keepalivePrefix + strconv.FormatInt(time.Now().UnixNano(), 10),
		"xmlns": "w:p", "type": "get", "to": types.ServerJID,
	}})
}

// Close ends the connection and waits for the read loop.
func (d *rawDevice) Close() {
	d.cancel()
	d.conn.Close()
	<-d.done
}
