package lease

import (
	"sync"
	"time"
)

// maxRenewals bounds the renewals of one Taker in progress at once.
const maxRenewals = 16

// renewer renews the kept leases of one Taker. A connector holds a lease per session,
// so instead of a goroutine per lease, one scheduling goroutine wakes when the next
// lease is due and runs its renewal (retries included) on a short-lived worker, at
// most maxRenewals at a time: a slow or failing renewal never delays the others'.
// The scheduling goroutine runs only while some lease is kept.
type renewer struct {
	mu      sync.Mutex
	due     map[*Held]time.Time // kept leases waiting for their next renewal, and when
	busy    int                 // renewals in progress
	running bool                // the scheduling goroutine runs
	wake    chan struct{}       // the schedule changed (buffered, one pending signal)
}

func newRenewer() *renewer {
	return &renewer{due: make(map[*Held]time.Time), wake: make(chan struct{}, 1)}
}

// add schedules h's next renewal at at; false if h was already released.
func (r *renewer) add(h *Held, at time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h.isStopped() {
		return false
	}
	r.due[h] = at
	if !r.running {
		r.running = true
		go r.loop()
	} else {
		r.poke()
	}
	return true
}

// remove unschedules a released lease. It reports false while a renewal of h is in
// progress: the worker lets go of h when that renewal ends.
func (r *renewer) remove(h *Held) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.due[h]; !ok {
		return false
	}
	delete(r.due, h)
	r.poke()
	return true
}

// poke wakes the scheduling goroutine; r.mu is held.
func (r *renewer) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// loop starts the renewals that are due and sleeps until the next one is, or until
// the schedule changes; it ends when no lease is kept.
func (r *renewer) loop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.mu.Lock()
		if len(r.due) == 0 && r.busy == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		now := time.Now()
		next := time.Duration(-1)
		for h, at := range r.due {
			wait := at.Sub(now)
			if wait <= 0 && r.busy < maxRenewals {
				delete(r.due, h)
				r.busy++
				go r.renew(h)
				continue
			}
			if wait > 0 && (next < 0 || wait < next) {
				next = wait
			}
		}
		r.mu.Unlock()
		var fire <-chan time.Time
		if next >= 0 {
			timer.Reset(next)
			fire = timer.C
		}
		select {
		case <-r.wake:
		case <-fire:
		}
		timer.Stop()
	}
}

// renew runs one renewal of h (a worker) and schedules the next one, or lets go of
// h after Release or a loss.
func (r *renewer) renew(h *Held) {
	retry := max(h.t.opts.Duration/20, 10*time.Millisecond)
	err := h.renewBeforeDeadline(retry)
	r.mu.Lock()
	r.busy--
	keep := err == nil && !h.isStopped()
	if keep {
		r.due[h] = time.Now().Add(h.t.every())
	}
	r.poke()
	r.mu.Unlock()
	if keep {
		return
	}
	h.renewed(err)
	close(h.done)
}
