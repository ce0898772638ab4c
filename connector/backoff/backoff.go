// Package backoff is the reconnect schedule of a session: 1 s, 2 s, 5 s, 15 s, 60 s,
// then 60 s for every further attempt, each delay with ±20 % jitter, back to the start
// once a connection has been up.
package backoff

import (
	"math/rand/v2"
	"time"
)

// steps is the schedule before jitter; the last step repeats.
var steps = [...]time.Duration{1 * time.Second, 2 * time.Second, 5 * time.Second, 15 * time.Second, 60 * time.Second}

// Jitter is the relative spread around each step: a delay lies in [0.8·step, 1.2·step).
const Jitter = 0.2

// Steps returns the schedule before jitter; the last step repeats forever.
func Steps() []time.Duration { return append([]time.Duration(nil), steps[:]...) }

// Backoff hands out the delays of consecutive reconnect attempts. It is not safe for
// concurrent use; a session supervisor owns one.
type Backoff struct {
	rand    func() float64
	attempt int
}

// New returns a Backoff at the start of the schedule. rand returns a number in [0, 1)
// and decides the jitter; nil means math/rand/v2.
func New(rand func() float64) *Backoff {
	if rand == nil {
		rand = defaultRand
	}
	return &Backoff{rand: rand}
}

func defaultRand() float64 { return rand.Float64() }

// Next returns the delay before the next attempt and moves along the schedule.
func (b *Backoff) Next() time.Duration {
	step := steps[min(b.attempt, len(steps)-1)]
	b.attempt++
	factor := 1 + Jitter*(2*b.rand()-1)
	return time.Duration(float64(step) * factor)
}

// Attempt returns how many delays Next handed out since the last Reset: the number of
// the attempt that the latest delay precedes.
func (b *Backoff) Attempt() int { return b.attempt }

// Reset returns to the start of the schedule; call it once a connection is up.
func (b *Backoff) Reset() { b.attempt = 0 }
