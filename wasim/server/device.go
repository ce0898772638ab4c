package server

import (
	"sync"
	"sync/atomic"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/phone"
)

// maxPending bounds a device's queue of unacknowledged stanzas; beyond it the oldest
// are dropped (WhatsApp also expires offline messages).
const maxPending = 5000

// pendingStanza is a stanza queued for a device until the device acknowledges it
// (an ack, or a receipt for a message).
type pendingStanza struct {
	key   string // class|id|from|type
	node  waBinary.Node
	acked bool
}

// loginBlock is a fault that makes logins fail until a deadline.
type loginBlock struct {
	reason string // failure reason attribute: 402, 405, 503
	code   string // temp-ban code (402 only)
	until  time.Time
}

// device is a linked companion device of an account.
type device struct {
	acct     *account
	id       uint16
	jid      types.JID // number:id@s.whatsapp.net
	lid      types.JID // lid:id@lid
	noise    [32]byte  // Noise static key: authenticates logins
	identity [32]byte  // Signal identity key
	pairedAt time.Time

	keepalives atomic.Int64 // keepalive pings answered, over all connections
	latencySet atomic.Bool  // a latency fault was injected once: writers check currentLatency

	mu        sync.Mutex
	regID     uint32
	signed    phone.SignedPreKey
	preKeys   []phone.PreKey
	conn      *conn
	removed   bool
	pending   pendingQueue
	block     *loginBlock
	latency   time.Duration
	latencyTo time.Time
}

// bundle returns the device's public keys, consuming one uploaded one-time prekey.
func (d *device) bundle() phone.Bundle {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := phone.Bundle{RegistrationID: d.regID, IdentityKey: d.identity, SignedPreKey: d.signed}
	if len(d.preKeys) > 0 {
		pk := d.preKeys[0]
		d.preKeys = d.preKeys[1:]
		b.PreKey = &pk
	}
	return b
}

// PreKeyCount is the number of one-time prekeys the server holds for the device.
func (d *device) preKeyCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.preKeys)
}

func (d *device) liveConn() *conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn
}

func (d *device) isRemoved() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.removed
}

// deliver queues a stanza for the device and sends it at once when the device is
// connected. The stanza stays queued until the device acknowledges it, and is sent
// again on the next login if the connection ends first.
func (d *device) deliver(n waBinary.Node) {
	key := stanzaKey(n)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed {
		return
	}
	d.pending.add(key, n, maxPending)
	if d.conn != nil && d.conn.loggedIn() {
		d.conn.send(n)
	}
}

// acknowledge drops the queued stanza the device has acknowledged: class is the tag
// of the stanza (message, receipt, notification), id and from its attributes, and typ
// the receipt type for receipts.
func (d *device) acknowledge(class string, id, from, typ any) bool {
	key := pendingKey(class, id, from, typ)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending.ack(key)
}

// currentLatency is the extra delay for frames to this device now.
func (d *device) currentLatency(now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.latency > 0 && now.Before(d.latencyTo) {
		return d.latency
	}
	return 0
}

// stanzaKey identifies a queued stanza the way the client's answer names it.
func stanzaKey(n waBinary.Node) string {
	var typ any
	if n.Tag == "receipt" {
		typ = n.Attrs["type"]
	}
	return pendingKey(n.Tag, n.Attrs["id"], n.Attrs["from"], typ)
}

func pendingKey(class string, id, from, typ any) string {
	return class + "|" + attrString(id) + "|" + attrString(from) + "|" + attrString(typ)
}

// attrString renders an attribute value (string or JID) the same way whichever form
// it arrived in.
func attrString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case types.JID:
		return x.String()
	case *types.JID:
		if x == nil {
			return ""
		}
		return x.String()
	default:
		return ""
	}
}
