package dynamo_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/connector/dynamo"
)

func TestContainer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		jid := mustJID(t, "15550001111:7@s.whatsapp.net")

		if dev, err := c.GetDevice(ctx, jid); err != nil || dev != nil {
			t.Fatalf("GetDevice of unknown device = %v, %v; want nil, nil", dev, err)
		}
		first, err := c.GetFirstDevice(ctx)
		if err != nil || first == nil || first.ID != nil {
			t.Fatalf("GetFirstDevice on empty store = %v, %v; want a new unsaved device", first, err)
		}
		unsaved := c.NewDevice()
		if err := c.PutDevice(ctx, unsaved); err == nil {
			t.Fatal("PutDevice of a device without JID succeeded")
		}

		saved := pairedDevice(t, c, jid.String())
		got, err := c.GetDevice(ctx, jid)
		if err != nil || got == nil {
			t.Fatalf("GetDevice = %v, %v", got, err)
		}
		switch {
		case *got.NoiseKey.Priv != *saved.NoiseKey.Priv || *got.NoiseKey.Pub != *saved.NoiseKey.Pub:
			t.Error("noise key changed in the round trip")
		case *got.IdentityKey.Priv != *saved.IdentityKey.Priv:
			t.Error("identity key changed in the round trip")
		case got.SignedPreKey.KeyID != saved.SignedPreKey.KeyID || *got.SignedPreKey.Signature != *saved.SignedPreKey.Signature ||
			*got.SignedPreKey.Priv != *saved.SignedPreKey.Priv:
			t.Error("signed prekey changed in the round trip")
		case got.RegistrationID != saved.RegistrationID || !bytes.Equal(got.AdvSecretKey, saved.AdvSecretKey):
			t.Error("registration id or ADV secret changed in the round trip")
		case !bytes.Equal(got.Account.AccountSignature, saved.Account.AccountSignature) ||
			!bytes.Equal(got.Account.DeviceSignature, saved.Account.DeviceSignature) ||
			!bytes.Equal(got.Account.Details, saved.Account.Details):
			t.Error("ADV identity changed in the round trip")
		case got.LID != saved.LID || got.Platform != saved.Platform || got.PushName != saved.PushName:
			t.Errorf("names: got %v %q %q, want %v %q %q", got.LID, got.Platform, got.PushName, saved.LID, saved.Platform, saved.PushName)
		case got.Sessions == nil || got.PreKeys == nil || got.EventBuffer == nil || got.LIDs == nil || got.Container == nil:
			t.Error("loaded device has no stores attached")
		}

		// A second save updates the names only; the keys of a stored device never change.
		oldNoise := *saved.NoiseKey.Priv
		saved.PushName = "Alice B"
		saved.BusinessName = "Alice's shop"
		saved.NoiseKey = c.NewDevice().NoiseKey
		if err := saved.Save(ctx); err != nil {
			t.Fatalf("second Save: %v", err)
		}
		got, _ = c.GetDevice(ctx, jid)
		if got.PushName != "Alice B" || got.BusinessName != "Alice's shop" {
			t.Errorf("after second Save names = %q %q", got.PushName, got.BusinessName)
		}
		if *got.NoiseKey.Priv != oldNoise {
			t.Error("second Save replaced the stored noise key")
		}

		other := pairedDevice(t, c, "15550002222:3@s.whatsapp.net")
		all, err := c.GetAllDevices(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("GetAllDevices = %d devices, %v; want 2", len(all), err)
		}
		if err := other.Delete(ctx); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if other.ID != nil {
			t.Error("Delete left the device ID set")
		}
		all, _ = c.GetAllDevices(ctx)
		if len(all) != 1 || *all[0].ID != jid {
			t.Fatalf("after Delete GetAllDevices = %v", all)
		}
		first, _ = c.GetFirstDevice(ctx)
		if first.ID == nil || *first.ID != jid {
			t.Errorf("GetFirstDevice = %v, want %v", first.ID, jid)
		}
	})
}

