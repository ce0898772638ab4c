package memstore

import (
	"context"
	"fmt"
	"sync"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// LIDMap is an in-memory store.LIDStore: the LID ↔ phone-number mapping shared by all
// devices of a Container. It is safe for concurrent use.
type LIDMap struct {
	mu      sync.RWMutex
	pnToLID map[string]string
	lidToPN map[string]string
}

var _ store.LIDStore = (*LIDMap)(nil)

// NewLIDMap returns an empty map.
func NewLIDMap() *LIDMap {
	return &LIDMap{pnToLID: make(map[string]string), lidToPN: make(map[string]string)}
}

// PutLIDMapping maps lid to pn, replacing older mappings of either.
func (m *LIDMap) PutLIDMapping(_ context.Context, lid, pn types.JID) error {
	if lid.Server != types.HiddenUserServer || pn.Server != types.DefaultUserServer {
		return fmt.Errorf("memstore: invalid lid mapping %s/%s", lid, pn)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(lid.User, pn.User)
	return nil
}

func (m *LIDMap) put(lid, pn string) {
	if old, ok := m.pnToLID[pn]; ok {
		delete(m.lidToPN, old)
	}
	if old, ok := m.lidToPN[lid]; ok {
		delete(m.pnToLID, old)
	}
	m.pnToLID[pn] = lid
	m.lidToPN[lid] = pn
}

// PutManyLIDMappings stores several mappings, skipping invalid ones.
func (m *LIDMap) PutManyLIDMappings(_ context.Context, mappings []store.LIDMapping) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mp := range mappings {
		if mp.LID.Server == types.HiddenUserServer && mp.PN.Server == types.DefaultUserServer {
			m.put(mp.LID.User, mp.PN.User)
		}
	}
	return nil
}

// GetPNForLID returns the phone-number JID of a LID (same device), or an empty JID.
func (m *LIDMap) GetPNForLID(_ context.Context, lid types.JID) (types.JID, error) {
	if lid.Server != types.HiddenUserServer {
		return types.JID{}, fmt.Errorf("memstore: GetPNForLID with non-LID JID %s", lid)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	pn, ok := m.lidToPN[lid.User]
	if !ok {
		return types.JID{}, nil
	}
	return types.JID{User: pn, Device: lid.Device, Server: types.DefaultUserServer}, nil
}

// GetLIDForPN returns the LID of a phone-number JID (same device), or an empty JID.
func (m *LIDMap) GetLIDForPN(_ context.Context, pn types.JID) (types.JID, error) {
	if pn.Server != types.DefaultUserServer {
		return types.JID{}, fmt.Errorf("memstore: GetLIDForPN with non-PN JID %s", pn)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	lid, ok := m.pnToLID[pn.User]
	if !ok {
		return types.JID{}, nil
	}
	return types.JID{User: lid, Device: pn.Device, Server: types.HiddenUserServer}, nil
}

// GetManyLIDsForPNs returns the LIDs of the phone-number JIDs that have one.
func (m *LIDMap) GetManyLIDsForPNs(_ context.Context, pns []types.JID) (map[types.JID]types.JID, error) {
	if len(pns) == 0 {
		return nil, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[types.JID]types.JID, len(pns))
	for _, pn := range pns {
		if pn.Server != types.DefaultUserServer {
			continue
		}
		if lid, ok := m.pnToLID[pn.User]; ok {
			out[pn] = types.JID{User: lid, Device: pn.Device, Server: types.HiddenUserServer}
		}
	}
	return out, nil
}

// alternatives lists jid and, when known, its other form (LID for a phone number and
// the reverse).
func (m *LIDMap) alternatives(ctx context.Context, jid types.JID) []types.JID {
	out := []types.JID{jid}
	var alt types.JID
	switch jid.Server {
	case types.DefaultUserServer:
		alt, _ = m.GetLIDForPN(ctx, jid)
	case types.HiddenUserServer:
		alt, _ = m.GetPNForLID(ctx, jid)
	}
	if !alt.IsEmpty() {
		out = append(out, alt)
	}
	return out
}
