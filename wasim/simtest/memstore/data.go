package memstore

import (
	"bytes"
	"context"
	"slices"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

type appStateVersion struct {
	version uint64
	hash    [128]byte
}

type versionedMAC struct {
	version uint64
	mac     []byte
}

type msgSecretID struct {
	chat, sender types.JID
	id           types.MessageID
}

type msgSecret struct {
	secret []byte
	sender types.JID
}

// PutAppStateSyncKey stores an app state key unless a newer one with that id exists.
func (s *Store) PutAppStateSyncKey(_ context.Context, id []byte, key store.AppStateSyncKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.appStateKeys[string(id)]; ok && old.Timestamp >= key.Timestamp {
		return nil
	}
	s.appStateKeys[string(id)] = key
	return nil
}

// GetAppStateSyncKey returns an app state key, or nil.
func (s *Store) GetAppStateSyncKey(_ context.Context, id []byte) (*store.AppStateSyncKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.appStateKeys[string(id)]; ok {
		return &k, nil
	}
	return nil, nil
}

// GetLatestAppStateSyncKeyID returns the id of the newest app state key, or nil.
func (s *Store) GetLatestAppStateSyncKeyID(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best []byte
	var bestTS int64
	for id, k := range s.appStateKeys {
		if best == nil || k.Timestamp > bestTS {
			best, bestTS = []byte(id), k.Timestamp
		}
	}
	return best, nil
}

// PutAppStateVersion stores a collection's version and hash.
func (s *Store) PutAppStateVersion(_ context.Context, name string, version uint64, hash [128]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appStateVers[name] = appStateVersion{version, hash}
	return nil
}

// GetAppStateVersion returns a collection's version and hash (zero when unknown).
func (s *Store) GetAppStateVersion(_ context.Context, name string) (uint64, [128]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.appStateVers[name]
	return v.version, v.hash, nil
}

// DeleteAppStateVersion forgets a collection's version.
func (s *Store) DeleteAppStateVersion(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.appStateVers, name)
	return nil
}

// PutAppStateMutationMACs stores mutation MACs of a collection version.
func (s *Store) PutAppStateMutationMACs(_ context.Context, name string, version uint64, mutations []store.AppStateMutationMAC) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mutationMACs[name]
	if m == nil {
		m = make(map[string]versionedMAC)
		s.mutationMACs[name] = m
	}
	for _, mut := range mutations {
		if old, ok := m[string(mut.IndexMAC)]; ok && old.version > version {
			continue
		}
		m[string(mut.IndexMAC)] = versionedMAC{version, slices.Clone(mut.ValueMAC)}
	}
	return nil
}

// DeleteAppStateMutationMACs deletes mutation MACs by index MAC.
func (s *Store) DeleteAppStateMutationMACs(_ context.Context, name string, indexMACs [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, idx := range indexMACs {
		delete(s.mutationMACs[name], string(idx))
	}
	return nil
}

// GetAppStateMutationMAC returns the latest value MAC for an index MAC, or nil.
func (s *Store) GetAppStateMutationMAC(_ context.Context, name string, indexMAC []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mutationMACs[name][string(indexMAC)].mac), nil
}

// PutPushName stores a contact's push name and reports whether it changed.
func (s *Store) PutPushName(_ context.Context, user types.JID, pushName string) (bool, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[user]
	if c.PushName == pushName {
		return false, "", nil
	}
	prev := c.PushName
	c.PushName, c.Found = pushName, true
	s.contacts[user] = c
	return true, prev, nil
}

// PutBusinessName stores a contact's business name and reports whether it changed.
func (s *Store) PutBusinessName(_ context.Context, user types.JID, businessName string) (bool, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[user]
	if c.BusinessName == businessName {
		return false, "", nil
	}
	prev := c.BusinessName
	c.BusinessName, c.Found = businessName, true
	s.contacts[user] = c
	return true, prev, nil
}

// PutContactName stores a contact's names (whatsmeow passes first name, then full name).
func (s *Store) PutContactName(_ context.Context, user types.JID, firstName, fullName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[user]
	c.FirstName, c.FullName, c.Found = firstName, fullName, true
	s.contacts[user] = c
	return nil
}

// PutAllContactNames stores many contacts' names.
func (s *Store) PutAllContactNames(_ context.Context, contacts []store.ContactEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range contacts {
		c := s.contacts[e.JID]
		c.FirstName, c.FullName, c.Found = e.FirstName, e.FullName, true
		s.contacts[e.JID] = c
	}
	return nil
}

// PutManyRedactedPhones stores redacted phone numbers of contacts.
func (s *Store) PutManyRedactedPhones(_ context.Context, entries []store.RedactedPhoneEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		c := s.contacts[e.JID]
		c.RedactedPhone, c.Found = e.RedactedPhone, true
		s.contacts[e.JID] = c
	}
	return nil
}

// GetContact returns a contact (Found false when unknown).
func (s *Store) GetContact(_ context.Context, user types.JID) (types.ContactInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contacts[user], nil
}

// GetAllContacts returns every known contact.
func (s *Store) GetAllContacts(context.Context) (map[types.JID]types.ContactInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[types.JID]types.ContactInfo, len(s.contacts))
	for k, v := range s.contacts {
		out[k] = v
	}
	return out, nil
}

