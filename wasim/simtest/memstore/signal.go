package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Store holds one device's data: it implements every per-device store interface of
// whatsmeow (store.AllSessionSpecificStores). It is safe for concurrent use.
type Store struct {
	lids *LIDMap

	mu              sync.Mutex
	identities      map[string][32]byte
	sessions        map[string][]byte
	migratedPNs     map[string]bool
	preKeys         map[uint32]*preKeyEntry
	senderKeys      map[senderKeyID][]byte
	appStateKeys    map[string]store.AppStateSyncKey
	appStateVers    map[string]appStateVersion
	mutationMACs    map[string]map[string]versionedMAC
	contacts        map[types.JID]types.ContactInfo
	chatSettings    map[types.JID]types.LocalChatSettings
	msgSecrets      map[msgSecretID]msgSecret
	privacyTokens   map[types.JID]store.PrivacyToken
	bufferedEvents  map[[32]byte]store.BufferedEvent
	decryptionTxnMu sync.Mutex
}

var _ store.AllSessionSpecificStores = (*Store)(nil)

type preKeyEntry struct {
	key      *keys.PreKey
	uploaded bool
}

type senderKeyID struct{ group, user string }

// NewStore returns an empty per-device store using lids for LID↔PN lookups.
func NewStore(lids *LIDMap) *Store {
	return &Store{
		lids:           lids,
		identities:     make(map[string][32]byte),
		sessions:       make(map[string][]byte),
		migratedPNs:    make(map[string]bool),
		preKeys:        make(map[uint32]*preKeyEntry),
		senderKeys:     make(map[senderKeyID][]byte),
		appStateKeys:   make(map[string]store.AppStateSyncKey),
		appStateVers:   make(map[string]appStateVersion),
		mutationMACs:   make(map[string]map[string]versionedMAC),
		contacts:       make(map[types.JID]types.ContactInfo),
		chatSettings:   make(map[types.JID]types.LocalChatSettings),
		msgSecrets:     make(map[msgSecretID]msgSecret),
		privacyTokens:  make(map[types.JID]store.PrivacyToken),
		bufferedEvents: make(map[[32]byte]store.BufferedEvent),
	}
}

// PutIdentity stores a remote identity key.
func (s *Store) PutIdentity(_ context.Context, address string, key [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[address] = key
	return nil
}

// DeleteAllIdentities deletes every identity of phone ("user:*").
func (s *Store) DeleteAllIdentities(_ context.Context, phone string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	deletePrefix(s.identities, phone+":")
	return nil
}

// DeleteIdentity deletes one identity.
func (s *Store) DeleteIdentity(_ context.Context, address string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.identities, address)
	return nil
}

// IsTrustedIdentity trusts unknown identities and known ones that match.
func (s *Store) IsTrustedIdentity(_ context.Context, address string, key [32]byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, ok := s.identities[address]
	return !ok || existing == key, nil
}

// GetSession returns a session, or nil when there is none.
func (s *Store) GetSession(_ context.Context, address string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sessions[address]), nil
}

// HasSession reports whether a session exists.
func (s *Store) HasSession(_ context.Context, address string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sessions[address]
	return ok, nil
}

// GetManySessions returns every requested address, with nil for missing sessions.
func (s *Store) GetManySessions(_ context.Context, addresses []string) (map[string][]byte, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(addresses))
	for _, a := range addresses {
		out[a] = slices.Clone(s.sessions[a])
	}
	return out, nil
}

// PutSession stores a session.
func (s *Store) PutSession(_ context.Context, address string, session []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[address] = slices.Clone(session)
	return nil
}

// PutManySessions stores several sessions.
func (s *Store) PutManySessions(_ context.Context, sessions map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, sess := range sessions {
		s.sessions[a] = slices.Clone(sess)
	}
	return nil
}

// DeleteAllSessions deletes every session of phone ("user:*").
func (s *Store) DeleteAllSessions(_ context.Context, phone string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	deletePrefix(s.sessions, phone+":")
	return nil
}

