package phone

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/state/store"
	waStore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/util/keys"
)

const (
	// preKeyBatch is how many one-time prekeys are generated when the unserved pool
	// runs dry. Generation is lazy so that creating thousands of phones stays cheap.
	preKeyBatch = 25
	// maxServedPreKeys bounds how many served-but-unused one-time prekeys a phone keeps
	// private keys for; the oldest are forgotten first, as a real phone eventually does.
	maxServedPreKeys = 1000
	// maxPreKeyID is the largest one-time prekey ID: IDs travel as 3 bytes and
	// libsignal treats 0xFFFFFF as "no prekey".
	maxPreKeyID = 0xFFFFFE
)

// memStore is the phone's libsignal store: identity, prekeys, the signed prekey and
// sessions, all in memory. It has no lock of its own: every call happens with the
// owning Phone's mutex held. Sessions are kept parsed; LoadSession hands libsignal a
// copy and StoreSession keeps the copy libsignal updated, so a failed decryption
// never leaves a half-updated record behind, and no message pays for parsing and
// serializing its session.
type memStore struct {
	identity *keys.KeyPair
	regID    uint32
	signed   *keys.PreKey

	preKeys    map[uint32]*keys.KeyPair // every prekey whose private key is kept
	unserved   []uint32                 // prekey IDs not handed out yet, oldest first
	served     []uint32                 // handed-out prekey IDs, oldest first
	nextPreKey uint32

	sessions   map[string]*record.Session // address → session; never handed out, only copies
	identities map[string][32]byte        // address → remote identity key
}

var (
	_ store.IdentityKey  = (*memStore)(nil)
	_ store.PreKey       = (*memStore)(nil)
	_ store.SignedPreKey = (*memStore)(nil)
	_ store.Session      = (*memStore)(nil)
)

func newMemStore(identity *keys.KeyPair, regID uint32, signed *keys.PreKey) *memStore {
	return &memStore{
		identity:   identity,
		regID:      regID,
		signed:     signed,
		preKeys:    make(map[uint32]*keys.KeyPair),
		nextPreKey: 1,
		sessions:   make(map[string]*record.Session),
		identities: make(map[string][32]byte),
	}
}

// servePreKey hands out the oldest unserved one-time prekey, generating a batch when
// none is left.
func (s *memStore) servePreKey() *PreKey {
	if len(s.unserved) == 0 {
		for range preKeyBatch {
			id := s.nextPreKey
			s.nextPreKey++
			if s.nextPreKey > maxPreKeyID {
				s.nextPreKey = 1
			}
			s.preKeys[id] = keys.NewKeyPair()
			s.unserved = append(s.unserved, id)
		}
	}
	id := s.unserved[0]
	s.unserved = s.unserved[1:]
	s.served = append(s.served, id)
	if len(s.served) > maxServedPreKeys {
		delete(s.preKeys, s.served[0])
		s.served = s.served[1:]
	}
	return &PreKey{ID: id, Pub: *s.preKeys[id].Pub}
}

// GetIdentityKeyPair implements store.IdentityKey.
func (s *memStore) GetIdentityKeyPair() *identity.KeyPair {
	return identity.NewKeyPair(
		identity.NewKey(ecc.NewDjbECPublicKey(*s.identity.Pub)),
		ecc.NewDjbECPrivateKey(*s.identity.Priv),
	)
}

// GetLocalRegistrationID implements store.IdentityKey.
func (s *memStore) GetLocalRegistrationID() uint32 { return s.regID }

// SaveIdentity implements store.IdentityKey.
func (s *memStore) SaveIdentity(_ context.Context, address *protocol.SignalAddress, key *identity.Key) error {
	s.identities[address.String()] = key.PublicKey().PublicKey()
	return nil
}

// IsTrustedIdentity implements store.IdentityKey. Every identity is trusted: a changed
// key simply replaces the old one, which is what whatsmeow does with AutoTrustIdentity.
func (s *memStore) IsTrustedIdentity(context.Context, *protocol.SignalAddress, *identity.Key) (bool, error) {
	return true, nil
}

// LoadPreKey implements store.PreKey; it returns nil, nil for an unknown ID, which
// libsignal turns into ErrNoOneTimeKeyFound.
func (s *memStore) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	kp, ok := s.preKeys[id]
	if !ok {
		return nil, nil
	}
	return record.NewPreKey(id, ecc.NewECKeyPair(
		ecc.NewDjbECPublicKey(*kp.Pub),
		ecc.NewDjbECPrivateKey(*kp.Priv),
	), nil), nil
}

