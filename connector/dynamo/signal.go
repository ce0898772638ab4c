package dynamo

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	wtypes "go.mau.fi/whatsmeow/types"
)

const (
	identityPrefix  = "identity#"
	sessionPrefix   = "session#"
	senderKeyPrefix = "senderkey#"
)

// Sender keys are keyed user first ("senderkey#<user>#<group>") so that the keys of
// one user, in every group, form a prefix: MigratePNToLID moves them with one Query.
func senderKeySK(group, user string) string { return senderKeyPrefix + user + "#" + group }

// PutIdentity stores (or replaces) the identity key of a Signal address.
func (s *DeviceStore) PutIdentity(ctx context.Context, address string, key [32]byte) error {
	it := s.newItem(identityPrefix + address)
	it["key"] = attrB(key[:])
	if err := s.putItem(ctx, it, false); err != nil {
		return fmt.Errorf("put identity: %w", err)
	}
	return nil
}

// DeleteAllIdentities deletes the identity keys of every device of phone.
func (s *DeviceStore) DeleteAllIdentities(ctx context.Context, phone string) error {
	if err := s.deleteAllWithPrefix(ctx, identityPrefix+phone+":"); err != nil {
		return fmt.Errorf("delete identities: %w", err)
	}
	return nil
}

// DeleteIdentity deletes the identity key of one Signal address.
func (s *DeviceStore) DeleteIdentity(ctx context.Context, address string) error {
	if err := s.deleteItem(ctx, identityPrefix+address); err != nil {
		return fmt.Errorf("delete identity: %w", err)
	}
	return nil
}

// IsTrustedIdentity reports whether key matches the stored identity of address. An
// address without a stored identity is trusted (whatsmeow saves it right after).
func (s *DeviceStore) IsTrustedIdentity(ctx context.Context, address string, key [32]byte) (bool, error) {
	it, err := s.getItem(ctx, identityPrefix+address)
	if err != nil {
		return false, fmt.Errorf("get identity: %w", err)
	}
	if it == nil {
		return true, nil
	}
	stored := getB(it, "key")
	if len(stored) != 32 {
		return false, ErrInvalidLength
	}
	return bytes.Equal(stored, key[:]), nil
}

// GetSession returns the serialized session with address, or nil when there is none.
func (s *DeviceStore) GetSession(ctx context.Context, address string) ([]byte, error) {
	it, err := s.getItem(ctx, sessionPrefix+address)
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return getB(it, "v"), nil
}

// HasSession reports whether a session with address is stored.
func (s *DeviceStore) HasSession(ctx context.Context, address string) (bool, error) {
	it, err := s.getItem(ctx, sessionPrefix+address)
	if err != nil {
		return false, fmt.Errorf("get session: %w", err)
	}
	return it != nil, nil
}

// GetManySessions reads the sessions of many addresses with BatchGetItem. Every
// address is a key of the result; those without a session map to nil.
func (s *DeviceStore) GetManySessions(ctx context.Context, addresses []string) (map[string][]byte, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	sks := make([]string, len(addresses))
	for i, a := range addresses {
		sks[i] = sessionPrefix + a
	}
	found, err := s.getItems(ctx, sks)
	if err != nil {
		return nil, fmt.Errorf("get sessions: %w", err)
	}
	out := make(map[string][]byte, len(addresses))
	for _, a := range addresses {
		out[a] = getB(found[sessionPrefix+a], "v")
	}
	return out, nil
}

// PutSession stores (or replaces) the session with address.
func (s *DeviceStore) PutSession(ctx context.Context, address string, session []byte) error {
	it := s.newItem(sessionPrefix + address)
	it["v"] = attrB(session)
	if err := s.putItem(ctx, it, false); err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	return nil
}

// PutManySessions stores many sessions with BatchWriteItem (25 per call). Unlike
// sqlstore's transaction it is not atomic across calls; whatsmeow only uses it to
// flush its in-memory session cache, whose entries are independent.
func (s *DeviceStore) PutManySessions(ctx context.Context, sessions map[string][]byte) error {
	items := make([]item, 0, len(sessions))
	for addr, sess := range sessions {
		it := s.newItem(sessionPrefix + addr)
		it["v"] = attrB(sess)
		items = append(items, it)
	}
	if err := s.putItems(ctx, items); err != nil {
		return fmt.Errorf("put sessions: %w", err)
	}
	return nil
}

