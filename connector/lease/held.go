package lease

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wagate/wagate/core"
)

// Held is a lease this owner holds. Keep renews it in the background; Release gives
// it up. Its methods are safe for concurrent use.
type Held struct {
	t   *Taker
	log *slog.Logger

	mu     sync.Mutex
	lease  core.Lease
	expiry time.Time // on our monotonic clock: when the last write we made can lapse
	kept   bool
	onLost func()

	stop    chan struct{}
	stopped sync.Once
	done    chan struct{} // closed once the renewer let go of a kept lease
	lost    chan struct{}
}

func newHeld(t *Taker, l core.Lease, start time.Time) *Held {
	return &Held{
		t:      t,
		log:    t.opts.Log.With("tenant", l.Key.Tenant, "session", l.Key.ID),
		lease:  l,
		expiry: start.Add(t.opts.Duration),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		lost:   make(chan struct{}),
	}
}

// Lease returns the current lease record.
func (h *Held) Lease() core.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

// Fence returns the lease's fence, to write into the session with every update.
func (h *Held) Fence() int64 { return h.Lease().Fence }

// Lost is closed when the lease was lost (renewal refused or not done in time).
func (h *Held) Lost() <-chan struct{} { return h.lost }

// margin is how long before the lease lapses the holder gives up if renewal did not
// succeed: time for onLost to disconnect the session.
func (h *Held) margin() time.Duration { return h.t.opts.Duration / 4 }

// Keep starts renewing the lease every third of its duration. If a renewal is refused
// (someone else holds it now) or has not succeeded by a quarter-duration before the
// lease would lapse, Keep calls onLost once, from a goroutine of its own, before the
// lease can expire: onLost must stop using the session (disconnect it) promptly.
// Keep may be called once; renewing ends with Release or after onLost. The leases a
// Taker keeps are renewed from one shared goroutine (see renewer), not one each.
func (h *Held) Keep(onLost func()) {
	h.mu.Lock()
	if h.kept {
		h.mu.Unlock()
		return
	}
	h.kept, h.onLost = true, onLost
	h.mu.Unlock()
	if !h.t.renew.add(h, time.Now().Add(h.t.every())) {
		close(h.done) // released before Keep: nothing to renew
	}
}

// renewed is called by the renewer after one renewal of h: err is nil on success
// and after Release. A failed renewal loses the lease: onLost is told.
func (h *Held) renewed(err error) {
	if err == nil {
		return
	}
	h.log.Error("lease_lost", "event", "lease_lost", "outcome", "fail", "error", err, "fence", h.Fence())
	close(h.lost)
	h.mu.Lock()
	onLost := h.onLost
	h.mu.Unlock()
	if onLost != nil {
		onLost()
	}
}

// renewBeforeDeadline retries the renewal until it succeeds, is refused, the deadline
// (expiry minus margin) passes, or Release is called (which is not an error).
func (h *Held) renewBeforeDeadline(retry time.Duration) error {
	now := h.t.opts.Now
	for {
		h.mu.Lock()
		cur, deadline := h.lease, h.expiry.Add(-h.margin())
		h.mu.Unlock()
		left := deadline.Sub(now())
		if left <= 0 {
			return fmt.Errorf("renew lease: not renewed in time")
		}
		start := now()
		ctx, cancel := context.WithTimeout(context.Background(), left)
		go func() {
			select {
			case <-h.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		l, err := h.t.opts.Store.RenewLease(ctx, cur, h.t.opts.Duration)
		cancel()
		select {
		case <-h.stop:
			return nil
		default:
		}
		if err == nil {
			h.mu.Lock()
			h.lease, h.expiry = l, start.Add(h.t.opts.Duration)
			h.mu.Unlock()
			return nil
		}
		if core.IsCode(err, core.CodeConflict) {
			return fmt.Errorf("renew lease: %w", err)
		}
		h.log.Warn("lease_renew_failed", "event", "lease_renew_failed", "outcome", "fail", "error", err)
		if sleepOrStop(h.stop, min(retry, max(deadline.Sub(now()), 0))) {
			return nil
		}
	}
}

// sleepOrStop waits for d; it reports true if stop closed first.
func sleepOrStop(stop <-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return false
	case <-stop:
		return true
	}
}

// Release stops renewing and gives the lease up so another connector can take it at
// once. Releasing a lease that was lost is not an error (there is nothing to give up);
// onLost may therefore call Release.
func (h *Held) Release(ctx context.Context) error {
	h.stopped.Do(func() { close(h.stop) })
	if h.isLost() {
		return nil
	}
	h.mu.Lock()
	kept := h.kept
	h.mu.Unlock()
	if kept {
		if h.t.renew.remove(h) {
			close(h.done)
		}
		<-h.done // a renewal in progress ends first
	}
	if h.isLost() {
		return nil
	}
	if err := h.t.opts.Store.ReleaseLease(ctx, h.Lease()); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	h.log.Info("lease_released", "event", "lease_released", "outcome", "ok")
	return nil
}

func (h *Held) isStopped() bool { return closed(h.stop) }

func (h *Held) isLost() bool { return closed(h.lost) }

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
