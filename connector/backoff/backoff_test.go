package backoff_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/connector/backoff"
)

func fixed(v float64) func() float64 { return func() float64 { return v } }

func TestScheduleWithoutJitter(t *testing.T) {
	b := backoff.New(fixed(0.5)) // 0.5 → factor 1: the bare schedule
	want := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 15 * time.Second, time.Minute, time.Minute, time.Minute}
	for i, w := range want {
		if got := b.Next(); got != w {
			t.Errorf("attempt %d: delay %v, want %v", i+1, got, w)
		}
		if b.Attempt() != i+1 {
			t.Errorf("Attempt() = %d after %d delays", b.Attempt(), i+1)
		}
	}
}

func TestJitterBounds(t *testing.T) {
	tests := []struct {
		name string
		rand float64
		want []time.Duration
	}{
		{"lowest_draw_is_minus_20_percent", 0, []time.Duration{800 * time.Millisecond, 1600 * time.Millisecond, 4 * time.Second, 12 * time.Second, 48 * time.Second, 48 * time.Second}},
		{"highest_draw_is_plus_20_percent", 0.999999, []time.Duration{1200 * time.Millisecond, 2400 * time.Millisecond, 6 * time.Second, 18 * time.Second, 72 * time.Second, 72 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backoff.New(fixed(tt.rand))
			for i, w := range tt.want {
				got := b.Next()
				if d := got - w; d < -time.Millisecond || d > time.Millisecond {
					t.Errorf("attempt %d: delay %v, want ≈%v", i+1, got, w)
				}
			}
		})
	}
}

func TestResetAfterConnected(t *testing.T) {
	b := backoff.New(fixed(0.5))
	for range 4 {
		b.Next()
	}
	b.Reset()
	if b.Attempt() != 0 {
		t.Fatalf("Attempt() = %d after Reset", b.Attempt())
	}
	if got := b.Next(); got != time.Second {
		t.Errorf("first delay after Reset = %v, want 1s", got)
	}
}

func TestDefaultRandStaysWithinBounds(t *testing.T) {
	b := backoff.New(nil)
	steps := backoff.Steps()
	for i := range 200 {
		step := steps[min(i, len(steps)-1)]
		got := b.Next()
		lo := time.Duration(float64(step) * (1 - backoff.Jitter))
		hi := time.Duration(float64(step) * (1 + backoff.Jitter))
		if got < lo || got >= hi {
			t.Fatalf("attempt %d: delay %v outside [%v, %v)", i+1, got, lo, hi)
		}
	}
}
