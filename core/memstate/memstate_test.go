package memstate_test

import (
	"context"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/coretest"
	"github.com/wagate/wagate/core/memstate"
)

func TestState(t *testing.T) {
	coretest.RunState(t, func(*testing.T) core.State { return memstate.New() })
}

func TestLeases(t *testing.T) {
	coretest.RunLeases(t, func(*testing.T) core.LeaseStore { return memstate.New() })
}

// TestClock checks that expiry follows the injected clock, not the wall clock.
func TestClock(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	st := memstate.New()
	st.Now = func() time.Time { return clock }
	key := core.SessionKey{Tenant: "t", ID: "s"}

	if err := st.PutQR(ctx, key, core.QR{Code: "2@x", ExpiresAt: clock.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetQR(ctx, key); err != nil {
		t.Fatalf("QR valid for another minute: %v", err)
	}
	rec := core.IdempotencyRecord{Tenant: "t", Key: "k", RequestHash: "a", ExpiresAt: clock.Add(time.Minute)}
	if _, won, err := st.PutIdempotency(ctx, rec); err != nil || !won {
		t.Fatalf("first put: won=%v err=%v", won, err)
	}
	l, err := st.TakeLease(ctx, key, "a", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Until.Equal(clock.Add(time.Minute)) {
		t.Fatalf("lease until %s, want a minute after the injected clock", l.Until)
	}

	clock = clock.Add(time.Minute)
	if _, err := st.GetQR(ctx, key); !core.IsCode(err, core.CodeNotFound) {
		t.Fatalf("QR at its expiry: want not_found, got %v", err)
	}
	rec.RequestHash = "b"
	if got, won, err := st.PutIdempotency(ctx, rec); err != nil || !won || got.RequestHash != "b" {
		t.Fatalf("put at the old record's expiry: won=%v hash=%s err=%v", won, got.RequestHash, err)
	}
}

// TestCallerCannotMutateStore checks that values handed in and out are copies.
func TestCallerCannotMutateStore(t *testing.T) {
	ctx := context.Background()
	st := memstate.New()
	s := core.Session{ID: "s", Tenant: "t", LastError: &core.ErrorInfo{Code: "x"}}
	if err := st.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.LastError.Code = "changed by caller"
	got, err := st.GetSession(ctx, s.Key())
	if err != nil {
		t.Fatal(err)
	}
	got.LastError.Code = "changed again"
	again, err := st.GetSession(ctx, s.Key())
	if err != nil {
		t.Fatal(err)
	}
	if again.LastError.Code != "x" {
		t.Fatalf("stored lastError.code = %q: the store shares memory with callers", again.LastError.Code)
	}
}
