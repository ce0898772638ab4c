package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
)

func TestMessageSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
		s := dev.MsgSecrets
		chat := mustJID(t, "120363000000000001@g.us")
		sender := mustJID(t, "15550004444@s.whatsapp.net")
		senderDevice := mustJID(t, "15550004444:3@s.whatsapp.net")

		if key, who, err := s.GetMessageSecret(ctx, chat, sender, "3EB0A1"); err != nil || key != nil || !who.IsEmpty() {
			t.Fatalf("unknown secret = %x %v %v", key, who, err)
		}
		must(t, s.PutMessageSecret(ctx, chat, senderDevice, "3EB0A1", []byte("first")))
		must(t, s.PutMessageSecret(ctx, chat, sender, "3EB0A1", []byte("second")))
		key, who, err := s.GetMessageSecret(ctx, chat, senderDevice, "3EB0A1")
		if err != nil || string(key) != "first" || who != sender {
			t.Errorf("secret = %q from %v (%v); want the first one from %v", key, who, err, sender)
		}

		var inserts []store.MessageSecretInsert
		for i := 0; i < 150; i++ {
			inserts = append(inserts, store.MessageSecretInsert{Chat: chat, Sender: sender, ID: fmt.Sprintf("ID%03d", i), Secret: []byte(fmt.Sprint("s", i))})
		}
		inserts = append(inserts,
			store.MessageSecretInsert{Chat: chat, Sender: sender, ID: "3EB0A1", Secret: []byte("third")},
			store.MessageSecretInsert{Chat: chat, Sender: sender, ID: "ID007", Secret: []byte("dup")})
		must(t, s.PutMessageSecrets(ctx, inserts))
		for _, i := range []int{0, 7, 149} {
			id := fmt.Sprintf("ID%03d", i)
			if key, _, _ := s.GetMessageSecret(ctx, chat, sender, id); string(key) != fmt.Sprint("s", i) {
				t.Errorf("batch secret %s = %q, want s%d", id, key, i)
			}
		}
		if key, _, _ := s.GetMessageSecret(ctx, chat, sender, "3EB0A1"); string(key) != "first" {
			t.Errorf("batch insert replaced an existing secret: %q", key)
		}

		// A chat and sender known by their LID find secrets stored under their PN.
		lid := mustJID(t, "88000111222@lid")
		must(t, dev.LIDs.PutLIDMapping(ctx, lid, sender))
		must(t, s.PutMessageSecret(ctx, sender, sender, "DM1", []byte("dm")))
		key, who, _ = s.GetMessageSecret(ctx, lid, lid, "DM1")
		if string(key) != "dm" || who != sender {
			t.Errorf("secret via LID = %q from %v, want dm from the PN", key, who)
		}
	})
}

func TestPrivacyTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
		s := dev.PrivacyTokens
		a := mustJID(t, "15550004444@s.whatsapp.net")
		b := mustJID(t, "15550005555@s.whatsapp.net")
		if tok, err := s.GetPrivacyToken(ctx, a); err != nil || tok != nil {
			t.Fatalf("unknown token = %v, %v", tok, err)
		}
		must(t, s.PutPrivacyTokens(ctx,
			store.PrivacyToken{User: mustJID(t, "15550004444:2@s.whatsapp.net"), Token: []byte("ta"), Timestamp: time.Unix(100, 0)},
			store.PrivacyToken{User: b, Token: []byte("tb"), Timestamp: time.Unix(110, 0)}))
		tok, err := s.GetPrivacyToken(ctx, a)
		if err != nil || tok == nil || string(tok.Token) != "ta" || tok.User != a || !tok.Timestamp.Equal(time.Unix(100, 0)) {
			t.Fatalf("token a = %+v, %v", tok, err)
		}
		must(t, s.PutPrivacyTokens(ctx, store.PrivacyToken{User: a, Token: []byte("ta2"), Timestamp: time.Unix(120, 0)}))
		if tok, _ := s.GetPrivacyToken(ctx, a); string(tok.Token) != "ta2" {
			t.Errorf("replaced token = %q", tok.Token)
		}
		if tok, _ := s.GetPrivacyToken(ctx, b); string(tok.Token) != "tb" {
			t.Errorf("token b = %q", tok.Token)
		}

		// With a LID mapping, the newest token of either identity is returned.
		lid := mustJID(t, "88000111222@lid")
		must(t, dev.LIDs.PutLIDMapping(ctx, lid, a))
		must(t, s.PutPrivacyTokens(ctx, store.PrivacyToken{User: lid, Token: []byte("tlid"), Timestamp: time.Unix(200, 0)}))
		tok, _ = s.GetPrivacyToken(ctx, a)
		if string(tok.Token) != "tlid" || tok.User != a {
			t.Errorf("token via PN = %q for %v, want the newer LID token for the PN", tok.Token, tok.User)
		}
		must(t, s.PutPrivacyTokens(ctx, store.PrivacyToken{User: a, Token: []byte("tpn"), Timestamp: time.Unix(300, 0)}))
		if tok, _ := s.GetPrivacyToken(ctx, lid); string(tok.Token) != "tpn" || tok.User != lid {
			t.Errorf("token via LID = %q for %v, want the newer PN token", tok.Token, tok.User)
		}
	})
}
