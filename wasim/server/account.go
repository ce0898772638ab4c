package server

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/phone"
)

// maxInbox and maxSent bound what a fake phone remembers, so long benchmark runs do
// not grow without limit. The oldest entries go first.
const (
	maxInbox = 10000
	maxSent  = 10000
)

// InboxMessage is a message a fake phone received and decrypted.
type InboxMessage struct {
	ID      string    `json:"id"`
	From    string    `json:"from"`    // sender's phone number (digits)
	FromJID string    `json:"fromJid"` // sender's device JID
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
	// Enc is the Signal message type it arrived as: "pkmsg" (it set up a session),
	// "msg", or "" when a phone sent it.
	Enc string `json:"enc,omitempty"`
	// Copies counts how often the same message (same sender, same id) arrived. A
	// phone shows a message once however often it is resent, as WhatsApp clients do;
	// Copies > 1 tells a test that the sender sent it again.
	Copies int `json:"copies"`
}

// SentMessage is a message a fake phone sent, with the receipts that came back.
type SentMessage struct {
	ID       string    `json:"id"`
	To       string    `json:"to"` // recipient's phone number (digits)
	Text     string    `json:"text"`
	At       time.Time `json:"at"`
	Receipts []Receipt `json:"receipts"`
}

// Receipt is a receipt a device sent for a message: Type is "delivered", "read",
// "played" or the raw receipt type WhatsApp uses for anything else.
type Receipt struct {
	From string    `json:"from"` // the JID of the device that sent the receipt
	Type string    `json:"type"`
	At   time.Time `json:"at"`
}

// account is one WhatsApp account: its fake primary phone (device 0) and its linked
// companion devices.
type account struct {
	number string
	jid    types.JID // number@s.whatsapp.net
	lid    types.JID // random@lid
	phone  *phone.Phone

	sendMu sync.Mutex // serialises the phone's outgoing messages (encrypt and queue in order)

	rxMu    sync.Mutex
	rx      phoneRxQueue // message copies the phone still has to decrypt
	rxSpace *sync.Cond   // on rxMu: signalled when a worker takes the queued copies

	mu         sync.Mutex
	nextDevice uint16
	companions map[uint16]*device
	inbox      []InboxMessage
	inboxIndex map[string]int // sender/id → position in inbox
	sent       []*SentMessage
	peers      map[*account]struct{} // accounts it exchanged messages with
}

func newAccount(number, name string) (*account, error) {
	lid, err := randomLID()
	if err != nil {
		return nil, err
	}
	p, err := phone.New(number, name, lid)
	if err != nil {
		return nil, fmt.Errorf("create phone: %w", err)
	}
	a := &account{
		number:     number,
		jid:        types.NewJID(number, types.DefaultUserServer),
		lid:        lid,
		phone:      p,
		nextDevice: 1,
		companions: make(map[uint16]*device),
	}
	a.rxSpace = sync.NewCond(&a.rxMu)
	return a, nil
}

// randomLID returns a random 15-digit LID user, as WhatsApp assigns them.
func randomLID() (types.JID, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(9e14))
	if err != nil {
		return types.JID{}, fmt.Errorf("read random lid: %w", err)
	}
	user := new(big.Int).Add(n, big.NewInt(1e14)).String()
	return types.NewJID(user, types.HiddenUserServer), nil
}

func (a *account) name() string { return a.phone.Name }

// companionList is a snapshot of the linked devices, ordered by device id.
func (a *account) companionList() []*device {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*device, 0, len(a.companions))
	for _, d := range a.companions {
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y *device) int { return int(x.id) - int(y.id) })
	return out
}

func (a *account) companion(id uint16) *device {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.companions[id]
}

func (a *account) allocDeviceID() uint16 {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.nextDevice
	a.nextDevice++
	return id
}

func (a *account) addCompanion(d *device) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.companions[d.id] = d
}

func (a *account) removeCompanion(d *device) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.companions[d.id] != d {
		return false
	}
	delete(a.companions, d.id)
	return true
}

// addInbox lists m on the phone, once per sender and message id: a resent message
// only raises the first copy's Copies.
func (a *account) addInbox(m InboxMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := m.From + "/" + m.ID
	if i, ok := a.inboxIndex[key]; ok {
		a.inbox[i].Copies++
		return
	}
	if a.inboxIndex == nil {
		a.inboxIndex = make(map[string]int)
	}
	m.Copies = 1
	a.inbox = append(a.inbox, m)
	a.inboxIndex[key] = len(a.inbox) - 1
	// Trim in chunks of a tenth, so re-indexing is amortized over many messages.
	if len(a.inbox) > maxInbox+maxInbox/10 {
		drop := len(a.inbox) - maxInbox
		for _, old := range a.inbox[:drop] {
			delete(a.inboxIndex, old.From+"/"+old.ID)
		}
		a.inbox = slices.Delete(a.inbox, 0, drop)
		for k, i := range a.inboxIndex {
			a.inboxIndex[k] = i - drop
		}
	}
}

func (a *account) inboxCopy() []InboxMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.inbox)
}

func (a *account) inboxByID(id string) (InboxMessage, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.inbox) - 1; i >= 0; i-- {
		if a.inbox[i].ID == id {
			return a.inbox[i], true
		}
	}
	return InboxMessage{}, false
}

func (a *account) addSent(m *SentMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent = append(a.sent, m)
	if len(a.sent) > maxSent {
		a.sent = slices.Delete(a.sent, 0, len(a.sent)-maxSent)
	}
}

// addSentReceipt records a receipt on a message the phone sent. It reports whether
// the message is one of the phone's.
func (a *account) addSentReceipt(id string, r Receipt) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.sent) - 1; i >= 0; i-- {
		if a.sent[i].ID == id {
			a.sent[i].Receipts = append(a.sent[i].Receipts, r)
			return true
		}
	}
	return false
}

func (a *account) sentCopy() []SentMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]SentMessage, len(a.sent))
	for i, m := range a.sent {
		out[i] = *m
		out[i].Receipts = slices.Clone(m.Receipts)
		if out[i].Receipts == nil {
			out[i].Receipts = []Receipt{}
		}
	}
	return out
}
