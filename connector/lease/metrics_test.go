package lease_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/connector/lease"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/core/metrics"
)

func TestTakeoversAreCountedReleasesAreNot(t *testing.T) {
	store := memstate.New()
	rec := &metrics.Recorder{}
	emf := metrics.NewEMF(rec, nil)
	b, err := lease.NewTaker(lease.Options{Store: store, Owner: "b", Duration: d, Poll: 20 * time.Millisecond, Metrics: emf})
	if err != nil {
		t.Fatal(err)
	}

	// A released lease is taken without a takeover.
	ha, err := newTaker(t, store, "a").Acquire(ctxFor(t, time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := ha.Release(ctxFor(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	hb, err := b.Acquire(ctxFor(t, time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.Release(ctxFor(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	_ = emf.Flush()
	if got := rec.Sum(metrics.LeaseTakeovers); got != 0 {
		t.Fatalf("takeovers after a release = %v, want 0", got)
	}

	// A holder that never renews (a crashed connector) is taken over.
	if _, err := newTaker(t, store, "crashed").Acquire(ctxFor(t, time.Second), key); err != nil {
		t.Fatal(err)
	}
	hb, err = b.Acquire(ctxFor(t, 10*time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hb.Release(ctxFor(t, time.Second)) }()
	_ = emf.Flush()
	if got := rec.Sum(metrics.LeaseTakeovers); got != 1 {
		t.Errorf("takeovers after a stuck holder = %v, want 1", got)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
}
