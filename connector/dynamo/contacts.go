package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"
	wtypes "go.mau.fi/whatsmeow/types"
)

// Contacts are items "contact#<JID>" with the attributes fn (first name), full, push,
// biz and rp (redacted phone); each setter updates only its own attributes, with
// UpdateItem, as sqlstore's upserts do. Like sqlstore, the store keeps the contacts it
// has read in memory and skips writes that would not change anything.
// Chat settings are items "chatset#<JID>" with muted (unix seconds, -1 forever),
// pinned and archived.
const (
	contactPrefix = "contact#"
	chatSetPrefix = "chatset#"
)

var contactNames = map[string]string{"#fn": "fn", "#full": "full", "#push": "push", "#biz": "biz", "#rp": "rp"}

func (s *DeviceStore) getContact(ctx context.Context, user wtypes.JID) (*wtypes.ContactInfo, error) {
	if cached, ok := s.contactCache[user]; ok {
		return cached, nil
	}
	it, err := s.t.get(ctx, s.pk, contactPrefix+user.String())
	if err != nil {
		return nil, fmt.Errorf("get contact: %w", err)
	}
	info := contactInfo(it)
	s.contactCache[user] = &info
	return &info, nil
}

func contactInfo(it item) wtypes.ContactInfo {
	return wtypes.ContactInfo{
		Found: it != nil, FirstName: getS(it, "fn"), FullName: getS(it, "full"),
		PushName: getS(it, "push"), BusinessName: getS(it, "biz"), RedactedPhone: getS(it, "rp"),
	}
}

func (s *DeviceStore) setContact(ctx context.Context, user wtypes.JID, expr string, values item) error {
	if err := s.writable(); err != nil {
		return err
	}
	names := make(map[string]string)
	for k, v := range contactNames {
		if strings.Contains(expr, k) {
			names[k] = v
		}
	}
	return s.t.update(ctx, s.pk, contactPrefix+user.String(), expr, "", names, values)
}

// PutPushName stores the push name of user. It reports whether the name changed and
// what it was before.
func (s *DeviceStore) PutPushName(ctx context.Context, user wtypes.JID, pushName string) (bool, string, error) {
	s.contactLock.Lock()
	defer s.contactLock.Unlock()
	cached, err := s.getContact(ctx, user)
	if err != nil {
		return false, "", err
	}
	if cached.PushName == pushName {
		return false, "", nil
	}
	if err := s.setContact(ctx, user, "SET #push = :v", item{":v": attrS(pushName)}); err != nil {
		return false, "", fmt.Errorf("put push name: %w", err)
	}
	previous := cached.PushName
	cached.PushName = pushName
	cached.Found = true
	return true, previous, nil
}

// PutBusinessName stores the verified business name of user. It reports whether the
// name changed and what it was before.
func (s *DeviceStore) PutBusinessName(ctx context.Context, user wtypes.JID, businessName string) (bool, string, error) {
	s.contactLock.Lock()
	defer s.contactLock.Unlock()
	cached, err := s.getContact(ctx, user)
	if err != nil {
		return false, "", err
	}
	if cached.BusinessName == businessName {
		return false, "", nil
	}
	if err := s.setContact(ctx, user, "SET #biz = :v", item{":v": attrS(businessName)}); err != nil {
		return false, "", fmt.Errorf("put business name: %w", err)
	}
	previous := cached.BusinessName
	cached.BusinessName = businessName
	cached.Found = true
	return true, previous, nil
}

// PutContactName stores the first and full name of user from the address book. The
// parameter order is sqlstore's (first name, then full name), which is how whatsmeow calls it.
func (s *DeviceStore) PutContactName(ctx context.Context, user wtypes.JID, firstName, fullName string) error {
	s.contactLock.Lock()
	defer s.contactLock.Unlock()
	cached, err := s.getContact(ctx, user)
	if err != nil {
		return err
	}
	if cached.FirstName == firstName && cached.FullName == fullName {
		return nil
	}
	err = s.setContact(ctx, user, "SET #fn = :fn, #full = :full", item{":fn": attrS(firstName), ":full": attrS(fullName)})
	if err != nil {
		return fmt.Errorf("put contact name: %w", err)
	}
	cached.FirstName = firstName
	cached.FullName = fullName
	cached.Found = true
	return nil
}

// PutAllContactNames stores the names of many contacts. DynamoDB has no batch update
// and BatchWriteItem would replace whole items (losing push and business names), so
// the updates go as TransactWriteItems of up to 100 Update actions. Of duplicate JIDs
// the first entry wins and the in-memory contact cache is cleared, as in sqlstore.
func (s *DeviceStore) PutAllContactNames(ctx context.Context, contacts []store.ContactEntry) error {
	if len(contacts) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	first := make(map[wtypes.JID]store.ContactEntry, len(contacts))
	order := make([]wtypes.JID, 0, len(contacts))
	for _, c := range contacts {
		if _, ok := first[c.JID]; !ok { // the first entry of a JID wins, as in sqlstore
			order = append(order, c.JID)
			first[c.JID] = c
		}
	}
	if dups := len(contacts) - len(order); dups > 0 {
		s.c.log.Warnf("%d duplicate contacts found in PutAllContactNames", dups)
	}
	actions := make([]types.TransactWriteItem, 0, len(order))
	for _, jid := range order {
		c := first[jid]
		a := txUpdate(s.t, s.pk, contactPrefix+jid.String(), "SET #fn = :fn, #full = :full",
			item{":fn": attrS(c.FirstName), ":full": attrS(c.FullName)})
		a.Update.ExpressionAttributeNames = map[string]string{"#fn": "fn", "#full": "full"}
		actions = append(actions, a)
	}
	if err := s.t.transactWrite(ctx, actions, false); err != nil {
		return fmt.Errorf("put contact names: %w", err)
	}
	s.contactLock.Lock()
	s.contactCache = make(map[wtypes.JID]*wtypes.ContactInfo)
	s.contactLock.Unlock()
	return nil
}