// DeleteAllSessions deletes the sessions with every device of phone.
func (s *DeviceStore) DeleteAllSessions(ctx context.Context, phone string) error {
	if err := s.deleteAllWithPrefix(ctx, sessionPrefix+phone+":"); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// DeleteSession deletes the session with address.
func (s *DeviceStore) DeleteSession(ctx context.Context, address string) error {
	if err := s.deleteItem(ctx, sessionPrefix+address); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (s *DeviceStore) deleteAllWithPrefix(ctx context.Context, prefix string) error {
	if err := s.writable(); err != nil {
		return err
	}
	_, err := s.t.deletePrefix(ctx, s.pk, prefix)
	return err
}

// PutSenderKey stores (or replaces) the sender key of user in group.
func (s *DeviceStore) PutSenderKey(ctx context.Context, group, user string, session []byte) error {
	it := s.newItem(senderKeySK(group, user))
	it["v"] = attrB(session)
	it["g"] = attrS(group)
	it["u"] = attrS(user)
	if err := s.putItem(ctx, it, false); err != nil {
		return fmt.Errorf("put sender key: %w", err)
	}
	return nil
}

// GetSenderKey returns the sender key of user in group, or nil when there is none.
func (s *DeviceStore) GetSenderKey(ctx context.Context, group, user string) ([]byte, error) {
	it, err := s.getItem(ctx, senderKeySK(group, user))
	if err != nil {
		return nil, fmt.Errorf("get sender key: %w", err)
	}
	return getB(it, "v"), nil
}

// MigratePNToLID moves the sessions, identity keys and sender keys of every device of
// pn to the same devices of lid, replacing what lid already had, as sqlstore does. Each
// item moves atomically (put under the new address and delete of the old one in one
// transaction, up to 50 items per call), so an interrupted migration never duplicates
// or loses an item and a later call finishes it. Like sqlstore, each PN is migrated
// once per process.
func (s *DeviceStore) MigratePNToLID(ctx context.Context, pn, lid wtypes.JID) error {
	pnSignal := pn.SignalAddressUser()
	s.migratedLock.Lock()
	done := s.migratedPNs[pnSignal]
	s.migratedPNs[pnSignal] = true
	s.migratedLock.Unlock()
	if done {
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	lidSignal := lid.SignalAddressUser()
	var moves [][]types.TransactWriteItem
	counts := map[string]int{}
	move := func(prefix string, rename func(it item) item) error {
		return s.t.queryPrefix(ctx, s.pk, prefix+pnSignal+":", false, false, 0, func(it item) bool {
			moved := rename(it)
			moves = append(moves, []types.TransactWriteItem{txPut(s.t, moved, ""), txDelete(s.t, s.pk, getS(it, attrSK), "", nil)})
			counts[prefix]++
			return true
		})
	}
	renameAddr := func(prefix string) func(it item) item {
		return func(it item) item {
			addr := strings.TrimPrefix(getS(it, attrSK), prefix)
			out := copyItem(it)
			out[attrSK] = attrS(prefix + strings.Replace(addr, pnSignal, lidSignal, 1))
			return out
		}
	}
	err := move(sessionPrefix, renameAddr(sessionPrefix))
	if err == nil {
		err = move(identityPrefix, renameAddr(identityPrefix))
	}
	if err == nil {
		err = move(senderKeyPrefix, func(it item) item {
			user := strings.Replace(getS(it, "u"), pnSignal, lidSignal, 1)
			out := copyItem(it)
			out[attrSK] = attrS(senderKeySK(getS(it, "g"), user))
			out["u"] = attrS(user)
			return out
		})
	}
	if err == nil {
		err = s.t.transactChunks(ctx, chunkGroups(moves), false)
	}
	if err != nil {
		s.migratedLock.Lock()
		delete(s.migratedPNs, pnSignal)
		s.migratedLock.Unlock()
		return fmt.Errorf("migrate PN sessions to LID: %w", err)
	}
	if len(moves) > 0 {
		s.c.log.Infof("Migrated %d sessions, %d identity keys and %d sender keys from PN to LID",
			counts[sessionPrefix], counts[identityPrefix], counts[senderKeyPrefix])
	}
	return nil
}

func copyItem(it item) item {
	out := make(item, len(it))
	for k, v := range it {
		out[k] = v
	}
	return out
}
