package server

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// notePeers remembers that two accounts exchanged messages, so each hears about the
// other's device list changes.
func notePeers(a, b *account) {
	if a == b {
		return
	}
	a.notePeer(b)
	b.notePeer(a)
}

func (a *account) notePeer(p *account) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.peers == nil {
		a.peers = make(map[*account]struct{})
	}
	a.peers[p] = struct{}{}
}

func (a *account) peerList() []*account {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*account, 0, len(a.peers))
	for p := range a.peers {
		out = append(out, p)
	}
	return out
}

// notifyDevices tells the account's other devices and the devices of every account it
// talked to that a device was linked ("add") or unlinked ("remove"), the way WhatsApp
// does with a devices notification, so their cached device lists stay right.
func (s *Server) notifyDevices(a *account, changed *device, tag string) {
	pn := []types.JID{a.jid}
	for _, d := range a.companionList() {
		pn = append(pn, d.jid)
	}
	node := waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{
		"from": a.jid,
		"lid":  a.lid,
		"type": "devices",
		"id":   s.nextRequestID(),
		"t":    strconv.FormatInt(s.now().Unix(), 10),
	}, Content: []waBinary.Node{{
		Tag: tag,
		// Only the phone-number list: clients key their device caches by the JID they
		// queried, and they query by phone number.
		Attrs:   waBinary.Attrs{"device_hash": deviceListHash(pn)},
		Content: []waBinary.Node{{Tag: "device", Attrs: waBinary.Attrs{"jid": changed.jid}}},
	}}}
	for _, acct := range append(a.peerList(), a) {
		for _, d := range acct.companionList() {
			if d != changed {
				d.deliver(node)
			}
		}
	}
}

// deviceListHash is WhatsApp's participant hash of a device list ("2:" and the
// base64 of the first 6 bytes of SHA-256 over the sorted AD strings), which whatsmeow
// compares with its own after applying a change.
func deviceListHash(devices []types.JID) string {
	strs := make([]string, len(devices))
	for i, d := range devices {
		strs[i] = d.ADString()
	}
	slices.Sort(strs)
	sum := sha256.Sum256([]byte(strings.Join(strs, "")))
	return "2:" + base64.RawStdEncoding.EncodeToString(sum[:6])
}
