package dynamo_test

import (
	"bytes"
	"testing"

	"go.mau.fi/whatsmeow/store"
)

func TestAppStateSyncKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").AppStateKeys
		if id, err := s.GetLatestAppStateSyncKeyID(ctx); err != nil || id != nil {
			t.Fatalf("latest key with none stored = %x, %v", id, err)
		}
		if k, err := s.GetAppStateSyncKey(ctx, []byte{1}); err != nil || k != nil {
			t.Fatalf("unknown key = %v, %v", k, err)
		}
		must(t, s.PutAppStateSyncKey(ctx, []byte{1}, store.AppStateSyncKey{Data: []byte("d1"), Fingerprint: []byte("f1"), Timestamp: 100}))
		must(t, s.PutAppStateSyncKey(ctx, []byte{2}, store.AppStateSyncKey{Data: []byte("d2"), Fingerprint: []byte("f2"), Timestamp: 300}))
		must(t, s.PutAppStateSyncKey(ctx, []byte{3}, store.AppStateSyncKey{Data: []byte("d3"), Fingerprint: []byte("f3"), Timestamp: 200}))
		if id, _ := s.GetLatestAppStateSyncKeyID(ctx); !bytes.Equal(id, []byte{2}) {
			t.Errorf("latest key id = %x, want 02", id)
		}
		// A key is only replaced by a newer one.
		must(t, s.PutAppStateSyncKey(ctx, []byte{1}, store.AppStateSyncKey{Data: []byte("old"), Fingerprint: []byte("x"), Timestamp: 50}))
		if k, _ := s.GetAppStateSyncKey(ctx, []byte{1}); k == nil || string(k.Data) != "d1" || k.Timestamp != 100 {
			t.Errorf("an older key replaced a newer one: %+v", k)
		}
		must(t, s.PutAppStateSyncKey(ctx, []byte{1}, store.AppStateSyncKey{Data: []byte("new"), Fingerprint: []byte("f1b"), Timestamp: 400}))
		k, _ := s.GetAppStateSyncKey(ctx, []byte{1})
		if k == nil || string(k.Data) != "new" || string(k.Fingerprint) != "f1b" || k.Timestamp != 400 {
			t.Errorf("newer key not stored: %+v", k)
		}
		if id, _ := s.GetLatestAppStateSyncKeyID(ctx); !bytes.Equal(id, []byte{1}) {
			t.Errorf("latest key id = %x, want 01", id)
		}
	})
}

func TestAppStateVersionsAndMACs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").AppState
		if v, h, err := s.GetAppStateVersion(ctx, "regular"); err != nil || v != 0 || h != [128]byte{} {
			t.Fatalf("unsynced version = %d, %x, %v", v, h[:4], err)
		}
		hash := [128]byte{1, 2, 3}
		must(t, s.PutAppStateVersion(ctx, "regular", 5, hash))
		must(t, s.PutAppStateVersion(ctx, "regular_high", 9, [128]byte{9}))
		if v, h, _ := s.GetAppStateVersion(ctx, "regular"); v != 5 || h != hash {
			t.Errorf("version = %d, want 5 with the stored hash", v)
		}

		idxA, idxB, idxC := randBytes(32), randBytes(32), randBytes(32)
		valA1, valA6, valB := randBytes(32), randBytes(32), randBytes(32)
		must(t, s.PutAppStateMutationMACs(ctx, "regular", 5, []store.AppStateMutationMAC{{IndexMAC: idxA, ValueMAC: valA1}, {IndexMAC: idxB, ValueMAC: valB}}))
		must(t, s.PutAppStateVersion(ctx, "regular", 6, hash))
		must(t, s.PutAppStateMutationMACs(ctx, "regular", 6, []store.AppStateMutationMAC{{IndexMAC: idxA, ValueMAC: valA6}}))
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular", idxA); !bytes.Equal(got, valA6) {
			t.Error("GetAppStateMutationMAC did not return the value of the highest version")
		}
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular", idxB); !bytes.Equal(got, valB) {
			t.Error("value MAC of B did not round-trip")
		}
		if got, err := s.GetAppStateMutationMAC(ctx, "regular", idxC); err != nil || got != nil {
			t.Errorf("unknown index MAC = %x, %v", got, err)
		}
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular_high", idxA); got != nil {
			t.Error("a MAC of one collection is visible in another")
		}

		must(t, s.DeleteAppStateMutationMACs(ctx, "regular", [][]byte{idxA}))
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular", idxA); got != nil {
			t.Error("DeleteAppStateMutationMACs kept an older version of the index MAC")
		}
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular", idxB); got == nil {
			t.Error("DeleteAppStateMutationMACs deleted another index MAC")
		}

		// Deleting the version drops the collection's MACs too (sqlstore's cascade).
		many := make([]store.AppStateMutationMAC, 60)
		for i := range many {
			many[i] = store.AppStateMutationMAC{IndexMAC: randBytes(32), ValueMAC: randBytes(32)}
		}
		must(t, s.PutAppStateMutationMACs(ctx, "regular_high", 9, many))
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular_high", many[59].IndexMAC); !bytes.Equal(got, many[59].ValueMAC) {
			t.Error("MAC 60 of a batch did not round-trip")
		}
		must(t, s.DeleteAppStateVersion(ctx, "regular"))
		if v, _, _ := s.GetAppStateVersion(ctx, "regular"); v != 0 {
			t.Errorf("version after delete = %d", v)
		}
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular", idxB); got != nil {
			t.Error("DeleteAppStateVersion kept the collection's MACs")
		}
		if got, _ := s.GetAppStateMutationMAC(ctx, "regular_high", many[0].IndexMAC); got == nil {
			t.Error("DeleteAppStateVersion deleted another collection's MACs")
		}
	})
}