// DeleteSession deletes one session.
func (s *Store) DeleteSession(_ context.Context, address string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, address)
	return nil
}

// MigratePNToLID moves sessions, identities and sender keys of a phone-number user to
// its LID, once per user, like sqlstore.
func (s *Store) MigratePNToLID(_ context.Context, pn, lid types.JID) error {
	pnUser, lidUser := pn.SignalAddressUser(), lid.SignalAddressUser()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.migratedPNs[pnUser] {
		return nil
	}
	s.migratedPNs[pnUser] = true
	movePrefix(s.sessions, pnUser+":", lidUser+":")
	movePrefix(s.identities, pnUser+":", lidUser+":")
	for id, key := range s.senderKeys {
		if strings.HasPrefix(id.user, pnUser+":") {
			delete(s.senderKeys, id)
			s.senderKeys[senderKeyID{id.group, lidUser + ":" + strings.TrimPrefix(id.user, pnUser+":")}] = key
		}
	}
	return nil
}

func deletePrefix[V any](m map[string]V, prefix string) {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			delete(m, k)
		}
	}
}

func movePrefix[V any](m map[string]V, from, to string) {
	for k, v := range m {
		if strings.HasPrefix(k, from) {
			delete(m, k)
			m[to+strings.TrimPrefix(k, from)] = v
		}
	}
}

// nextPreKeyID is one more than the highest stored prekey id, like sqlstore.
func (s *Store) nextPreKeyID() uint32 {
	var maxID uint32
	for id := range s.preKeys {
		maxID = max(maxID, id)
	}
	return maxID + 1
}

// GetOrGenPreKeys returns count prekeys not yet uploaded, generating the missing ones.
func (s *Store) GetOrGenPreKeys(_ context.Context, count uint32) ([]*keys.PreKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []uint32
	for id, e := range s.preKeys {
		if !e.uploaded {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]*keys.PreKey, 0, count)
	for _, id := range ids {
		if uint32(len(out)) == count {
			break
		}
		out = append(out, s.preKeys[id].key)
	}
	next := s.nextPreKeyID()
	for uint32(len(out)) < count {
		k := keys.NewPreKey(next)
		s.preKeys[next] = &preKeyEntry{key: k}
		out = append(out, k)
		next++
	}
	return out, nil
}

// GenOnePreKey generates one prekey already marked uploaded.
func (s *Store) GenOnePreKey(context.Context) (*keys.PreKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := keys.NewPreKey(s.nextPreKeyID())
	s.preKeys[k.KeyID] = &preKeyEntry{key: k, uploaded: true}
	return k, nil
}

// GetPreKey returns a prekey, or nil when there is none.
func (s *Store) GetPreKey(_ context.Context, id uint32) (*keys.PreKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.preKeys[id]; ok {
		return e.key, nil
	}
	return nil, nil
}

// RemovePreKey deletes a prekey.
func (s *Store) RemovePreKey(_ context.Context, id uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.preKeys, id)
	return nil
}

// MarkPreKeysAsUploaded marks every prekey up to upToID as uploaded.
func (s *Store) MarkPreKeysAsUploaded(_ context.Context, upToID uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.preKeys {
		if id <= upToID {
			e.uploaded = true
		}
	}
	return nil
}

// UploadedPreKeyCount counts uploaded prekeys.
func (s *Store) UploadedPreKeyCount(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.preKeys {
		if e.uploaded {
			n++
		}
	}
	return n, nil
}

// PutSenderKey stores a group sender key.
func (s *Store) PutSenderKey(_ context.Context, group, user string, session []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.senderKeys[senderKeyID{group, user}] = slices.Clone(session)
	return nil
}

// GetSenderKey returns a group sender key, or nil.
func (s *Store) GetSenderKey(_ context.Context, group, user string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.senderKeys[senderKeyID{group, user}]), nil
}