func (s *Store) updateChat(chat types.JID, fn func(*types.LocalChatSettings)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.chatSettings[chat]
	fn(&cs)
	cs.Found = true
	s.chatSettings[chat] = cs
}

// PutMutedUntil stores a chat's mute deadline.
func (s *Store) PutMutedUntil(_ context.Context, chat types.JID, mutedUntil time.Time) error {
	s.updateChat(chat, func(cs *types.LocalChatSettings) { cs.MutedUntil = mutedUntil })
	return nil
}

// PutPinned stores whether a chat is pinned.
func (s *Store) PutPinned(_ context.Context, chat types.JID, pinned bool) error {
	s.updateChat(chat, func(cs *types.LocalChatSettings) { cs.Pinned = pinned })
	return nil
}

// PutArchived stores whether a chat is archived.
func (s *Store) PutArchived(_ context.Context, chat types.JID, archived bool) error {
	s.updateChat(chat, func(cs *types.LocalChatSettings) { cs.Archived = archived })
	return nil
}

// GetChatSettings returns a chat's settings (Found false when unknown).
func (s *Store) GetChatSettings(_ context.Context, chat types.JID) (types.LocalChatSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chatSettings[chat], nil
}

// PutMessageSecrets stores message secrets, keeping existing ones.
func (s *Store) PutMessageSecrets(ctx context.Context, inserts []store.MessageSecretInsert) error {
	for _, in := range inserts {
		_ = s.PutMessageSecret(ctx, in.Chat, in.Sender, in.ID, in.Secret)
	}
	return nil
}

// PutMessageSecret stores a message secret unless one exists.
func (s *Store) PutMessageSecret(_ context.Context, chat, sender types.JID, id types.MessageID, secret []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := msgSecretID{chat.ToNonAD(), sender.ToNonAD(), id}
	if _, ok := s.msgSecrets[key]; !ok {
		s.msgSecrets[key] = msgSecret{slices.Clone(secret), sender.ToNonAD()}
	}
	return nil
}

// GetMessageSecret returns a message secret and its real sender, trying the LID and
// phone-number forms of chat and sender.
func (s *Store) GetMessageSecret(ctx context.Context, chat, sender types.JID, id types.MessageID) ([]byte, types.JID, error) {
	chats := s.lids.alternatives(ctx, chat.ToNonAD())
	senders := s.lids.alternatives(ctx, sender.ToNonAD())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range chats {
		for _, snd := range senders {
			if m, ok := s.msgSecrets[msgSecretID{c, snd, id}]; ok {
				return slices.Clone(m.secret), m.sender, nil
			}
		}
	}
	return nil, types.JID{}, nil
}

// PutPrivacyTokens stores privacy tokens.
func (s *Store) PutPrivacyTokens(_ context.Context, tokens ...store.PrivacyToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		t.User = t.User.ToNonAD()
		t.Timestamp = time.Unix(t.Timestamp.Unix(), 0)
		s.privacyTokens[t.User] = t
	}
	return nil
}

// GetPrivacyToken returns the newest privacy token for a user (either JID form), or nil.
func (s *Store) GetPrivacyToken(ctx context.Context, user types.JID) (*store.PrivacyToken, error) {
	alts := s.lids.alternatives(ctx, user.ToNonAD())
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *store.PrivacyToken
	for _, u := range alts {
		if t, ok := s.privacyTokens[u]; ok && (best == nil || t.Timestamp.After(best.Timestamp)) {
			t.User = user.ToNonAD()
			best = &t
		}
	}
	return best, nil
}

// GetBufferedEvent returns a buffered decrypted event, or nil.
func (s *Store) GetBufferedEvent(_ context.Context, hash [32]byte) (*store.BufferedEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.bufferedEvents[hash]; ok {
		e.Plaintext = bytes.Clone(e.Plaintext)
		return &e, nil
	}
	return nil, nil
}

// PutBufferedEvent buffers a decrypted event.
func (s *Store) PutBufferedEvent(_ context.Context, hash [32]byte, plaintext []byte, serverTimestamp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bufferedEvents[hash] = store.BufferedEvent{
		Plaintext:  bytes.Clone(plaintext),
		ServerTime: time.Unix(serverTimestamp.Unix(), 0),
		InsertTime: time.UnixMilli(time.Now().UnixMilli()),
	}
	return nil
}

// DoDecryptionTxn runs fn; decryptions of one device run one at a time.
func (s *Store) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	s.decryptionTxnMu.Lock()
	defer s.decryptionTxnMu.Unlock()
	return fn(ctx)
}

// ClearBufferedEventPlaintext drops a buffered event's plaintext, keeping its hash.
func (s *Store) ClearBufferedEventPlaintext(_ context.Context, hash [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.bufferedEvents[hash]; ok {
		e.Plaintext = nil
		s.bufferedEvents[hash] = e
	}
	return nil
}

// DeleteOldBufferedHashes deletes buffered events older than 14 days.
func (s *Store) DeleteOldBufferedHashes(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := time.Now().Add(-14 * 24 * time.Hour)
	for h, e := range s.bufferedEvents {
		if e.InsertTime.Before(cutoff) {
			delete(s.bufferedEvents, h)
		}
	}
	return nil
}
