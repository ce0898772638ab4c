package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/phone"
)

// qrRefCount is how many QR refs a registration gets, as WhatsApp sends.
const qrRefCount = 6

// registration is an unpaired client connection waiting to be linked by a QR scan or
// a pairing code.
type registration struct {
	c        *conn
	noise    [32]byte
	identity [32]byte
	regID    uint32
	signed   phone.SignedPreKey
	refs     []string
	pairing  atomic.Bool

	mu   sync.Mutex
	link *linkState // pairing by code, after companion_hello
}

// DeviceInfo describes a linked device.
type DeviceInfo struct {
	JID       string `json:"jid"`       // number:device@s.whatsapp.net
	LID       string `json:"lid"`       // lid:device@lid
	Phone     string `json:"phone"`     // the account's phone number
	Connected bool   `json:"connected"` // whether it has a live, logged-in connection now
	PreKeys   int    `json:"preKeys"`   // one-time prekeys the server holds for it
	// Keepalives counts the keepalive pings the server answered for it.
	Keepalives int64 `json:"keepalives"`
}

func (d *device) info() DeviceInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DeviceInfo{
		JID:       d.jid.String(),
		LID:       d.lid.String(),
		Phone:     d.acct.number,
		Connected: d.conn != nil && d.conn.loggedIn(),
		PreKeys:   len(d.preKeys),

		Keepalives: d.keepalives.Load(),
	}
}

// startRegistration keeps the unpaired connection as a pending registration and sends
// it the QR refs. It reports whether the connection stays open.
func (s *Server) startRegistration(c *conn, p *waWa6.ClientPayload) bool {
	dpd := p.GetDevicePairingData()
	if len(dpd.GetERegid()) != 4 || len(dpd.GetEIdent()) != 32 || len(dpd.GetESkeyID()) != 3 ||
		len(dpd.GetESkeyVal()) != 32 || len(dpd.GetESkeySig()) != 64 {
		s.violation("registration", fmt.Sprintf("malformed device pairing data: %v", dpd), nil)
		c.closeWith(failureNode("400", nil))
		return false
	}
	sk := dpd.GetESkeyID()
	r := &registration{
		c:        c,
		noise:    c.wc.ClientStatic(),
		identity: [32]byte(dpd.GetEIdent()),
		regID:    binary.BigEndian.Uint32(dpd.GetERegid()),
		signed: phone.SignedPreKey{
			ID:        uint32(sk[0])<<16 | uint32(sk[1])<<8 | uint32(sk[2]),
			Pub:       [32]byte(dpd.GetESkeyVal()),
			Signature: [64]byte(dpd.GetESkeySig()),
		},
	}
	refs := make([]waBinary.Node, 0, qrRefCount)
	for range qrRefCount {
		ref, err := randomRef()
		if err != nil {
			s.log.Error("qr_ref_failed", "error", err)
			c.close()
			return false
		}
		r.refs = append(r.refs, ref)
		refs = append(refs, waBinary.Node{Tag: "ref", Content: []byte(ref)})
	}
	s.regMu.Lock()
	for _, ref := range r.refs {
		s.regsByRef[ref] = r
	}
	s.regMu.Unlock()
	c.reg.Store(r)
	c.state.Store(stateRegistration)
	s.goBackground(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		defer cancel()
		resp, err := c.request(ctx, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
			"from": types.ServerJID, "type": "set", "xmlns": "md",
		}, Content: []waBinary.Node{{Tag: "pair-device", Content: refs}}})
		if err == nil && attrString(resp.Attrs["type"]) != "result" {
			s.violation("registration", "client did not accept pair-device", resp)
		}
	})
	return true
}

func randomRef() (string, error) {
	b := make([]byte, 36)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random ref: %w", err)
	}
	return "2@" + base64.StdEncoding.EncodeToString(b), nil
}

// dropRegistration forgets a registration whose connection ended or paired.
func (s *Server) dropRegistration(r *registration) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	for _, ref := range r.refs {
		if s.regsByRef[ref] == r {
			delete(s.regsByRef, ref)
		}
	}
	for number, lr := range s.regsByLink {
		if lr == r {
			delete(s.regsByLink, number)
		}
	}
}

