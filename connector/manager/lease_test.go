package manager_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// brokenLeases is a lease store a connector loses contact with on demand.
type brokenLeases struct {
	core.LeaseStore
	broken atomic.Bool
}

var errUnreachable = errors.New("lease store unreachable")

func (b *brokenLeases) ReadLease(ctx context.Context, key core.SessionKey) (core.Lease, error) {
	if b.broken.Load() {
		return core.Lease{}, errUnreachable
	}
	return b.LeaseStore.ReadLease(ctx, key)
}

func (b *brokenLeases) TakeLease(ctx context.Context, key core.SessionKey, owner string, d time.Duration, v int64) (core.Lease, error) {
	if b.broken.Load() {
		return core.Lease{}, errUnreachable
	}
	return b.LeaseStore.TakeLease(ctx, key, owner, d, v)
}

func (b *brokenLeases) RenewLease(ctx context.Context, l core.Lease, d time.Duration) (core.Lease, error) {
	if b.broken.Load() {
		return core.Lease{}, errUnreachable
	}
	return b.LeaseStore.RenewLease(ctx, l, d)
}

// watchHolders samples both connectors until stop and reports any instant at which
// both held the session.
func watchHolders(t *testing.T, a, b *connector, key core.SessionKey) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			_, ha := a.mgr.Held()[key]
			_, hb := b.mgr.Held()[key]
			if ha && hb {
				t.Error("both connectors hold the session at the same instant")
				return
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func TestSecondConnectorWaitsAndTakesOverOnRelease(t *testing.T) {
	h := newHarness(t)
	a := h.start(h.config("a"), nil)
	alice := h.phone("15550001111", "Alice")
	linked := h.link("main", alice)
	key := linked.Key()

	b := h.startIdle(h.config("b"), nil)
	stop := watchHolders(t, a, b, key)
	defer stop()
	// While a renews its lease, b waits well past one lease duration.
	lease := h.config("a").LeaseDuration
	deadline := time.Now().Add(lease * 3 / 2)
	for time.Now().Before(deadline) {
		if _, held := b.mgr.Held()[key]; held {
			t.Fatal("b took a session that a holds")
		}
		time.Sleep(50 * time.Millisecond)
	}

	h.stop(a) // releases the lease
	released := time.Now()
	s := h.waitSession(key, "connected by b", func(s core.Session) bool {
		_, held := b.mgr.Held()[key]
		return held && s.Status == core.StatusConnected
	})
	if took := time.Since(released); took > lease {
		t.Errorf("b took %v to take over a released session; want less than a lease (%v)", took, lease)
	}
	if s.JID != linked.JID {
		t.Errorf("b connected %s, want %s", s.JID, linked.JID)
	}
	if h.sawStatus(key, 0, core.StatusReplaced) {
		t.Error("the session was replaced: two sockets were open at once")
	}
}

func TestStuckHolderIsTakenOverAfterOneLease(t *testing.T) {
	h := newHarness(t)
	leasesA := &brokenLeases{LeaseStore: h.state}
	a := h.start(h.config("a"), leasesA)
	alice := h.phone("15550001111", "Alice")
	linked := h.link("main", alice)
	key := linked.Key()
	b := h.startIdle(h.config("b"), nil)
	stop := watchHolders(t, a, b, key)
	defer stop()

	leasesA.broken.Store(true) // a can no longer renew (or read, or take)
	cut := time.Now()
	eventually(t, "a to let the session go", func() string {
		if _, held := a.mgr.Held()[key]; held {
			return "still held by a"
		}
		return ""
	})
	lease := h.config("a").LeaseDuration
	if gone := time.Since(cut); gone > lease {
		t.Errorf("a let go %v after it lost the lease store; want before the lease (%v) expired", gone, lease)
	}
	s := h.waitSession(key, "connected by b", func(s core.Session) bool {
		_, held := b.mgr.Held()[key]
		return held && s.Status == core.StatusConnected
	})
	if took := time.Since(cut); took < lease {
		t.Errorf("b took over %v after a stopped renewing, before a full lease (%v)", took, lease)
	}
	if s.JID != linked.JID || h.sawStatus(key, 0, core.StatusReplaced) {
		t.Errorf("after takeover: %s (replaced seen: %v)", describe(s), h.sawStatus(key, 0, core.StatusReplaced))
	}
	if l, err := h.state.ReadLease(ctxT(t), key); err != nil || l.Owner != "b" {
		t.Errorf("lease = %+v, %v; want owner b", l, err)
	}
}
