package dynamo_test

import (
	"bytes"
	"testing"
)

func TestIdentities(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").Identities
		addr := "15550004444:0"

		trusted, err := s.IsTrustedIdentity(ctx, addr, key32(1))
		if err != nil || !trusted {
			t.Fatalf("unknown identity: trusted=%v err=%v, want trusted", trusted, err)
		}
		must(t, s.PutIdentity(ctx, addr, key32(1)))
		if trusted, _ := s.IsTrustedIdentity(ctx, addr, key32(1)); !trusted {
			t.Error("the stored identity is not trusted")
		}
		if trusted, _ := s.IsTrustedIdentity(ctx, addr, key32(2)); trusted {
			t.Error("a changed identity is trusted")
		}
		must(t, s.PutIdentity(ctx, addr, key32(2)))
		if trusted, _ := s.IsTrustedIdentity(ctx, addr, key32(2)); !trusted {
			t.Error("the replaced identity is not trusted")
		}

		must(t, s.PutIdentity(ctx, "15550004444:3", key32(3)))
		must(t, s.PutIdentity(ctx, "155500044445:0", key32(4))) // another number sharing the prefix
		must(t, s.DeleteIdentity(ctx, addr))
		if trusted, _ := s.IsTrustedIdentity(ctx, addr, key32(9)); !trusted {
			t.Error("a deleted identity still constrains trust")
		}
		if trusted, _ := s.IsTrustedIdentity(ctx, "15550004444:3", key32(9)); trusted {
			t.Error("DeleteIdentity deleted another device's identity")
		}
		must(t, s.DeleteAllIdentities(ctx, "15550004444"))
		if trusted, _ := s.IsTrustedIdentity(ctx, "15550004444:3", key32(9)); !trusted {
			t.Error("DeleteAllIdentities kept a device of the number")
		}
		if trusted, _ := s.IsTrustedIdentity(ctx, "155500044445:0", key32(9)); trusted {
			t.Error("DeleteAllIdentities deleted another number that shares its prefix")
		}
	})
}

func TestSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").Sessions
		pn0, pn5, lid0 := "15550004444:0", "15550004444:5", "88000111222_1:0"

		if got, err := s.GetSession(ctx, pn0); err != nil || got != nil {
			t.Fatalf("GetSession of unknown = %q, %v", got, err)
		}
		if has, err := s.HasSession(ctx, pn0); err != nil || has {
			t.Fatalf("HasSession of unknown = %v, %v", has, err)
		}
		must(t, s.PutSession(ctx, pn0, []byte("v1")))
		must(t, s.PutSession(ctx, pn0, []byte("v2")))
		if got, _ := s.GetSession(ctx, pn0); string(got) != "v2" {
			t.Errorf("GetSession after overwrite = %q, want v2", got)
		}
		if has, _ := s.HasSession(ctx, pn0); !has {
			t.Error("HasSession = false after PutSession")
		}
		must(t, s.PutManySessions(ctx, map[string][]byte{pn5: []byte("p5"), lid0: []byte("l0")}))
		many, err := s.GetManySessions(ctx, []string{pn0, pn5, lid0, "15550009999:0"})
		if err != nil {
			t.Fatal(err)
		}
		if len(many) != 4 || string(many[pn0]) != "v2" || string(many[pn5]) != "p5" || string(many[lid0]) != "l0" || many["15550009999:0"] != nil {
			t.Errorf("GetManySessions = %q", many)
		}
		if _, ok := many["15550009999:0"]; !ok {
			t.Error("GetManySessions left out the address without a session")
		}

		must(t, s.DeleteSession(ctx, pn5))
		if has, _ := s.HasSession(ctx, pn5); has {
			t.Error("DeleteSession kept the session")
		}
		must(t, s.PutSession(ctx, pn5, []byte("p5")))
		must(t, s.DeleteAllSessions(ctx, "15550004444"))
		for _, a := range []string{pn0, pn5} {
			if has, _ := s.HasSession(ctx, a); has {
				t.Errorf("DeleteAllSessions kept %s", a)
			}
		}
		if has, _ := s.HasSession(ctx, lid0); !has {
			t.Error("DeleteAllSessions of a phone deleted a LID session")
		}
		must(t, s.DeleteAllSessions(ctx, "88000111222_1"))
		if has, _ := s.HasSession(ctx, lid0); has {
			t.Error("DeleteAllSessions of a LID user kept its session")
		}
	})
}

