package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"
	wtypes "go.mau.fi/whatsmeow/types"
)

// Message secrets are items "msgsecret#<chat>#<sender>#<message id>" (non-AD JIDs;
// neither JID contains '#', so the key is unambiguous) holding the secret and the
// sender. They are insert-or-ignore: the first secret stored for a message wins.
// Privacy tokens are items "privtok#<JID>" with the token and its unix timestamp.
// Reads also try the other identity of a chat, sender or user (PN for a LID and LID
// for a PN, from the LID map), as sqlstore's queries do.
const (
	msgSecretPrefix = "msgsecret#"
	privTokenPrefix = "privtok#"
)

func msgSecretSK(chat, sender wtypes.JID, id wtypes.MessageID) string {
	return msgSecretPrefix + chat.String() + "#" + sender.String() + "#" + id
}

func (s *DeviceStore) msgSecretItem(chat, sender wtypes.JID, id wtypes.MessageID, secret []byte) item {
	chat, sender = chat.ToNonAD(), sender.ToNonAD()
	it := s.newItem(msgSecretSK(chat, sender, id))
	it["key"] = attrB(secret)
	it["sender"] = attrS(sender.String())
	return it
}

// PutMessageSecrets stores many secrets, ignoring those already stored: conditional
// puts in TransactWriteItems of up to 100, where a put that finds its item is dropped
// and the rest retried.
func (s *DeviceStore) PutMessageSecrets(ctx context.Context, inserts []store.MessageSecretInsert) error {
	if len(inserts) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(inserts))
	actions := make([]types.TransactWriteItem, 0, len(inserts))
	for _, in := range inserts {
		it := s.msgSecretItem(in.Chat, in.Sender, in.ID, in.Secret)
		sk := getS(it, attrSK)
		if seen[sk] {
			continue // the first insert of a message wins, as with ON CONFLICT DO NOTHING
		}
		seen[sk] = true
		actions = append(actions, txPut(s.t, it, "attribute_not_exists(sk)"))
	}
	if err := s.t.transactWrite(ctx, actions, true); err != nil {
		return fmt.Errorf("put message secrets: %w", err)
	}
	return nil
}

// PutMessageSecret stores the secret of one message unless one is stored already.
func (s *DeviceStore) PutMessageSecret(ctx context.Context, chat, sender wtypes.JID, id wtypes.MessageID, secret []byte) error {
	if err := s.writable(); err != nil {
		return err
	}
	err := s.t.put(ctx, s.msgSecretItem(chat, sender, id, secret), "attribute_not_exists(sk)")
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("put message secret: %w", err)
	}
	return nil
}

// altJID returns the other identity of a non-AD user JID from the LID map, or an
// empty JID when there is none.
func (s *DeviceStore) altJID(ctx context.Context, jid wtypes.JID) (wtypes.JID, error) {
	var alt wtypes.JID
	var err error
	switch jid.Server {
	case wtypes.HiddenUserServer:
		alt, err = s.c.LIDMap.GetPNForLID(ctx, jid)
	case wtypes.DefaultUserServer:
		alt, err = s.c.LIDMap.GetLIDForPN(ctx, jid)
	default:
		return wtypes.EmptyJID, nil
	}
	if err != nil {
		return wtypes.EmptyJID, err
	}
	return alt.ToNonAD(), nil
}

// GetMessageSecret returns the secret of a message and the sender it was stored with,
// or nil when it is unknown. The chat and the sender may each be given as PN or LID.
func (s *DeviceStore) GetMessageSecret(ctx context.Context, chat, sender wtypes.JID, id wtypes.MessageID) ([]byte, wtypes.JID, error) {
	chat, sender = chat.ToNonAD(), sender.ToNonAD()
	chats, senders := []wtypes.JID{chat}, []wtypes.JID{sender}
	if alt, err := s.altJID(ctx, chat); err != nil {
		return nil, wtypes.EmptyJID, fmt.Errorf("get message secret: %w", err)
	} else if !alt.IsEmpty() {
		chats = append(chats, alt)
	}
	if alt, err := s.altJID(ctx, sender); err != nil {
		return nil, wtypes.EmptyJID, fmt.Errorf("get message secret: %w", err)
	} else if !alt.IsEmpty() {
		senders = append(senders, alt)
	}
	var sks []string
	for _, c := range chats {
		for _, snd := range senders {
			sks = append(sks, msgSecretSK(c, snd, id))
		}
	}
	found, err := s.getItems(ctx, sks)
	if err != nil {
		return nil, wtypes.EmptyJID, fmt.Errorf("get message secret: %w", err)
	}
	for _, sk := range sks {
		if it, ok := found[sk]; ok {
			realSender, err := wtypes.ParseJID(getS(it, "sender"))
			if err != nil {
				return nil, wtypes.EmptyJID, fmt.Errorf("parse message secret sender: %w", err)
			}
			return getB(it, "key"), realSender, nil
		}
	}
	return nil, wtypes.EmptyJID, nil
}

// PutPrivacyTokens stores (or replaces) the privacy tokens of many users with
// BatchWriteItem. A user given twice keeps the last token.
func (s *DeviceStore) PutPrivacyTokens(ctx context.Context, tokens ...store.PrivacyToken) error {
	if len(tokens) == 0 {
		return nil
	}
	bySK := make(map[string]int, len(tokens))
	items := make([]item, 0, len(tokens))
	for _, tok := range tokens {
		sk := privTokenPrefix + tok.User.ToNonAD().String()
		it := s.newItem(sk)
		it["token"] = attrB(tok.Token)
		it["ts"] = attrN(tok.Timestamp.Unix())
		if i, ok := bySK[sk]; ok {
			items[i] = it
			continue
		}
		bySK[sk] = len(items)
		items = append(items, it)
	}
	if err := s.putItems(ctx, items); err != nil {
		return fmt.Errorf("put privacy tokens: %w", err)
	}
	return nil
}

// GetPrivacyToken returns the newest privacy token stored for user under its PN or
// its LID, or nil when there is none. The result's User is the JID asked for.
func (s *DeviceStore) GetPrivacyToken(ctx context.Context, user wtypes.JID) (*store.PrivacyToken, error) {
	user = user.ToNonAD()
	sks := []string{privTokenPrefix + user.String()}
	alt, err := s.altJID(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("get privacy token: %w", err)
	} else if !alt.IsEmpty() {
		sks = append(sks, privTokenPrefix+alt.String())
	}
	found, err := s.getItems(ctx, sks)
	if err != nil {
		return nil, fmt.Errorf("get privacy token: %w", err)
	}
	var best item
	for _, sk := range sks {
		if it, ok := found[sk]; ok && (best == nil || getN(it, "ts") > getN(best, "ts")) {
			best = it
		}
	}
	if best == nil {
		return nil, nil
	}
	return &store.PrivacyToken{User: user, Token: getB(best, "token"), Timestamp: time.Unix(getN(best, "ts"), 0)}, nil
}
