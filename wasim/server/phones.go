package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/phone"
)

// PhoneInfo describes an account's primary phone.
type PhoneInfo struct {
	Phone string `json:"phone"` // digits
	Name  string `json:"name"`  // push name
	JID   string `json:"jid"`   // number@s.whatsapp.net
	LID   string `json:"lid"`   // the account's LID
}

func (a *account) info() PhoneInfo {
	return PhoneInfo{Phone: a.number, Name: a.name(), JID: a.jid.String(), LID: a.lid.String()}
}

// ValidPhoneNumber reports whether number is 7–15 digits without a leading zero.
func ValidPhoneNumber(number string) bool {
	if len(number) < 7 || len(number) > 15 || number[0] == '0' {
		return false
	}
	for _, r := range number {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// CreatePhone creates an account with a fake primary phone. created is false when the
// phone already existed with the same name (the call is idempotent).
//
// Errors: ErrInvalid for a bad number or name, ErrConflict when the phone exists with
// another name.
func (s *Server) CreatePhone(ctx context.Context, number, name string) (info PhoneInfo, created bool, err error) {
	if !ValidPhoneNumber(number) {
		return PhoneInfo{}, false, fmt.Errorf("create phone: number must be 7-15 digits without a leading 0: %w", ErrInvalid)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = number
	}
	if utf8.RuneCountInString(name) > 64 {
		return PhoneInfo{}, false, fmt.Errorf("create phone: name is longer than 64 characters: %w", ErrInvalid)
	}
	if a := s.account(number); a != nil {
		return s.existingPhone(a, name)
	}
	a, err := newAccount(number, name)
	if err != nil {
		return PhoneInfo{}, false, fmt.Errorf("create phone: %w", err)
	}
	if prev, loaded := s.accounts.LoadOrStore(number, a); loaded {
		return s.existingPhone(prev.(*account), name)
	}
	s.lids.Store(a.lid.User, a)
	s.log.Info("phone_created", "phone", redact(number))
	return a.info(), true, nil
}

func (s *Server) existingPhone(a *account, name string) (PhoneInfo, bool, error) {
	if a.name() != name {
		return PhoneInfo{}, false, fmt.Errorf("create phone: %s exists with another name: %w", a.number, ErrConflict)
	}
	return a.info(), false, nil
}

// Phones lists every account's phone, ordered by number.
func (s *Server) Phones() []PhoneInfo {
	var out []PhoneInfo
	s.accounts.Range(func(_, v any) bool {
		out = append(out, v.(*account).info())
		return true
	})
	slices.SortFunc(out, func(a, b PhoneInfo) int { return strings.Compare(a.Phone, b.Phone) })
	return out
}

// Devices lists every linked companion device, ordered by JID.
func (s *Server) Devices() []DeviceInfo {
	out := []DeviceInfo{}
	s.accounts.Range(func(_, v any) bool {
		for _, d := range v.(*account).companionList() {
			out = append(out, d.info())
		}
		return true
	})
	slices.SortFunc(out, func(a, b DeviceInfo) int { return strings.Compare(a.JID, b.JID) })
	return out
}

// Messages returns what a phone received, oldest first, including every message the
// server acknowledged to its sender before the call (the phone decrypts in the
// background; Messages waits for it). Errors: ErrNotFound.
func (s *Server) Messages(number string) ([]InboxMessage, error) {
	a := s.account(number)
	if a == nil {
		return nil, fmt.Errorf("messages: phone %s: %w", number, ErrNotFound)
	}
	s.settlePhone(a)
	return a.inboxCopy(), nil
}

// Sent returns what a phone sent with the receipts received so far, oldest first.
// Errors: ErrNotFound.
func (s *Server) Sent(number string) ([]SentMessage, error) {
	a := s.account(number)
	if a == nil {
		return nil, fmt.Errorf("sent: phone %s: %w", number, ErrNotFound)
	}
	return a.sentCopy(), nil
}

// NewMessageID returns a WhatsApp-style message id: "3EB0" and 18 uppercase hex digits.
func NewMessageID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "3EB0" + strings.ToUpper(hex.EncodeToString(b))
}

// SendMessage is a phone sending a text to another account. The phone encrypts it for
// every linked device of the recipient (and a DeviceSentMessage copy for its own linked
// devices); the recipient's phone gets it in its inbox. It returns the message id.
//
// Errors: ErrInvalid for an empty text or sending to oneself, ErrNotFound for an
// unknown sender or recipient.
func (s *Server) SendMessage(ctx context.Context, from, to, text string) (string, error) {
	a := s.account(from)
	if a == nil {
		return "", fmt.Errorf("send: phone %s: %w", from, ErrNotFound)
	}
	ta := s.account(to)
	if ta == nil {
		return "", fmt.Errorf("send: recipient %s: %w", to, ErrNotFound)
	}
	if ta == a {
		return "", fmt.Errorf("send: a phone cannot message its own account: %w", ErrInvalid)
	}
	if text == "" {
		return "", fmt.Errorf("send: text is empty: %w", ErrInvalid)
	}
	// Both phones first take in what they were sent: the sender's sessions and the
	// order of the recipient's inbox are as if they had decrypted on arrival.
	s.settlePhone(a)
	s.settlePhone(ta)
	id := NewMessageID()
	now := s.now()
	msg := &waE2E.Message{Conversation: proto.String(text)}
	dsm := &waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{
		DestinationJID: proto.String(ta.jid.String()),
		Message:        msg,
	}}
	notePeers(a, ta)
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	a.addSent(&SentMessage{ID: id, To: to, Text: text, At: now, Receipts: []Receipt{}})
	ta.addInbox(InboxMessage{ID: id, From: from, FromJID: a.jid.String(), Text: text, At: now})
	base := waBinary.Attrs{
		"from":       a.jid,
		"sender_lid": a.lid,
		"id":         id,
		"t":          strconv.FormatInt(now.Unix(), 10),
		"type":       "text",
		"notify":     a.name(),
	}
	for _, d := range ta.companionList() {
		s.phoneDeliver(a, d, msg, base, nil)
	}
	for _, d := range a.companionList() {
		s.phoneDeliver(a, d, dsm, base, waBinary.Attrs{"recipient": ta.jid, "peer_recipient_lid": ta.lid})
	}
	return id, nil
}

