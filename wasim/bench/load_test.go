package bench

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// phoneNumbers returns n distinct phone numbers starting at base.
func phoneNumbers(base uint64, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.FormatUint(base+uint64(i), 10)
	}
	return out
}

// forEach runs fn for every index below n on at most parallel goroutines and returns
// the first error. It stops handing out work after an error or when ctx ends.
func forEach(ctx context.Context, n, parallel int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next    atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		first = ctx.Err()
	}
	return first
}

// createPhones creates one account per number through the control API.
func createPhones(ctx context.Context, sim *simProc, numbers []string) error {
	return forEach(ctx, len(numbers), 8, func(ctx context.Context, i int) error {
		if _, err := sim.Control.CreatePhone(ctx, numbers[i], "Bench "+numbers[i]); err != nil {
			return fmt.Errorf("create phone %s: %w", numbers[i], err)
		}
		return nil
	})
}

// linkMany links one raw device to each phone, parallel at a time, and returns them
// in the order of phones with the time it took.
func linkMany(ctx context.Context, sim *simProc, phones []string, parallel, window int, stats *loadStats) ([]*rawDevice, time.Duration, error) {
	devs := make([]*rawDevice, len(phones))
	start := time.Now()
	err := forEach(ctx, len(phones), parallel, func(ctx context.Context, i int) error {
		d, err := linkRaw(ctx, sim, phones[i], window, stats)
		if err != nil {
			return fmt.Errorf("link device to %s: %w", phones[i], err)
		}
		devs[i] = d
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		closeAll(devs)
		return nil, 0, err
	}
	return devs, elapsed, nil
}

// closeAll closes every device that exists.
func closeAll(devs []*rawDevice) {
	for _, d := range devs {
		if d != nil {
			d.Close()
		}
	}
}

// firstErr returns the first error any device recorded.
func firstErr(devs []*rawDevice) error {
	for _, d := range devs {
		if err := d.Err(); err != nil {
			return fmt.Errorf("device %s: %w", d.JID, err)
		}
	}
	return nil
}

// ciphertext stands in for a Signal message of a short text: the server relays it
// without looking inside.
func ciphertext() []byte {
	b := make([]byte, 120)
	_, _ = crand.Read(b)
	return b
}

// relayRing makes device i send perDevice messages to device i+1 (the last to the
// first), each device keeping at most its window of messages without a receipt, and
// waits until every receipt is back. It returns the time from the first send to the
// last receipt.
func relayRing(ctx context.Context, devs []*rawDevice, perDevice int, seq *atomic.Uint64) (time.Duration, error) {
	body := ciphertext()
	start := time.Now()
	err := forEach(ctx, len(devs), len(devs), func(ctx context.Context, i int) error {
		d, to := devs[i], devs[(i+1)%len(devs)]
		for range perDevice {
			id := fmt.Sprintf("3EB0%018X", seq.Add(1))
			if err := d.Send(ctx, to.JID, id, body); err != nil {
				return fmt.Errorf("%s sends: %w", d.JID, err)
			}
		}
		return d.Drain(ctx)
	})
	return time.Since(start), err
}

// phoneTargets assigns the devices to the sender phones: sender i writes to devices
// i, i+len(senders), …, so each device hears from one phone.
func phoneTargets(senders []string, devs []*rawDevice) [][]*rawDevice {
	targets := make([][]*rawDevice, len(senders))
	for j, d := range devs {
		targets[j%len(senders)] = append(targets[j%len(senders)], d)
	}
	return targets
}

// phoneWarmUp has every sender write once to each of its devices, which sets up the
// phones' Signal sessions (once per conversation, like on a real phone).
func phoneWarmUp(ctx context.Context, sim *simProc, senders []string, targets [][]*rawDevice, stats *loadStats) error {
	if err := phoneSend(ctx, sim, senders, targets, func(i int) int { return len(targets[i]) }, stats); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

// phoneSend makes sender i send count(i) texts round robin over targets[i] through
// the control API; the simulator encrypts each with the phone's Signal session. It
// waits until the devices received them all.
func phoneSend(ctx context.Context, sim *simProc, senders []string, targets [][]*rawDevice, count func(i int) int, stats *loadStats) error {
	total := 0
	for i := range senders {
		if len(targets[i]) > 0 {
			total += count(i)
		}
	}
	want := stats.received.Load() + int64(total)
	err := forEach(ctx, len(senders), len(senders), func(ctx context.Context, i int) error {
		if len(targets[i]) == 0 {
			return nil
		}
		for k := range count(i) {
			to := targets[i][k%len(targets[i])]
			if _, err := sim.Control.SendMessage(ctx, senders[i], to.Phone, "bench "+strconv.Itoa(k)); err != nil {
				return fmt.Errorf("phone %s sends: %w", senders[i], err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for stats.received.Load() < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("devices received %d of %d phone messages: %w",
				stats.received.Load()-want+int64(total), total, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// hold keeps every device pinging at interval (with ±25 % jitter, like whatsmeow's
// 20–30 s) for the given duration.
func hold(ctx context.Context, devs []*rawDevice, interval, duration time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	err := forEach(ctx, len(devs), len(devs), func(ctx context.Context, i int) error {
		d := devs[i]
		// Spread the first pings over one interval.
		wait := time.Duration(rand.Int64N(int64(interval)))
		for {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			// The write gets its own deadline, not the hold's: the websocket library
			// closes a connection whose write is interrupted, which would count as
			// the server dropping a device when the hold ends mid-ping.
			pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := d.Ping(pctx)
			pcancel()
			if err != nil {
				return fmt.Errorf("%s pings: %w", d.JID, err)
			}
			wait = interval*3/4 + time.Duration(rand.Int64N(int64(interval/2)))
		}
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// percentile returns the p-th percentile (0–100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

// connectedCount counts the devices the control API lists as connected.
func connectedCount(ctx context.Context, sim *simProc) (int, error) {
	devs, err := sim.Control.Devices(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range devs {
		if d.Connected {
			n++
		}
	}
	return n, nil
}
