package dynamo_test

import (
	"testing"

	"go.mau.fi/whatsmeow/util/keys"
)

func ids(ks []*keys.PreKey) []uint32 {
	out := make([]uint32, len(ks))
	for i, k := range ks {
		out[i] = k.KeyID
	}
	return out
}

func equalIDs(a []uint32, b ...uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPreKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").PreKeys

		first, err := s.GetOrGenPreKeys(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if !equalIDs(ids(first), 1, 2, 3, 4, 5) {
			t.Fatalf("first batch ids = %v, want 1..5", ids(first))
		}
		if *first[0].Priv == *first[1].Priv {
			t.Fatal("generated prekeys share a private key")
		}
		if n, err := s.UploadedPreKeyCount(ctx); err != nil || n != 0 {
			t.Fatalf("UploadedPreKeyCount before upload = %d, %v", n, err)
		}
		again, _ := s.GetOrGenPreKeys(ctx, 3)
		if !equalIDs(ids(again), 1, 2, 3) || *again[2].Priv != *first[2].Priv {
			t.Errorf("keys not uploaded yet were not handed out again: %v", ids(again))
		}

		must(t, s.MarkPreKeysAsUploaded(ctx, 3))
		if n, _ := s.UploadedPreKeyCount(ctx); n != 3 {
			t.Errorf("UploadedPreKeyCount after marking 1..3 = %d, want 3", n)
		}
		next, _ := s.GetOrGenPreKeys(ctx, 4)
		if !equalIDs(ids(next), 4, 5, 6, 7) || *next[0].Priv != *first[3].Priv {
			t.Errorf("after upload GetOrGenPreKeys(4) ids = %v, want 4..7 reusing 4 and 5", ids(next))
		}

		got, err := s.GetPreKey(ctx, 2)
		if err != nil || got == nil || *got.Priv != *first[1].Priv || *got.Pub != *first[1].Pub || got.KeyID != 2 {
			t.Fatalf("GetPreKey(2) = %v, %v", got, err)
		}
		if got, err := s.GetPreKey(ctx, 999); err != nil || got != nil {
			t.Errorf("GetPreKey of unknown id = %v, %v", got, err)
		}
		must(t, s.RemovePreKey(ctx, 2))
		if got, _ := s.GetPreKey(ctx, 2); got != nil {
			t.Error("RemovePreKey kept the key")
		}
		if n, _ := s.UploadedPreKeyCount(ctx); n != 2 {
			t.Errorf("UploadedPreKeyCount after removing one = %d, want 2", n)
		}

		one, err := s.GenOnePreKey(ctx)
		if err != nil || one.KeyID != 8 {
			t.Fatalf("GenOnePreKey = %v, %v; want id 8", one, err)
		}
		if n, _ := s.UploadedPreKeyCount(ctx); n != 3 {
			t.Errorf("GenOnePreKey's key does not count as uploaded: count %d, want 3", n)
		}
		rest, _ := s.GetOrGenPreKeys(ctx, 5)
		if !equalIDs(ids(rest), 4, 5, 6, 7, 9) {
			t.Errorf("GetOrGenPreKeys after GenOnePreKey ids = %v, want 4 5 6 7 9", ids(rest))
		}
	})
}

// TestPreKeysInitialUpload is what whatsmeow does right after pairing: 812 keys at once
// (several DynamoDB transactions), then marks them uploaded.
func TestPreKeysInitialUpload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").PreKeys
		ks, err := s.GetOrGenPreKeys(ctx, 812)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint32]bool{}
		for i, k := range ks {
			if k.KeyID != uint32(i+1) || seen[k.KeyID] {
				t.Fatalf("key %d has id %d", i, k.KeyID)
			}
			seen[k.KeyID] = true
		}
		must(t, s.MarkPreKeysAsUploaded(ctx, ks[len(ks)-1].KeyID))
		if n, _ := s.UploadedPreKeyCount(ctx); n != 812 {
			t.Errorf("UploadedPreKeyCount = %d, want 812", n)
		}
		if got, _ := s.GetPreKey(ctx, 700); got == nil || *got.Priv != *ks[699].Priv {
			t.Error("key 700 did not round-trip")
		}
		more, _ := s.GetOrGenPreKeys(ctx, 2)
		if !equalIDs(ids(more), 813, 814) {
			t.Errorf("next batch ids = %v, want 813 814", ids(more))
		}
	})
}