// phoneDeliver encrypts msg from a's phone for device d and queues it. extra holds the
// attributes of copies for the phone's own devices (recipient).
func (s *Server) phoneDeliver(a *account, d *device, msg *waE2E.Message, base, extra waBinary.Attrs) {
	addr := phone.AddressOf(d.jid)
	var bundle *phone.Bundle
	if !a.phone.HasSession(addr) {
		b := d.bundle()
		bundle = &b
	}
	encType, ct, err := a.phone.Encrypt(addr, bundle, msg)
	if err != nil {
		s.violation(d.jid.String(), fmt.Sprintf("phone %s cannot encrypt for the device: %v", redact(a.number), err), nil)
		return
	}
	attrs := make(waBinary.Attrs, len(base)+len(extra))
	for k, v := range base {
		attrs[k] = v
	}
	for k, v := range extra {
		attrs[k] = v
	}
	d.deliver(waBinary.Node{Tag: "message", Attrs: attrs, Content: []waBinary.Node{{
		Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": encType}, Content: ct,
	}}})
}

// PhoneReceipt is a phone sending a delivered or read receipt for a message it
// received. The receipt goes to the sender's linked devices; when the sender is a
// phone it is recorded on that phone's sent message.
//
// Errors: ErrInvalid for an unknown type, ErrNotFound for an unknown phone or message.
func (s *Server) PhoneReceipt(ctx context.Context, number, messageID, typ string) error {
	if typ != "delivered" && typ != "read" {
		return fmt.Errorf("receipt: type must be delivered or read: %w", ErrInvalid)
	}
	a := s.account(number)
	if a == nil {
		return fmt.Errorf("receipt: phone %s: %w", number, ErrNotFound)
	}
	s.settlePhone(a)
	m, ok := a.inboxByID(messageID)
	if !ok {
		return fmt.Errorf("receipt: phone %s has no message %s: %w", number, messageID, ErrNotFound)
	}
	senderJID, err := types.ParseJID(m.FromJID)
	sa := s.accountFor(senderJID)
	if err != nil || sa == nil {
		return fmt.Errorf("receipt: sender of %s is gone: %w", messageID, ErrNotFound)
	}
	now := s.now()
	attrs := waBinary.Attrs{"from": a.jid, "id": messageID, "t": strconv.FormatInt(now.Unix(), 10)}
	if typ == "read" {
		attrs["type"] = "read"
	}
	if senderJID.Device == 0 {
		sa.addSentReceipt(messageID, Receipt{From: a.jid.String(), Type: typ, At: now})
	}
	for _, d := range sa.companionList() {
		d.deliver(waBinary.Node{Tag: "receipt", Attrs: attrs})
	}
	return nil
}

// Unacked is the number of stanzas queued for a device that it has not acknowledged
// yet (all of them while it is offline). Errors: ErrNotFound for an unknown device.
func (s *Server) Unacked(jid string) (int, error) {
	parsed, err := types.ParseJID(jid)
	if err != nil {
		return 0, fmt.Errorf("unacked: %q: %w", jid, ErrInvalid)
	}
	d := s.deviceFor(parsed)
	if d == nil {
		return 0, fmt.Errorf("unacked: device %s: %w", jid, ErrNotFound)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending.len(), nil
}
