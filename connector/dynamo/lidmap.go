package dynamo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"
	wtypes "go.mau.fi/whatsmeow/types"
)

// The LID map is global (shared by every device, like sqlstore's whatsmeow_lid_map)
// and kept as two partitions so that each direction is one GetItem: item (pk "pn",
// sk <phone user>) holds the LID user in "v", and item (pk "lid", sk <LID user>) holds
// the phone user. sqlstore's table keeps the pairs one-to-one (lid is the primary key,
// pn is unique); here every change is one TransactWriteItems that writes both items
// and deletes the pairs it replaces, on the condition that the items it read have not
// changed meanwhile (other connectors share the map), and is retried otherwise.
const (
	lidPK = "lid"
	pnPK  = "pn"
	// maxMappingsPerTxn keeps a transaction within 100 actions (4 items per mapping).
	maxMappingsPerTxn = 25
	// negativeTTL is how long "no mapping" answers are cached; a mapping stored by
	// another process shows up after at most this long.
	negativeTTL = time.Minute
)

// LIDMap implements store.LIDStore on the table, with an in-memory cache.
type LIDMap struct {
	t *table

	mu      sync.RWMutex
	pnToLID map[string]string
	lidToPN map[string]string
	missing map[string]time.Time // "pn#<user>" or "lid#<user>" → until when it is known absent
}

var _ store.LIDStore = (*LIDMap)(nil)

func newLIDMap(t *table) *LIDMap {
	return &LIDMap{t: t, pnToLID: map[string]string{}, lidToPN: map[string]string{}, missing: map[string]time.Time{}}
}

// GetLIDForPN returns the LID of a phone-number JID (same device), or an empty JID.
func (m *LIDMap) GetLIDForPN(ctx context.Context, pn wtypes.JID) (wtypes.JID, error) {
	if pn.Server != wtypes.DefaultUserServer {
		return wtypes.JID{}, fmt.Errorf("get LID for PN: not a phone-number JID (server %s)", pn.Server)
	}
	return m.lookup(ctx, pn, pnPK, wtypes.HiddenUserServer, m.pnToLID)
}

// GetPNForLID returns the phone-number JID of a LID (same device), or an empty JID.
func (m *LIDMap) GetPNForLID(ctx context.Context, lid wtypes.JID) (wtypes.JID, error) {
	if lid.Server != wtypes.HiddenUserServer {
		return wtypes.JID{}, fmt.Errorf("get PN for LID: not a LID JID (server %s)", lid.Server)
	}
	return m.lookup(ctx, lid, lidPK, wtypes.DefaultUserServer, m.lidToPN)
}

func (m *LIDMap) lookup(ctx context.Context, src wtypes.JID, pk, targetServer string, cache map[string]string) (wtypes.JID, error) {
	m.mu.RLock()
	target, ok := cache[src.User]
	absent := m.missing[pk+"#"+src.User].After(time.Now())
	m.mu.RUnlock()
	if !ok && !absent {
		it, err := m.t.get(ctx, pk, src.User)
		if err != nil {
			return wtypes.JID{}, fmt.Errorf("get LID mapping: %w", err)
		}
		target = getS(it, "v")
		m.mu.Lock()
		m.remember(pk, src.User, target)
		m.mu.Unlock()
	}
	if target == "" {
		return wtypes.JID{}, nil
	}
	return wtypes.JID{User: target, Device: src.Device, Server: targetServer}, nil
}

// remember caches what the table holds for (pk, user); m.mu must be held.
func (m *LIDMap) remember(pk, user, target string) {
	if target == "" {
		m.missing[pk+"#"+user] = time.Now().Add(negativeTTL)
		if pk == pnPK {
			delete(m.pnToLID, user)
		} else {
			delete(m.lidToPN, user)
		}
		return
	}
	delete(m.missing, pk+"#"+user)
	if pk == pnPK {
		m.pnToLID[user] = target
	} else {
		m.lidToPN[user] = target
	}
}

// GetManyLIDsForPNs returns the LIDs of many phone-number JIDs (same devices), reading
// the ones not cached with BatchGetItem. JIDs without a LID, and JIDs that are not
// phone numbers, are absent from the result.
func (m *LIDMap) GetManyLIDsForPNs(ctx context.Context, pns []wtypes.JID) (map[wtypes.JID]wtypes.JID, error) {
	if len(pns) == 0 {
		return nil, nil
	}
	result := make(map[wtypes.JID]wtypes.JID, len(pns))
	var keys []item
	queued := map[string]bool{}
	now := time.Now()
	m.mu.RLock()
	for _, pn := range pns {
		if pn.Server != wtypes.DefaultUserServer {
			continue
		}
		if lid, ok := m.pnToLID[pn.User]; ok {
			result[pn] = wtypes.JID{User: lid, Device: pn.Device, Server: wtypes.HiddenUserServer}
		} else if !m.missing[pnPK+"#"+pn.User].After(now) && !queued[pn.User] {
			queued[pn.User] = true
			keys = append(keys, keyOf(pnPK, pn.User))
		}
	}
	m.mu.RUnlock()
	if len(keys) == 0 {
		return result, nil
	}
	found, err := m.t.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("get LID mappings: %w", err)
	}
	lids := make(map[string]string, len(found))
	for _, it := range found {
		lids[getS(it, attrSK)] = getS(it, "v")
	}
	m.mu.Lock()
	for user := range queued {
		m.remember(pnPK, user, lids[user])
	}
	m.mu.Unlock()
	for _, pn := range pns {
		if lid := lids[pn.User]; lid != "" && queued[pn.User] {
			result[pn] = wtypes.JID{User: lid, Device: pn.Device, Server: wtypes.HiddenUserServer}
		}
	}
	return result, nil
}