// StorePreKey implements store.PreKey.
func (s *memStore) StorePreKey(_ context.Context, id uint32, rec *record.PreKey) error {
	pub := rec.KeyPair().PublicKey().PublicKey()
	priv := rec.KeyPair().PrivateKey().Serialize()
	s.preKeys[id] = &keys.KeyPair{Pub: &pub, Priv: &priv}
	return nil
}

// ContainsPreKey implements store.PreKey.
func (s *memStore) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.preKeys[id]
	return ok, nil
}

// RemovePreKey implements store.PreKey; libsignal calls it once a pkmsg used the key.
func (s *memStore) RemovePreKey(_ context.Context, id uint32) error {
	delete(s.preKeys, id)
	return nil
}

// LoadSignedPreKey implements store.SignedPreKey; nil, nil means unknown.
func (s *memStore) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	if id != s.signed.KeyID {
		return nil, nil
	}
	return s.signedRecord(), nil
}

func (s *memStore) signedRecord() *record.SignedPreKey {
	return record.NewSignedPreKey(s.signed.KeyID, 0, ecc.NewECKeyPair(
		ecc.NewDjbECPublicKey(*s.signed.Pub),
		ecc.NewDjbECPrivateKey(*s.signed.Priv),
	), *s.signed.Signature, nil)
}

// LoadSignedPreKeys implements store.SignedPreKey.
func (s *memStore) LoadSignedPreKeys(context.Context) ([]*record.SignedPreKey, error) {
	return []*record.SignedPreKey{s.signedRecord()}, nil
}

// StoreSignedPreKey implements store.SignedPreKey. The phone's signed prekey never
// rotates, so storing another one is a no-op.
func (s *memStore) StoreSignedPreKey(context.Context, uint32, *record.SignedPreKey) error {
	return nil
}

// ContainsSignedPreKey implements store.SignedPreKey.
func (s *memStore) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	return id == s.signed.KeyID, nil
}

// RemoveSignedPreKey implements store.SignedPreKey; the one signed prekey stays.
func (s *memStore) RemoveSignedPreKey(context.Context, uint32) error { return nil }

// LoadSession implements store.Session; an unknown address gets a fresh record.
// libsignal updates the record it gets in place, also on a decryption that fails
// halfway, so it gets a copy: only StoreSession changes what the phone keeps.
func (s *memStore) LoadSession(_ context.Context, address *protocol.SignalAddress) (*record.Session, error) {
	ser := waStore.SignalProtobufSerializer
	rec, ok := s.sessions[address.String()]
	if !ok {
		return record.NewSession(ser.Session, ser.State), nil
	}
	return copySession(rec)
}

// copySession copies a session through its serializable structure, without the
// protobuf round trip. The copy shares byte slices (keys) with the original, which
// libsignal only ever replaces, never writes into; every list and state it changes
// in place (states, chains, message keys) is new.
func copySession(rec *record.Session) (*record.Session, error) {
	ser := waStore.SignalProtobufSerializer
	cp, err := record.NewSessionFromStructure(rec.Structure(), ser.Session, ser.State)
	if err != nil {
		return nil, fmt.Errorf("copy session: %w", err)
	}
	return cp, nil
}

// GetSubDeviceSessions implements store.Session: the devices of name with a session.
func (s *memStore) GetSubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	var devices []uint32
	for addr := range s.sessions {
		i := strings.LastIndexByte(addr, ':')
		if i < 0 || addr[:i] != name {
			continue
		}
		if d, err := strconv.ParseUint(addr[i+1:], 10, 32); err == nil {
			devices = append(devices, uint32(d))
		}
	}
	return devices, nil
}

// StoreSession implements store.Session.
func (s *memStore) StoreSession(_ context.Context, address *protocol.SignalAddress, rec *record.Session) error {
	s.sessions[address.String()] = rec
	return nil
}

// ContainsSession implements store.Session.
func (s *memStore) ContainsSession(_ context.Context, address *protocol.SignalAddress) (bool, error) {
	_, ok := s.sessions[address.String()]
	return ok, nil
}

// DeleteSession implements store.Session.
func (s *memStore) DeleteSession(_ context.Context, address *protocol.SignalAddress) error {
	delete(s.sessions, address.String())
	return nil
}

// DeleteAllSessions implements store.Session.
func (s *memStore) DeleteAllSessions(context.Context) error {
	clear(s.sessions)
	return nil
}