// PutManyRedactedPhones stores the redacted phone numbers of many contacts, in
// transactions of up to 100 updates like PutAllContactNames.
func (s *DeviceStore) PutManyRedactedPhones(ctx context.Context, entries []store.RedactedPhoneEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	last := make(map[wtypes.JID]string, len(entries))
	order := make([]wtypes.JID, 0, len(entries))
	for _, e := range entries {
		if _, ok := last[e.JID]; !ok { // the first entry of a JID wins, as in sqlstore
			order = append(order, e.JID)
			last[e.JID] = e.RedactedPhone
		}
	}
	if dups := len(entries) - len(order); dups > 0 {
		s.c.log.Warnf("%d duplicate contacts found in PutManyRedactedPhones", dups)
	}
	actions := make([]types.TransactWriteItem, 0, len(order))
	for _, jid := range order {
		a := txUpdate(s.t, s.pk, contactPrefix+jid.String(), "SET #rp = :rp", item{":rp": attrS(last[jid])})
		a.Update.ExpressionAttributeNames = map[string]string{"#rp": "rp"}
		actions = append(actions, a)
	}
	if err := s.t.transactWrite(ctx, actions, false); err != nil {
		return fmt.Errorf("put redacted phones: %w", err)
	}
	s.contactLock.Lock()
	for _, jid := range order {
		if cached, ok := s.contactCache[jid]; !ok || cached.RedactedPhone != last[jid] {
			delete(s.contactCache, jid)
		}
	}
	s.contactLock.Unlock()
	return nil
}

// GetContact returns what is known about user; Found is false when nothing is.
func (s *DeviceStore) GetContact(ctx context.Context, user wtypes.JID) (wtypes.ContactInfo, error) {
	s.contactLock.Lock()
	defer s.contactLock.Unlock()
	info, err := s.getContact(ctx, user)
	if err != nil {
		return wtypes.ContactInfo{}, err
	}
	return *info, nil
}

// GetAllContacts returns every stored contact (a paginated Query of the partition's
// contact items) and refreshes the in-memory cache with them.
func (s *DeviceStore) GetAllContacts(ctx context.Context) (map[wtypes.JID]wtypes.ContactInfo, error) {
	s.contactLock.Lock()
	defer s.contactLock.Unlock()
	out := make(map[wtypes.JID]wtypes.ContactInfo)
	var parseErr error
	err := s.t.queryPrefix(ctx, s.pk, contactPrefix, false, false, 0, func(it item) bool {
		jid, err := wtypes.ParseJID(getS(it, attrSK)[len(contactPrefix):])
		if err != nil {
			parseErr = fmt.Errorf("parse contact JID: %w", err)
			return false
		}
		info := contactInfo(it)
		out[jid] = info
		s.contactCache[jid] = &info
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("query contacts: %w", err)
	}
	return out, parseErr
}

func (s *DeviceStore) putChatSetting(ctx context.Context, chat wtypes.JID, attr string, v item) error {
	if err := s.writable(); err != nil {
		return err
	}
	return s.t.update(ctx, s.pk, chatSetPrefix+chat.String(), "SET #a = :v", "", map[string]string{"#a": attr}, v)
}

// PutMutedUntil stores until when chat is muted (store.MutedForever, or zero for not muted).
func (s *DeviceStore) PutMutedUntil(ctx context.Context, chat wtypes.JID, mutedUntil time.Time) error {
	var val int64
	if mutedUntil.Equal(store.MutedForever) {
		val = -1
	} else if !mutedUntil.IsZero() {
		val = mutedUntil.Unix()
	}
	if err := s.putChatSetting(ctx, chat, "muted", item{":v": attrN(val)}); err != nil {
		return fmt.Errorf("put muted until: %w", err)
	}
	return nil
}

// PutPinned stores whether chat is pinned.
func (s *DeviceStore) PutPinned(ctx context.Context, chat wtypes.JID, pinned bool) error {
	if err := s.putChatSetting(ctx, chat, "pinned", item{":v": attrBool(pinned)}); err != nil {
		return fmt.Errorf("put pinned: %w", err)
	}
	return nil
}

// PutArchived stores whether chat is archived.
func (s *DeviceStore) PutArchived(ctx context.Context, chat wtypes.JID, archived bool) error {
	if err := s.putChatSetting(ctx, chat, "archived", item{":v": attrBool(archived)}); err != nil {
		return fmt.Errorf("put archived: %w", err)
	}
	return nil
}

// GetChatSettings returns the settings of chat; Found is false when none were stored.
func (s *DeviceStore) GetChatSettings(ctx context.Context, chat wtypes.JID) (wtypes.LocalChatSettings, error) {
	it, err := s.t.get(ctx, s.pk, chatSetPrefix+chat.String())
	if err != nil {
		return wtypes.LocalChatSettings{}, fmt.Errorf("get chat settings: %w", err)
	}
	settings := wtypes.LocalChatSettings{Found: it != nil, Pinned: getBool(it, "pinned"), Archived: getBool(it, "archived")}
	if muted := getN(it, "muted"); muted < 0 {
		settings.MutedUntil = store.MutedForever
	} else if muted > 0 {
		settings.MutedUntil = time.Unix(muted, 0)
	}
	return settings, nil
}