// PutLIDMapping stores that lid and pn are the same user, replacing any other
// mapping of either of them.
func (m *LIDMap) PutLIDMapping(ctx context.Context, lid, pn wtypes.JID) error {
	if lid.Server != wtypes.HiddenUserServer || pn.Server != wtypes.DefaultUserServer {
		return fmt.Errorf("put LID mapping: invalid pair (servers %s and %s)", lid.Server, pn.Server)
	}
	return m.put(ctx, []store.LIDMapping{{LID: lid, PN: pn}})
}

// PutManyLIDMappings stores many mappings in order (a later one wins), skipping
// invalid pairs and pairs already known, in transactions of up to 25 mappings.
func (m *LIDMap) PutManyLIDMappings(ctx context.Context, mappings []store.LIDMapping) error {
	valid := make([]store.LIDMapping, 0, len(mappings))
	for _, mp := range mappings {
		if mp.LID.Server == wtypes.HiddenUserServer && mp.PN.Server == wtypes.DefaultUserServer {
			valid = append(valid, mp)
		}
	}
	return m.put(ctx, valid)
}

func (m *LIDMap) put(ctx context.Context, mappings []store.LIDMapping) error {
	todo := make([]store.LIDMapping, 0, len(mappings))
	m.mu.RLock()
	for _, mp := range mappings {
		if m.pnToLID[mp.PN.User] != mp.LID.User || m.lidToPN[mp.LID.User] != mp.PN.User {
			todo = append(todo, mp)
		}
	}
	m.mu.RUnlock()
	for start := 0; start < len(todo); start += maxMappingsPerTxn {
		if err := m.putChunk(ctx, todo[start:min(start+maxMappingsPerTxn, len(todo))]); err != nil {
			return fmt.Errorf("put LID mappings: %w", err)
		}
	}
	return nil
}

type mapSlot struct {
	pk, user   string
	orig, want string // "" means absent
	known      bool   // orig was read from the table (otherwise it is what the pair implies)
}

func (m *LIDMap) putChunk(ctx context.Context, chunk []store.LIDMapping) error {
	for attempt := 0; ; attempt++ {
		slots, err := m.plan(ctx, chunk)
		if err != nil {
			return err
		}
		actions := make([]types.TransactWriteItem, 0, len(slots))
		for _, sl := range slots {
			if sl.known && sl.orig == sl.want {
				continue
			}
			cond, vals := "attribute_not_exists(sk)", item{}
			if sl.orig != "" {
				vals[":o"] = attrS(sl.orig)
				cond = "v = :o"
				if !sl.known {
					cond = "attribute_not_exists(sk) OR v = :o"
				}
			}
			if sl.want == "" {
				actions = append(actions, txDelete(m.t, sl.pk, sl.user, cond, vals))
				continue
			}
			it := keyOf(sl.pk, sl.user)
			it["v"] = attrS(sl.want)
			a := txPut(m.t, it, cond)
			if len(vals) > 0 {
				a.Put.ExpressionAttributeValues = vals
			}
			actions = append(actions, a)
		}
		err = m.t.transactWrite(ctx, actions, false)
		if err == nil {
			m.mu.Lock()
			for _, sl := range slots {
				m.remember(sl.pk, sl.user, sl.want)
			}
			m.mu.Unlock()
			return nil
		}
		if !isTxConditionFailed(err) || attempt >= retryAttempts {
			return err
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return err
		}
	}
}

// plan reads the items of a chunk and applies its mappings in order to that view,
// the way sqlstore's delete-then-upsert does row by row. Each slot is an item with
// its value before and after.
func (m *LIDMap) plan(ctx context.Context, chunk []store.LIDMapping) ([]*mapSlot, error) {
	var keys []item
	for _, mp := range chunk {
		keys = append(keys, keyOf(pnPK, mp.PN.User), keyOf(lidPK, mp.LID.User))
	}
	found, err := m.t.batchGet(ctx, dedupeKeys(keys))
	if err != nil {
		return nil, err
	}
	slots := map[string]*mapSlot{}
	var order []*mapSlot
	slot := func(pk, user, implied string) *mapSlot {
		if sl, ok := slots[pk+"#"+user]; ok {
			return sl
		}
		sl := &mapSlot{pk: pk, user: user, orig: implied, want: implied}
		slots[pk+"#"+user] = sl
		order = append(order, sl)
		return sl
	}
	for _, it := range found {
		sl := slot(getS(it, attrPK), getS(it, attrSK), getS(it, "v"))
		sl.known = true
	}
	for _, mp := range chunk {
		p := slot(pnPK, mp.PN.User, "")
		l := slot(lidPK, mp.LID.User, "")
		p.known, l.known = true, true // read above: absent when not found
		if old := p.want; old != "" && old != mp.LID.User {
			slot(lidPK, old, mp.PN.User).want = "" // the LID that pointed at this PN loses it
		}
		if old := l.want; old != "" && old != mp.PN.User {
			slot(pnPK, old, mp.LID.User).want = "" // the PN this LID had loses it
		}
		p.want, l.want = mp.LID.User, mp.PN.User
	}
	return order, nil
}

func dedupeKeys(keys []item) []item {
	seen := map[string]bool{}
	out := keys[:0:0]
	for _, k := range keys {
		id := getS(k, attrPK) + "#" + getS(k, attrSK)
		if !seen[id] {
			seen[id] = true
			out = append(out, k)
		}
	}
	return out
}
