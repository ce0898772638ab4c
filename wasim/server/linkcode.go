package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/phone"
)

// linkState is one pairing-by-code attempt on a registration connection.
type linkState struct {
	acct    *account
	wrapped []byte // the companion's wrapped ephemeral key (80 bytes)
	ref     []byte // link_code_pairing_ref
	code    *phone.LinkCode
	result  chan linkResult // set when the phone enters the code
}

type linkResult struct {
	info DeviceInfo
	err  error
}

// finish hands the outcome to the waiting LinkCode call; later outcomes are dropped.
func (ls *linkState) finish(res linkResult) {
	select {
	case ls.result <- res:
	default:
	}
}

// handleMDIQ serves the md namespace: logout (remove-companion-device) and the two
// client stages of pairing by code.
func (s *Server) handleMDIQ(c *conn, n *waBinary.Node) {
	if child, ok := n.GetOptionalChildByTag("remove-companion-device"); ok {
		s.handleRemoveCompanion(c, n, child)
		return
	}
	child, ok := n.GetOptionalChildByTag("link_code_companion_reg")
	if !ok {
		s.unknownIQ(c, n)
		return
	}
	r := c.reg.Load()
	if r == nil {
		s.violation(c.who(), "link_code_companion_reg on a logged-in connection", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	switch stage := attrString(child.Attrs["stage"]); stage {
	case "companion_hello":
		s.handleCompanionHello(c, r, n, child)
	case "companion_finish":
		s.handleCompanionFinish(c, r, n, child)
	default:
		s.violation(c.who(), "link_code_companion_reg with unknown stage "+strconv.Quote(stage), n)
		c.send(iqError(n, 400, "bad-request"))
	}
}

// handleRemoveCompanion is a device logging itself out: the device is unlinked.
func (s *Server) handleRemoveCompanion(c *conn, n *waBinary.Node, child waBinary.Node) {
	d := c.dev.Load()
	jid, ok := attrJID(child, "jid")
	if d == nil || !ok {
		s.violation(c.who(), "malformed remove-companion-device", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	target := s.deviceFor(jid)
	if target == nil || target.acct != d.acct {
		c.send(iqError(n, 404, "item-not-found"))
		return
	}
	s.unlink(target)
	c.send(iqResult(n))
	if other := target.liveConn(); target != d && other != nil {
		s.goBackground(func() { other.closeWith(streamErrorDeviceRemoved()) })
	}
}

// unlink removes a device from its account; its queued stanzas are dropped and its
// next login fails with 401.
func (s *Server) unlink(d *device) {
	if !d.acct.removeCompanion(d) {
		return
	}
	d.mu.Lock()
	d.removed = true
	d.pending.reset()
	d.mu.Unlock()
	s.notifyDevices(d.acct, d, "remove")
	s.log.Info("device_unlinked", "device", d.jid.String())
}

func (s *Server) handleCompanionHello(c *conn, r *registration, n *waBinary.Node, child waBinary.Node) {
	jid, ok := attrJID(child, "jid")
	wrapped := nodeBytes(child, "link_code_pairing_wrapped_companion_ephemeral_pub")
	authKey := nodeBytes(child, "companion_server_auth_key_pub")
	if !ok || len(wrapped) != 80 || len(authKey) != 32 {
		s.violation(c.who(), "malformed companion_hello", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	if !bytes.Equal(authKey, r.noise[:]) {
		s.violation(c.who(), "companion_hello names another noise key than the connection's", n)
	}
	a := s.accountFor(jid)
	if a == nil {
		c.send(iqError(n, 404, "item-not-found"))
		return
	}
	ref := make([]byte, 32)
	if _, err := rand.Read(ref); err != nil {
		c.send(iqError(n, 500, "internal-server-error"))
		return
	}
	ref = []byte(base64.RawURLEncoding.EncodeToString(ref))
	r.mu.Lock()
	r.link = &linkState{acct: a, wrapped: bytes.Clone(wrapped), ref: ref}
	r.mu.Unlock()
	s.regMu.Lock()
	s.regsByLink[a.number] = r
	s.regMu.Unlock()
	c.send(iqResult(n, waBinary.Node{Tag: "link_code_companion_reg", Content: []waBinary.Node{
		{Tag: "link_code_pairing_ref", Content: ref},
	}}))
}

// LinkCode is the phone entering the pairing code a waiting client shows (after the
// client called PairPhone with this phone's number). It returns once the device is
// registered.
//
// Errors: ErrInvalid for a malformed or wrong code, ErrNotFound for an unknown phone or
// no client waiting for a code, ErrConflict when a code was already entered or the
// client refused, ErrTimeout when the client did not answer.
func (s *Server) LinkCode(ctx context.Context, number, code string) (DeviceInfo, error) {
	a := s.account(number)
	if a == nil {
		return DeviceInfo{}, fmt.Errorf("link code: phone %s: %w", number, ErrNotFound)
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	s.regMu.Lock()
	r := s.regsByLink[number]
	s.regMu.Unlock()
	if r == nil {
		return DeviceInfo{}, fmt.Errorf("link code: no client is waiting for a code for this phone: %w", ErrNotFound)
	}
	r.mu.Lock()
	ls := r.link
	if ls == nil || ls.acct != a {
		r.mu.Unlock()
		return DeviceInfo{}, fmt.Errorf("link code: no client is waiting for a code for this phone: %w", ErrNotFound)
	}
	if ls.code != nil {
		r.mu.Unlock()
		return DeviceInfo{}, fmt.Errorf("link code: a code was already entered: %w", ErrConflict)
	}
	wrappedPrimary, lc, err := a.phone.EnterLinkCode(code, ls.wrapped)
	if err != nil {
		r.mu.Unlock()
		return DeviceInfo{}, fmt.Errorf("link code: %v: %w", err, ErrInvalid)
	}
	ls.code = lc
	ls.result = make(chan linkResult, 1)
	r.mu.Unlock()

	ident := a.phone.IdentityKey()
	r.c.send(waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{
		"from": types.ServerJID, "type": "link_code_companion_reg", "id": s.nextRequestID(),
		"t": strconv.FormatInt(s.now().Unix(), 10),
	}, Content: []waBinary.Node{{Tag: "link_code_companion_reg", Attrs: waBinary.Attrs{"stage": "primary_hello"}, Content: []waBinary.Node{
		{Tag: "link_code_pairing_ref", Content: ls.ref},
		{Tag: "link_code_pairing_wrapped_primary_ephemeral_pub", Content: wrappedPrimary},
		{Tag: "primary_identity_pub", Content: ident[:]},
	}}}})

	t := time.NewTimer(s.cfg.pairTimeout)
	defer t.Stop()
	select {
	case res := <-ls.result:
		return res.info, res.err
	case <-ctx.Done():
		return DeviceInfo{}, fmt.Errorf("link code: %w", ctx.Err())
	case <-r.c.ctx.Done():
		// Pairing itself ends by closing the connection (515): give its result a
		// moment to arrive.
		late := time.NewTimer(time.Second)
		defer late.Stop()
		select {
		case res := <-ls.result:
			return res.info, res.err
		case <-late.C:
			return DeviceInfo{}, fmt.Errorf("link code: client disconnected: %w", ErrConflict)
		}
	case <-t.C:
		return DeviceInfo{}, fmt.Errorf("link code: waiting for companion_finish: %w", ErrTimeout)
	}
}

// handleCompanionFinish derives the ADV secret from the client's key bundle and pairs
// the device like a QR scan would.
func (s *Server) handleCompanionFinish(c *conn, r *registration, n *waBinary.Node, child waBinary.Node) {
	bundle := nodeBytes(child, "link_code_pairing_wrapped_key_bundle")
	compIdent := nodeBytes(child, "companion_identity_public")
	ref := nodeBytes(child, "link_code_pairing_ref")
	r.mu.Lock()
	ls := r.link
	var lc *phone.LinkCode
	if ls != nil {
		lc = ls.code
	}
	r.mu.Unlock()
	if lc == nil {
		s.violation(c.who(), "companion_finish before the phone entered a code", n)
		c.send(iqError(n, 400, "bad-request"))
		return
	}
	if len(bundle) == 0 || len(compIdent) != 32 || !bytes.Equal(ref, ls.ref) {
		s.violation(c.who(), "malformed companion_finish", n)
		c.send(iqError(n, 400, "bad-request"))
		ls.finish(linkResult{err: fmt.Errorf("link code: malformed companion_finish: %w", ErrConflict)})
		return
	}
	advSecret, ident, err := lc.Finish(bundle)
	if err != nil {
		c.send(iqError(n, 400, "bad-request"))
		if !errors.Is(err, phone.ErrLinkCodeMismatch) {
			s.violation(c.who(), fmt.Sprintf("cannot open the companion key bundle: %v", err), n)
		}
		ls.finish(linkResult{err: fmt.Errorf("link code: %v: %w", err, ErrInvalid)})
		return
	}
	if ident != r.identity || !bytes.Equal(compIdent, r.identity[:]) {
		s.violation(c.who(), "companion_finish names another identity than the registration's", n)
	}
	c.send(iqResult(n))
	s.goBackground(func() {
		info, err := s.pairDevice(s.ctx, ls.acct, r, advSecret)
		ls.finish(linkResult{info: info, err: err})
	})
}
