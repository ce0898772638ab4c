package coretest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// NewLeasesFunc returns the core.LeaseStore under test; it may be shared by tests.
type NewLeasesFunc func(t *testing.T) core.LeaseStore

const leaseFor = time.Minute

// RunLeases runs the conformance suite of core.LeaseStore against the store
// newLeases returns. A released lease must read back with an empty Owner, so a
// waiting connector knows it may take it at once.
func RunLeases(t *testing.T, newLeases NewLeasesFunc) {
	newKey := func() core.SessionKey { return core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")} }

	t.Run("take_on_empty", func(t *testing.T) {
		ls, ctx, key := newLeases(t), testContext(t), newKey()
		_, err := ls.ReadLease(ctx, key)
		wantCode(t, err, core.CodeNotFound, "read before any take")
		_, err = ls.TakeLease(ctx, key, "a", leaseFor, 1)
		wantCode(t, err, core.CodeConflict, "take expecting a record that does not exist")
		before := time.Now()
		l, err := ls.TakeLease(ctx, key, "a", leaseFor, 0)
		noErr(t, err, "take")
		if l.Key != key || l.Owner != "a" || l.Fence <= 0 || l.Version == 0 || l.Duration != leaseFor {
			t.Fatalf("took %+v", l)
		}
		if l.Until.Before(before.Add(leaseFor - time.Second)) {
			t.Fatalf("lease until %s, want about %s from now", l.Until, leaseFor)
		}
		got, err := ls.ReadLease(ctx, key)
		noErr(t, err, "read")
		same(t, l, got, "lease read back")
		_, err = ls.TakeLease(ctx, key, "b", leaseFor, 0)
		wantCode(t, err, core.CodeConflict, "take expecting no record when one exists")
	})
	t.Run("take_needs_current_version", func(t *testing.T) {
		ls, ctx, key := newLeases(t), testContext(t), newKey()
		a, err := ls.TakeLease(ctx, key, "a", leaseFor, 0)
		noErr(t, err, "take")
		renewed, err := ls.RenewLease(ctx, a, leaseFor)
		noErr(t, err, "renew")
		_, err = ls.TakeLease(ctx, key, "b", leaseFor, a.Version)
		wantCode(t, err, core.CodeConflict, "take after the version moved")
		b, err := ls.TakeLease(ctx, key, "b", leaseFor, renewed.Version)
		noErr(t, err, "take with the current version")
		if b.Owner != "b" || b.Fence <= a.Fence {
			t.Fatalf("takeover gave %+v after %+v: want owner b and a higher fence", b, a)
		}
	})
	t.Run("renew", func(t *testing.T) {
		ls, ctx, key := newLeases(t), testContext(t), newKey()
		a, err := ls.TakeLease(ctx, key, "a", time.Second, 0)
		noErr(t, err, "take")
		r, err := ls.RenewLease(ctx, a, leaseFor)
		noErr(t, err, "renew by the owner")
		if r.Owner != "a" || r.Fence != a.Fence || r.Version == a.Version || r.Duration != leaseFor || !r.Until.After(a.Until) {
			t.Fatalf("renewal of %+v gave %+v", a, r)
		}
		got, err := ls.ReadLease(ctx, key)
		noErr(t, err, "read")
		same(t, r, got, "renewed lease read back")
		_, err = ls.RenewLease(ctx, r, leaseFor)
		noErr(t, err, "renew with the same fence again")

		impostor := r
		impostor.Owner = "z"
		_, err = ls.RenewLease(ctx, impostor, leaseFor)
		wantCode(t, err, core.CodeConflict, "renew by another owner")

		cur, err := ls.ReadLease(ctx, key)
		noErr(t, err, "read")
		b, err := ls.TakeLease(ctx, key, "b", leaseFor, cur.Version)
		noErr(t, err, "takeover")
		_, err = ls.RenewLease(ctx, r, leaseFor)
		wantCode(t, err, core.CodeConflict, "renew by the previous holder")
		stale := b
		stale.Fence = a.Fence
		_, err = ls.RenewLease(ctx, stale, leaseFor)
		wantCode(t, err, core.CodeConflict, "renew with a stale fence")
		wantCode(t, ls.ReleaseLease(ctx, a), core.CodeConflict, "release by the previous holder")
		got, err = ls.ReadLease(ctx, key)
		noErr(t, err, "read")
		same(t, b, got, "lease after the stale writes")
	})
	t.Run("release_lets_another_take", func(t *testing.T) {
		ls, ctx, key := newLeases(t), testContext(t), newKey()
		a, err := ls.TakeLease(ctx, key, "a", leaseFor, 0)
		noErr(t, err, "take")
		noErr(t, ls.ReleaseLease(ctx, a), "release")
		cur, err := ls.ReadLease(ctx, key)
		noErr(t, err, "read released")
		if cur.Owner != "" {
			t.Fatalf("released lease still names owner %q", cur.Owner)
		}
		_, err = ls.RenewLease(ctx, a, leaseFor)
		wantCode(t, err, core.CodeConflict, "renew after release")
		b, err := ls.TakeLease(ctx, key, "b", leaseFor, cur.Version)
		noErr(t, err, "take after release")
		if b.Owner != "b" || b.Fence <= a.Fence {
			t.Fatalf("take after release gave %+v, previous fence %d", b, a.Fence)
		}
	})
	t.Run("fence_increases_on_every_take", func(t *testing.T) {
		ls, ctx, key := newLeases(t), testContext(t), newKey()
		var version, fence int64
		for i := range 6 {
			l, err := ls.TakeLease(ctx, key, fmt.Sprintf("owner-%d", i%2), leaseFor, version)
			noErr(t, err, "take")
			if l.Fence <= fence {
				t.Fatalf("take %d gave fence %d after %d", i, l.Fence, fence)
			}
			version, fence = l.Version, l.Fence
			if i%3 == 2 {
				noErr(t, ls.ReleaseLease(ctx, l), "release")
				cur, err := ls.ReadLease(ctx, key)
				noErr(t, err, "read")
				version = cur.Version
			}
		}
	})
	t.Run("parallel_takers_one_wins", func(t *testing.T) {
		ls, ctx, key := newLeases(t), testContext(t), newKey()
		for round := range 2 {
			var expect int64
			if round > 0 {
				cur, err := ls.ReadLease(ctx, key)
				noErr(t, err, "read")
				expect = cur.Version
			}
			const n = 12
			var wg sync.WaitGroup
			wins := make(chan core.Lease, n)
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l, err := ls.TakeLease(ctx, key, fmt.Sprintf("owner-%d", i), leaseFor, expect)
					if err != nil {
						errs <- err
						return
					}
					wins <- l
				}()
			}
			wg.Wait()
			close(wins)
			close(errs)
			for err := range errs {
				wantCode(t, err, core.CodeConflict, "losing take")
			}
			if len(wins) != 1 {
				t.Fatalf("round %d: %d of %d parallel takers won, want exactly 1", round, len(wins), n)
			}
			won := <-wins
			got, err := ls.ReadLease(ctx, key)
			noErr(t, err, "read")
			same(t, won, got, "lease of the winner")
		}
	})
}
