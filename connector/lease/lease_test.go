package lease_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/lease"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
)

const d = 600 * time.Millisecond

var key = core.SessionKey{Tenant: "t1", ID: "s1"}

// flakyStore is a lease store whose renewals can be made to fail, as for a holder
// cut off from the store or paused.
type flakyStore struct {
	*memstate.State
	failRenew atomic.Bool
}

func (f *flakyStore) RenewLease(ctx context.Context, l core.Lease, dur time.Duration) (core.Lease, error) {
	if f.failRenew.Load() {
		return core.Lease{}, errors.New("store unreachable")
	}
	return f.State.RenewLease(ctx, l, dur)
}

func newTaker(t *testing.T, store core.LeaseStore, owner string) *lease.Taker {
	t.Helper()
	tk, err := lease.NewTaker(lease.Options{Store: store, Owner: owner, Duration: d, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func ctxFor(t *testing.T, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

func TestNewTakerListsEveryProblem(t *testing.T) {
	_, err := lease.NewTaker(lease.Options{})
	if err == nil {
		t.Fatal("no error for empty options")
	}
	for _, want := range []string{"store", "owner", "duration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestReleaseLetsTheWaiterTakeOverAtOnce(t *testing.T) {
	store := memstate.New()
	a, b := newTaker(t, store, "a"), newTaker(t, store, "b")
	ha, err := a.Acquire(ctxFor(t, time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	ha.Keep(func() { t.Error("a lost a lease it kept renewing") })

	got := make(chan *lease.Held, 1)
	go func() {
		hb, err := b.Acquire(ctxFor(t, 10*time.Second), key)
		if err != nil {
			t.Error(err)
		}
		got <- hb
	}()
	// While a renews, b must keep waiting well past one lease duration.
	select {
	case <-got:
		t.Fatal("b took a lease that a was renewing")
	case <-time.After(3 * d):
	}
	released := time.Now()
	if err := ha.Release(ctxFor(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	hb := <-got
	if hb == nil {
		t.FailNow()
	}
	if wait := time.Since(released); wait > d/2 {
		t.Errorf("b took the released lease after %v; want at once (well under a lease of %v)", wait, d)
	}
	if hb.Fence() <= ha.Fence() {
		t.Errorf("fence did not increase: a=%d b=%d", ha.Fence(), hb.Fence())
	}
	_ = hb.Release(ctxFor(t, time.Second))
}

func TestStuckHolderLetsGoBeforeTheOtherTakesOver(t *testing.T) {
	store := &flakyStore{State: memstate.New()}
	a, b := newTaker(t, store, "a"), newTaker(t, store, "b")
	ha, err := a.Acquire(ctxFor(t, time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	acquiredA := time.Now()
	var lostAt atomic.Pointer[time.Time]
	ha.Keep(func() { now := time.Now(); lostAt.Store(&now) })

	var hb *lease.Held
	var takenAt time.Time
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		hb, err = b.Acquire(ctxFor(t, 10*time.Second), key)
		takenAt = time.Now()
		if err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(d / 2) // b is observing a's renewals
	store.failRenew.Store(true)
	failedAt := time.Now()
	wg.Wait()
	if hb == nil {
		t.FailNow()
	}
	lost := lostAt.Load()
	if lost == nil {
		t.Fatal("a never let go of a lease it could not renew")
	}
	if !lost.Before(takenAt) {
		t.Errorf("both held the lease: a let go at %v, b took it at %v", lost.Sub(acquiredA), takenAt.Sub(acquiredA))
	}
	if took := takenAt.Sub(failedAt); took < d/2 || took > 4*d {
		t.Errorf("b took over %v after a stopped renewing; want about one lease (%v)", took, d)
	}
	select {
	case <-ha.Lost():
	default:
		t.Error("Lost() not closed after onLost")
	}
	if err := ha.Release(ctxFor(t, time.Second)); err != nil {
		t.Errorf("Release after loss = %v, want nil", err)
	}
	if l, err := store.ReadLease(ctxFor(t, time.Second), key); err != nil || l.Owner != "b" {
		t.Errorf("lease after takeover = %+v, %v; want owner b", l, err)
	}
}

func TestOwnLeaseIsTakenAtOnce(t *testing.T) {
	store := memstate.New()
	first := newTaker(t, store, "same")
	h1, err := first.Acquire(ctxFor(t, time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	// A restarted process with the same owner name finds its old, unreleased record.
	start := time.Now()
	h2, err := newTaker(t, store, "same").Acquire(ctxFor(t, time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > d/2 {
		t.Errorf("took %v to retake our own lease", time.Since(start))
	}
	if h2.Fence() != h1.Fence()+1 {
		t.Errorf("fence %d after retake, want %d", h2.Fence(), h1.Fence()+1)
	}
}

func TestConcurrentTakersYieldOneHolder(t *testing.T) {
	store := memstate.New()
	const n = 8
	var holders atomic.Int32
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), d/2)
	defer cancel()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := newTaker(t, store, string(rune('a'+i)))
			if _, err := tk.Acquire(ctx, key); err == nil {
				holders.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := holders.Load(); got != 1 {
		t.Errorf("%d takers hold the lease within half a lease duration, want 1", got)
	}
}

// slowStore is a lease store whose renewals take a while, and fail for one session.
type slowStore struct {
	*memstate.State
	delay time.Duration
	fail  core.SessionKey
}

func (s *slowStore) RenewLease(ctx context.Context, l core.Lease, dur time.Duration) (core.Lease, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return core.Lease{}, ctx.Err()
	}
	if l.Key == s.fail {
		return core.Lease{}, errors.New("store unreachable for this session")
	}
	return s.State.RenewLease(ctx, l, dur)
}

func TestManyKeptLeasesStayHeldAndOneFailureLosesOnlyItsOwn(t *testing.T) {
	const n = 40
	failing := core.SessionKey{Tenant: "t1", ID: "s-fail"}
	store := &slowStore{State: memstate.New(), delay: d / 30, fail: failing}
	a, b := newTaker(t, store, "a"), newTaker(t, store, "b")
	keys := []core.SessionKey{failing}
	for i := range n - 1 {
		keys = append(keys, core.SessionKey{Tenant: "t1", ID: "s-" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	held := make([]*lease.Held, n)
	var lost sync.Map
	for i, k := range keys {
		h, err := a.Acquire(ctxFor(t, time.Second), k)
		if err != nil {
			t.Fatal(err)
		}
		h.Keep(func() { lost.Store(k, time.Now()) })
		held[i] = h
	}
	// n renewals of d/30 each take longer than a renewal period one after the other:
	// only renewals in parallel keep every lease.
	time.Sleep(4 * d)
	if _, ok := lost.Load(failing); !ok {
		t.Error("the lease whose renewals fail was not let go")
	}
	for _, k := range keys[1:] {
		if at, ok := lost.Load(k); ok {
			t.Errorf("lease %s lost at %v although its renewals succeed", k.ID, at)
		}
	}
	// The other connector finds every renewed lease held.
	ctx, cancel := context.WithTimeout(context.Background(), d/2)
	defer cancel()
	if _, err := b.Acquire(ctx, keys[1]); err == nil {
		t.Error("b took a lease that a keeps renewing")
	}
	for _, h := range held {
		if err := h.Release(ctxFor(t, time.Second)); err != nil {
			t.Errorf("release: %v", err)
		}
	}
	start := time.Now()
	for _, k := range keys[1:] {
		h, err := b.Acquire(ctxFor(t, time.Second), k)
		if err != nil {
			t.Fatalf("b could not take %s after a released it: %v", k.ID, err)
		}
		_ = h.Release(ctxFor(t, time.Second))
	}
	if took := time.Since(start); took > d {
		t.Errorf("b took %v to take %d released leases; want them at once", took, n-1)
	}
}
