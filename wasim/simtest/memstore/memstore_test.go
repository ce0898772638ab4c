package memstore_test

import (
	"context"
	"testing"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/simtest/memstore"
)

func TestSessionsFollowSQLStoreSemantics(t *testing.T) {
	ctx := context.Background()
	s := memstore.NewStore(memstore.NewLIDMap())
	if got, err := s.GetSession(ctx, "1555:1"); got != nil || err != nil {
		t.Fatalf("missing session = %v, %v; want nil, nil", got, err)
	}
	if err := s.PutSession(ctx, "1555:1", []byte("a")); err != nil {
		t.Fatal(err)
	}
	many, _ := s.GetManySessions(ctx, []string{"1555:1", "1555:2"})
	if len(many) != 2 || string(many["1555:1"]) != "a" || many["1555:2"] != nil {
		t.Fatalf("GetManySessions = %v, want both addresses, the missing one nil", many)
	}
	pn := types.NewJID("1555", types.DefaultUserServer)
	lid := types.NewJID("9999", types.HiddenUserServer)
	if err := s.MigratePNToLID(ctx, pn, lid); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.HasSession(ctx, "1555:1"); has {
		t.Fatal("phone-number session still there after migration")
	}
	if got, _ := s.GetSession(ctx, "9999_1:1"); string(got) != "a" {
		t.Fatalf("migrated session = %q, want %q", got, "a")
	}
}

func TestPreKeysUploadCycle(t *testing.T) {
	ctx := context.Background()
	s := memstore.NewStore(memstore.NewLIDMap())
	keys, _ := s.GetOrGenPreKeys(ctx, 5)
	if len(keys) != 5 || keys[0].KeyID != 1 || keys[4].KeyID != 5 {
		t.Fatalf("generated %d keys starting at %d", len(keys), keys[0].KeyID)
	}
	if n, _ := s.UploadedPreKeyCount(ctx); n != 0 {
		t.Fatalf("uploaded = %d before marking, want 0", n)
	}
	again, _ := s.GetOrGenPreKeys(ctx, 5)
	if again[0].KeyID != 1 {
		t.Fatal("unuploaded keys were not reused")
	}
	_ = s.MarkPreKeysAsUploaded(ctx, 5)
	if n, _ := s.UploadedPreKeyCount(ctx); n != 5 {
		t.Fatalf("uploaded = %d, want 5", n)
	}
	next, _ := s.GetOrGenPreKeys(ctx, 2)
	if next[0].KeyID != 6 {
		t.Fatalf("next key id = %d, want 6", next[0].KeyID)
	}
	_ = s.RemovePreKey(ctx, 3)
	if k, err := s.GetPreKey(ctx, 3); k != nil || err != nil {
		t.Fatalf("removed key = %v, %v; want nil, nil", k, err)
	}
}

func TestContainerSavesAndDeletesDevices(t *testing.T) {
	ctx := context.Background()
	c := memstore.New(nil)
	dev := c.NewDevice()
	if err := dev.Save(ctx); err == nil {
		t.Fatal("saving an unpaired device succeeded")
	}
	jid := types.JID{User: "1555", Device: 3, Server: types.DefaultUserServer}
	dev.ID = &jid
	if err := dev.Save(ctx); err != nil {
		t.Fatalf("save: %v", err)
	}
	got := c.GetDevice(jid)
	if got == nil || got.NoiseKey != dev.NoiseKey || got.Sessions != dev.Sessions {
		t.Fatal("GetDevice did not return the saved device with its stores")
	}
	if first := c.GetFirstDevice(); first.ID == nil || *first.ID != jid {
		t.Fatal("GetFirstDevice did not return the saved device")
	}
	if err := dev.Delete(ctx); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if c.GetDevice(jid) != nil {
		t.Fatal("device still saved after Delete")
	}
	if c.GetFirstDevice().ID != nil {
		t.Fatal("GetFirstDevice after Delete is not a new device")
	}
}
