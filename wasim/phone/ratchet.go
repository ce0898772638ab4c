package phone

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"strconv"

	"go.mau.fi/libsignal/cipher"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/message"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/state/record"
	waStore "go.mau.fi/whatsmeow/store"
)

// maxFutureMessages is how far ahead of its receiving chain a message may be,
// as in libsignal's session cipher.
const maxFutureMessages = 2000

// decryptInChain decrypts the common case of a Signal message without libsignal's
// session cipher: the next message(s) on a receiving chain the phone's current
// session with the sender already has, so no ratchet step. It is the same
// computation as libsignal's DecryptWithState for that case, minus what makes
// libsignal slow for a simulator: debug logging that resolves its caller and formats
// the whole session on every call even though nothing is printed, and the copy of
// the record a failure would otherwise leave half-updated (verifyMAC stands in for
// SignalMessage.VerifyMac, which logs the same way). Here nothing is changed
// until the MAC has been verified and the body decrypted.
//
// ok is false when the message is not that case or does not verify; the caller
// then runs libsignal's full path, which reaches the same verdict (and also tries
// the previous session states, old counters and new chains).
func (s *memStore) decryptInChain(addr *protocol.SignalAddress, msg *protocol.SignalMessage) (plaintext []byte, ok bool) {
	rec, found := s.sessions[addr.String()]
	if !found {
		return nil, false
	}
	state := rec.SessionState()
	if !state.HasSenderChain() || msg.MessageVersion() != state.Version() {
		return nil, false
	}
	theirRatchet := msg.SenderRatchetKey()
	if !state.HasReceiverChain(theirRatchet) {
		return nil, false
	}
	chainKey := state.ReceiverChainKey(theirRatchet) // a copy
	counter := msg.Counter()
	if chainKey.Index() > counter || counter-chainKey.Index() > maxFutureMessages {
		return nil, false
	}
	var skipped []*message.Keys
	for chainKey.Index() < counter {
		skipped = append(skipped, chainKey.MessageKeys())
		chainKey = chainKey.NextKey()
	}
	keys := chainKey.MessageKeys()
	if !verifyMAC(msg, state.RemoteIdentityKey(), state.LocalIdentityKey(), keys.MacKey()) {
		return nil, false
	}
	plaintext, err := cipher.DecryptCbc(keys.Iv(), keys.CipherKey(), bytes.Clone(msg.Body()))
	if err != nil {
		return nil, false
	}
	// What libsignal's getOrCreateMessageKeys and DecryptWithState do to the state,
	// in the same order, followed by what its DecryptAndGetKey stores.
	for _, k := range skipped {
		state.SetMessageKeys(theirRatchet, k)
	}
	state.SetReceiverChainKey(theirRatchet, chainKey.NextKey())
	state.ClearUnackPreKeyMessage()
	s.identities[addr.String()] = state.RemoteIdentityKey().PublicKey().PublicKey()
	return plaintext, true
}

// decryptPreKeyInChain is decryptInChain for a pkmsg that belongs to a session the
// phone already has (whatsmeow keeps sending pkmsg until the phone answers): then
// libsignal's session builder has nothing to do but record the sender's identity, and
// the message inside is decrypted as any other.
func (s *memStore) decryptPreKeyInChain(addr *protocol.SignalAddress, msg *protocol.PreKeySignalMessage) ([]byte, bool) {
	rec, found := s.sessions[addr.String()]
	if !found || !hasSessionState(rec, msg) {
		return nil, false
	}
	plaintext, ok := s.decryptInChain(addr, msg.WhisperMessage())
	if ok {
		s.identities[addr.String()] = msg.IdentityKey().PublicKey().PublicKey()
	}
	return plaintext, ok
}

// hasSessionState is the check libsignal's builder makes before setting up a
// session for a pkmsg: does a state (current or previous) come from its base key.
func hasSessionState(rec *record.Session, msg *protocol.PreKeySignalMessage) bool {
	return rec.HasSessionState(msg.MessageVersion(), msg.BaseKey().Serialize())
}

// verifyMAC is libsignal's SignalMessage.VerifyMac without its debug logging: an
// HMAC-SHA256 keyed by macKey over both identity keys, the message version as decimal
// text and the serialized message without version and MAC, truncated to MacLength.
func verifyMAC(msg *protocol.SignalMessage, sender, receiver *identity.Key, macKey []byte) bool {
	st := msg.Structure() // a copy
	theirs := st.Mac
	st.Mac, st.Version = nil, 0
	h := hmac.New(sha256.New, macKey)
	if msg.MessageVersion() >= 3 {
		h.Write(sender.PublicKey().Serialize())
		h.Write(receiver.PublicKey().Serialize())
	}
	h.Write([]byte(strconv.Itoa(msg.MessageVersion())))
	h.Write(waStore.SignalProtobufSerializer.SignalMessage.Serialize(st))
	return hmac.Equal(h.Sum(nil)[:protocol.MacLength], theirs)
}

// encryptInChain encrypts on the sending chain of the phone's current session with
// addr, the same steps as libsignal's SessionCipher.Encrypt without its debug
// logging and without copying the record: the chain advances only once the message
// is built. ok is false without a session (or sending chain); the caller then uses
// libsignal.
func (s *memStore) encryptInChain(addr *protocol.SignalAddress, padded []byte) (out protocol.CiphertextMessage, ok bool) {
	rec, found := s.sessions[addr.String()]
	if !found {
		return nil, false
	}
	state := rec.SessionState()
	if !state.HasSenderChain() {
		return nil, false
	}
	ser := waStore.SignalProtobufSerializer
	chainKey := state.SenderChainKey()
	keys := chainKey.MessageKeys()
	body, err := cipher.EncryptCbc(keys.Iv(), keys.CipherKey(), padded)
	if err != nil {
		return nil, false
	}
	msg, err := protocol.NewSignalMessage(state.Version(), chainKey.Index(), state.PreviousCounter(), keys.MacKey(),
		state.SenderRatchetKey(), body, state.LocalIdentityKey(), state.RemoteIdentityKey(), ser.SignalMessage)
	if err != nil {
		return nil, false
	}
	out = msg
	if state.HasUnacknowledgedPreKeyMessage() {
		items, err := state.UnackPreKeyMessageItems()
		if err != nil {
			return nil, false
		}
		out, err = protocol.NewPreKeySignalMessage(state.Version(), state.LocalRegistrationID(), items.PreKeyID(),
			items.SignedPreKeyID(), items.BaseKey(), state.LocalIdentityKey(), msg, ser.PreKeySignalMessage, ser.SignalMessage)
		if err != nil {
			return nil, false
		}
	}
	state.SetSenderChainKey(chainKey.NextKey())
	s.identities[addr.String()] = state.RemoteIdentityKey().PublicKey().PublicKey()
	return out, true
}