// TestDeleteDeviceWipesPartition fills every store of a device, logs it out and checks
// with a raw Query that its partition is empty, while another device keeps its data.
func TestDeleteDeviceWipesPartition(t *testing.T) {
	c, client, table := openDynamo(t)
	ctx := testCtx(t)
	dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
	keep := pairedDevice(t, c, "15550003333:2@s.whatsapp.net")
	for _, d := range []*store.Device{dev, keep} {
		fillDevice(t, d)
	}
	before := countPartition(t, client, table, "dev#"+dev.ID.String())
	if before < 12 {
		t.Fatalf("filled partition has %d items, want every kind of item", before)
	}
	keptBefore := countPartition(t, client, table, "dev#"+keep.ID.String())
	jid := *dev.ID
	if err := dev.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n := countPartition(t, client, table, "dev#"+jid.String()); n != 0 {
		t.Errorf("after Delete the device partition still has %d items", n)
	}
	if got, _ := c.GetDevice(ctx, jid); got != nil {
		t.Error("deleted device is still returned by GetDevice")
	}
	if n := countPartition(t, client, table, "dev#"+keep.ID.String()); n != keptBefore {
		t.Errorf("the other device went from %d to %d items", keptBefore, n)
	}
	// The deleted device's stores refuse writes instead of recreating its items.
	if err := dev.Sessions.PutSession(ctx, "15550009999:0", []byte("s")); !errors.Is(err, dynamo.ErrDeviceDeleted) {
		t.Errorf("PutSession after Delete = %v, want ErrDeviceDeleted", err)
	}
	if n := countPartition(t, client, table, "dev#"+jid.String()); n != 0 {
		t.Errorf("a write after Delete recreated %d items", n)
	}
}

func fillDevice(t *testing.T, d *store.Device) {
	t.Helper()
	ctx := testCtx(t)
	peer := mustJID(t, "15550004444@s.whatsapp.net")
	group := mustJID(t, "120363000000000001@g.us")
	must(t, d.Identities.PutIdentity(ctx, "15550004444:0", key32(1)))
	must(t, d.Sessions.PutSession(ctx, "15550004444:0", []byte("session")))
	_, err := d.PreKeys.GetOrGenPreKeys(ctx, 3)
	must(t, err)
	must(t, d.SenderKeys.PutSenderKey(ctx, group.String(), "15550004444:0", []byte("sender key")))
	must(t, d.AppStateKeys.PutAppStateSyncKey(ctx, []byte{1, 2}, store.AppStateSyncKey{Data: []byte("k"), Fingerprint: []byte("f"), Timestamp: 1}))
	must(t, d.AppState.PutAppStateVersion(ctx, "regular", 1, [128]byte{1}))
	must(t, d.AppState.PutAppStateMutationMACs(ctx, "regular", 1, []store.AppStateMutationMAC{{IndexMAC: randBytes(32), ValueMAC: randBytes(32)}}))
	_, _, err = d.Contacts.PutPushName(ctx, peer, "Bob")
	must(t, err)
	must(t, d.ChatSettings.PutPinned(ctx, peer, true))
	must(t, d.MsgSecrets.PutMessageSecret(ctx, peer, peer, "3EB0AA", []byte("secret")))
	must(t, d.PrivacyTokens.PutPrivacyTokens(ctx, store.PrivacyToken{User: peer, Token: []byte("tok"), Timestamp: time.Unix(100, 0)}))
	must(t, d.EventBuffer.PutBufferedEvent(ctx, key32(9), []byte("plain"), time.Unix(100, 0)))
}

func countPartition(t *testing.T, client *dynamodb.Client, table, pk string) int {
	t.Helper()
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	}
	n := 0
	for {
		out, err := client.Query(testCtx(t), in)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		n += len(out.Items)
		if len(out.LastEvaluatedKey) == 0 {
			return n
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func TestStatsCountCalls(t *testing.T) {
	c, _, _ := openDynamo(t)
	ctx := testCtx(t)
	dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
	before := c.Stats()
	if _, err := c.GetDevice(ctx, *dev.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Sessions.GetManySessions(ctx, []string{"1:0", "2:0", "3:0"}); err != nil {
		t.Fatal(err)
	}
	delta := c.Stats().Sub(before)
	if delta["GetItem"].Calls != 1 || delta["BatchGetItem"].Calls != 1 || delta.Calls() != 2 {
		t.Errorf("calls = %v, want one GetItem and one BatchGetItem", delta)
	}
	if delta["GetItem"].ReadUnits <= 0 {
		t.Errorf("GetItem consumed %v read units, want the capacity DynamoDB reported", delta["GetItem"].ReadUnits)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