// Scan is the phone scanning a QR code shown by a waiting client: it links that client
// as a new companion device of the phone's account. qr is the text of the QR code,
// "ref,noiseKey,identityKey,advSecret". It returns once the device is registered; the
// client then reconnects and logs in.
//
// Errors: ErrInvalid for a malformed code, ErrNotFound for an unknown phone or no
// waiting client, ErrConflict when the client refused, ErrTimeout when it did not
// answer.
func (s *Server) Scan(ctx context.Context, number, qr string) (DeviceInfo, error) {
	a := s.account(number)
	if a == nil {
		return DeviceInfo{}, fmt.Errorf("scan: phone %s: %w", number, ErrNotFound)
	}
	parts := strings.Split(strings.TrimSpace(qr), ",")
	if len(parts) != 4 || parts[0] == "" {
		return DeviceInfo{}, fmt.Errorf("scan: qr code must have 4 comma-separated fields: %w", ErrInvalid)
	}
	var keys [3][]byte
	for i, p := range parts[1:] {
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil || len(b) != 32 {
			return DeviceInfo{}, fmt.Errorf("scan: qr field %d is not a base64 32-byte key: %w", i+2, ErrInvalid)
		}
		keys[i] = b
	}
	s.regMu.Lock()
	r := s.regsByRef[parts[0]]
	s.regMu.Unlock()
	if r == nil {
		return DeviceInfo{}, fmt.Errorf("scan: no client is showing this qr code: %w", ErrNotFound)
	}
	if !bytes.Equal(keys[0], r.noise[:]) || !bytes.Equal(keys[1], r.identity[:]) {
		return DeviceInfo{}, fmt.Errorf("scan: qr keys do not match the waiting client: %w", ErrInvalid)
	}
	return s.pairDevice(ctx, a, r, keys[2])
}

// pairDevice sends pair-success signed by the account's phone, waits for the client's
// pair-device-sign, registers the device and tells the client to reconnect (515).
func (s *Server) pairDevice(ctx context.Context, a *account, r *registration, advSecret []byte) (DeviceInfo, error) {
	if !r.pairing.CompareAndSwap(false, true) {
		return DeviceInfo{}, fmt.Errorf("pair: this client is already being paired: %w", ErrConflict)
	}
	devID := a.allocDeviceID()
	signed, err := a.phone.SignCompanion(r.identity, advSecret, uint32(devID))
	if err != nil {
		r.pairing.Store(false)
		return DeviceInfo{}, fmt.Errorf("pair: sign companion: %w", err)
	}
	jid := types.JID{User: a.number, Device: devID, Server: types.DefaultUserServer}
	lid := types.JID{User: a.lid.User, Device: devID, Server: types.HiddenUserServer}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.pairTimeout)
	defer cancel()
	resp, err := r.c.request(ctx, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
		"from": types.ServerJID, "type": "set", "xmlns": "md",
	}, Content: []waBinary.Node{{Tag: "pair-success", Content: []waBinary.Node{
		{Tag: "device-identity", Content: signed},
		{Tag: "device", Attrs: waBinary.Attrs{"jid": jid, "lid": lid}},
		{Tag: "platform", Attrs: waBinary.Attrs{"name": "android"}},
	}}}})
	if err != nil {
		r.pairing.Store(false)
		if errors.Is(err, context.DeadlineExceeded) {
			return DeviceInfo{}, fmt.Errorf("pair: waiting for pair-device-sign: %w", ErrTimeout)
		}
		if errors.Is(err, net.ErrClosed) {
			return DeviceInfo{}, fmt.Errorf("pair: client disconnected: %w", ErrConflict)
		}
		return DeviceInfo{}, fmt.Errorf("pair: %w", err)
	}
	if attrString(resp.Attrs["type"]) != "result" {
		errNode, _ := resp.GetOptionalChildByTag("error")
		r.pairing.Store(false)
		return DeviceInfo{}, fmt.Errorf("pair: client refused pair-success: %s %s: %w",
			attrString(errNode.Attrs["code"]), attrString(errNode.Attrs["text"]), ErrConflict)
	}
	sign, ok := resp.GetOptionalChildByTag("pair-device-sign", "device-identity")
	signedBack, _ := sign.Content.([]byte)
	if !ok || len(signedBack) == 0 {
		s.violation("registration", "pair-device-sign without device-identity", resp)
		return DeviceInfo{}, fmt.Errorf("pair: malformed pair-device-sign: %w", ErrConflict)
	}
	if err := a.phone.VerifyCompanionSignature(signedBack, r.identity); err != nil {
		s.violation("registration", fmt.Sprintf("companion signature does not verify: %v", err), resp)
		return DeviceInfo{}, fmt.Errorf("pair: companion signature: %v: %w", err, ErrConflict)
	}
	d := &device{
		acct: a, id: devID, jid: jid, lid: lid,
		noise: r.noise, identity: r.identity, pairedAt: s.now(),
		regID: r.regID, signed: r.signed,
	}
	a.addCompanion(d)
	s.notifyDevices(a, d, "add")
	s.dropRegistration(r)
	s.log.Info("device_paired", "device", jid.String())
	s.goBackground(func() {
		r.c.closeWith(waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "515"}})
	})
	return d.info(), nil
}