func TestSessionsBatchOfMany(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").Sessions
		want := map[string][]byte{}
		var addrs []string
		for i := 0; i < 230; i++ { // more than one BatchGetItem (100) and many BatchWriteItem (25)
			addr := "1555" + randomHex(4) + ":0"
			want[addr] = randBytes(700)
			addrs = append(addrs, addr)
		}
		must(t, s.PutManySessions(ctx, want))
		got, err := s.GetManySessions(ctx, addrs)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			if !bytes.Equal(got[a], want[a]) {
				t.Fatalf("session %s did not round-trip", a)
			}
		}
	})
}

func TestSenderKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").SenderKeys
		g1, g2 := "120363000000000001@g.us", "120363000000000002@g.us"
		if got, err := s.GetSenderKey(ctx, g1, "15550004444:0"); err != nil || got != nil {
			t.Fatalf("GetSenderKey of unknown = %q, %v", got, err)
		}
		must(t, s.PutSenderKey(ctx, g1, "15550004444:0", []byte("a")))
		must(t, s.PutSenderKey(ctx, g2, "15550004444:0", []byte("b")))
		must(t, s.PutSenderKey(ctx, g1, "15550004444:0", []byte("a2")))
		if got, _ := s.GetSenderKey(ctx, g1, "15550004444:0"); string(got) != "a2" {
			t.Errorf("GetSenderKey g1 = %q, want a2", got)
		}
		if got, _ := s.GetSenderKey(ctx, g2, "15550004444:0"); string(got) != "b" {
			t.Errorf("GetSenderKey g2 = %q, want b", got)
		}
	})
}

func TestMigratePNToLID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
		pn := mustJID(t, "15550004444@s.whatsapp.net")
		lid := mustJID(t, "88000111222@lid") // its Signal addresses are "88000111222_1:<device>"
		group := "120363000000000001@g.us"
		must(t, dev.Sessions.PutSession(ctx, "15550004444:0", []byte("pn-session-0")))
		must(t, dev.Sessions.PutSession(ctx, "15550004444:5", []byte("pn-session-5")))
		must(t, dev.Sessions.PutSession(ctx, "88000111222_1:5", []byte("old-lid-session-5")))
		must(t, dev.Sessions.PutSession(ctx, "15550005555:0", []byte("other")))
		must(t, dev.Identities.PutIdentity(ctx, "15550004444:0", key32(7)))
		must(t, dev.SenderKeys.PutSenderKey(ctx, group, "15550004444:0", []byte("sk")))

		must(t, dev.Sessions.MigratePNToLID(ctx, pn, lid))

		checks := map[string]string{"88000111222_1:0": "pn-session-0", "88000111222_1:5": "pn-session-5", "15550005555:0": "other"}
		for addr, want := range checks {
			if got, _ := dev.Sessions.GetSession(ctx, addr); string(got) != want {
				t.Errorf("session %s = %q, want %q", addr, got, want)
			}
		}
		for _, addr := range []string{"15550004444:0", "15550004444:5"} {
			if has, _ := dev.Sessions.HasSession(ctx, addr); has {
				t.Errorf("PN session %s still there after migration", addr)
			}
		}
		if trusted, _ := dev.Identities.IsTrustedIdentity(ctx, "88000111222_1:0", key32(8)); trusted {
			t.Error("identity key was not moved to the LID address")
		}
		if trusted, _ := dev.Identities.IsTrustedIdentity(ctx, "15550004444:0", key32(8)); !trusted {
			t.Error("identity key still stored under the PN address")
		}
		if got, _ := dev.SenderKeys.GetSenderKey(ctx, group, "88000111222_1:0"); string(got) != "sk" {
			t.Errorf("sender key under LID = %q, want sk", got)
		}
		if got, _ := dev.SenderKeys.GetSenderKey(ctx, group, "15550004444:0"); got != nil {
			t.Errorf("sender key still under PN: %q", got)
		}
	})
}
