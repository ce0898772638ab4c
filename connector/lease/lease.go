// Package lease makes a connector the single holder of a session before it connects
// it, with the rule of the AWS DynamoDB lock client: a lease with no record, released,
// or already ours is taken at once; any other lease is taken only after its Version
// has stayed the same for a full lease duration on this process's monotonic clock, so
// clock skew between hosts can never yield two holders. A held lease is renewed every
// third of its duration, and the holder is told to let go before the lease can expire
// when renewal fails.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// Options configure a Taker.
type Options struct {
	// Store keeps the lease records.
	Store core.LeaseStore
	// Owner names this connector in lease records.
	Owner string
	// Duration is the length of the leases this connector takes.
	Duration time.Duration
	// Poll is how often a waiting Acquire re-reads a lease held by someone else;
	// zero means Duration/10, between 50 ms and 2 s.
	Poll time.Duration
	// Now is the clock; it must carry a monotonic reading (time.Now does). Nil means time.Now.
	Now func() time.Time
	// Log receives lease events; nil discards them.
	Log *slog.Logger
	// Metrics counts LeaseTakeovers; nil records nothing.
	Metrics metrics.Emitter
}

// Taker acquires session leases for one owner.
type Taker struct {
	opts  Options
	renew *renewer
}

// NewTaker checks opts and returns a Taker.
func NewTaker(opts Options) (*Taker, error) {
	var errs []error
	if opts.Store == nil {
		errs = append(errs, errors.New("lease: a store is required"))
	}
	if opts.Owner == "" {
		errs = append(errs, errors.New("lease: an owner is required"))
	}
	if opts.Duration <= 0 {
		errs = append(errs, fmt.Errorf("lease: duration must be positive, got %s", opts.Duration))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.Poll <= 0 {
		opts.Poll = min(max(opts.Duration/10, 50*time.Millisecond), 2*time.Second)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	opts.Metrics = metrics.Or(opts.Metrics)
	return &Taker{opts: opts, renew: newRenewer()}, nil
}

// Owner returns the owner name this Taker writes.
func (t *Taker) Owner() string { return t.opts.Owner }

// every is how often a kept lease is renewed: every third of its duration.
func (t *Taker) every() time.Duration { return t.opts.Duration / 3 }

// Duration returns the lease length this Taker claims.
func (t *Taker) Duration() time.Duration { return t.opts.Duration }

// Acquire blocks until this owner holds the session's lease or ctx is done. It takes
// the lease at once when there is no record, when it was released, or when this owner
// already holds it; otherwise it waits until it has seen the same Version for the
// whole duration the holder claimed. The returned Held is not renewed until Keep.
func (t *Taker) Acquire(ctx context.Context, key core.SessionKey) (*Held, error) {
	log := t.opts.Log.With("tenant", key.Tenant, "session", key.ID)
	var (
		seenVersion int64 = -1
		seenAt      time.Time
		waiting     bool
	)
	for {
		take, takeover, expect := false, false, int64(0)
		cur, err := t.opts.Store.ReadLease(ctx, key)
		observed := t.opts.Now()
		switch {
		case core.IsCode(err, core.CodeNotFound):
			take = true
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("acquire lease: %w", ctx.Err())
			}
			log.Warn("lease_read_failed", "event", "lease_read_failed", "outcome", "fail", "error", err)
		case cur.Owner == "" || cur.Owner == t.opts.Owner:
			take, expect = true, cur.Version
		default:
			d := cur.Duration
			if d <= 0 {
				d = t.opts.Duration
			}
			if cur.Version != seenVersion {
				seenVersion, seenAt = cur.Version, observed
				if !waiting {
					log.Info("lease_waiting", "event", "lease_waiting", "outcome", "pending", "holder", cur.Owner, "lease", d.String())
					waiting = true
				}
			} else if observed.Sub(seenAt) >= d {
				take, takeover, expect = true, true, cur.Version
				log.Warn("lease_taking_over", "event", "lease_taking_over", "outcome", "retry", "holder", cur.Owner, "unchanged_for", observed.Sub(seenAt).Round(time.Millisecond).String())
			}
		}
		if take {
			start := t.opts.Now()
			l, err := t.opts.Store.TakeLease(ctx, key, t.opts.Owner, t.opts.Duration, expect)
			if err == nil {
				if takeover {
					t.opts.Metrics.Count(metrics.LeaseTakeovers, 1)
				}
				log.Info("lease_taken", "event", "lease_taken", "outcome", "ok", "fence", l.Fence)
				return newHeld(t, l, start), nil
			}
			if !core.IsCode(err, core.CodeConflict) && ctx.Err() == nil {
				log.Warn("lease_take_failed", "event", "lease_take_failed", "outcome", "fail", "error", err)
			}
			seenVersion = -1 // someone else wrote: start observing again
		}
		if err := sleep(ctx, t.opts.Poll); err != nil {
			return nil, fmt.Errorf("acquire lease: %w", err)
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
