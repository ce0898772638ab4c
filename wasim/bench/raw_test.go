package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestRawDevicesLinkRelayAndPing checks the load generator the benchmarks rely on:
// raw devices link through the control API, relay messages to each other with
// receipts back, receive a phone's message and get keepalives answered. It is quick
// enough for every test run.
func TestRawDevicesLinkRelayAndPing(t *testing.T) {
	sim := startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	phones := phoneNumbers(15551000000, 3)
	if err := createPhones(ctx, sim, phones); err != nil {
		t.Fatal(err)
	}
	stats := &loadStats{}
	devs, _, err := linkMany(ctx, sim, phones[:2], 2, 4, stats)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAll(devs) })
	if devs[0].JID.User != phones[0] || devs[0].JID.Device == 0 {
		t.Fatalf("first device is %s, want a companion of %s", devs[0].JID, phones[0])
	}
	waitFor(t, "both devices connected", func() bool {
		n, err := connectedCount(ctx, sim)
		return err == nil && n == 2
	})

	const perDevice = 10
	var seq atomic.Uint64
	if _, err := relayRing(ctx, devs, perDevice, &seq); err != nil {
		t.Fatal(err)
	}
	if got := stats.received.Load(); got != 2*perDevice {
		t.Fatalf("devices received %d messages, want %d", got, 2*perDevice)
	}
	if got := stats.receipts.Load(); got != 2*perDevice {
		t.Fatalf("senders got %d receipts, want %d", got, 2*perDevice)
	}
	waitFor(t, "server acks for every sent message", func() bool { return stats.acks.Load() == 2*perDevice })

	// The third phone writes twice to the first device (a pkmsg that sets up the
	// session, then another); the device's receipts reach the phone.
	senders := phones[2:]
	targets := phoneTargets(senders, devs[:1])
	if err := phoneWarmUp(ctx, sim, senders, targets, stats); err != nil {
		t.Fatal(err)
	}
	if err := phoneSend(ctx, sim, senders, targets, func(int) int { return 1 }, stats); err != nil {
		t.Fatal(err)
	}
	if got := stats.received.Load(); got != 2*perDevice+2 {
		t.Fatalf("devices received %d messages in all, want %d", got, 2*perDevice+2)
	}
	waitFor(t, "the phone to record the device's delivery receipts", func() bool {
		sent, err := sim.Control.Sent(ctx, phones[2])
		if err != nil || len(sent) != 2 {
			return false
		}
		for _, m := range sent {
			if len(m.Receipts) != 1 || m.Receipts[0].Type != "delivered" || m.Receipts[0].From != devs[0].JID.String() {
				return false
			}
		}
		return true
	})

	for _, d := range devs {
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "keepalives answered", func() bool { return stats.pongs.Load() == 2 })
	if err := firstErr(devs); err != nil {
		t.Fatal(err)
	}
	st := sim.mustStats(t)
	if st.Devices != 2 || st.Connected != 2 || st.Goroutines == 0 || st.RSSBytes == 0 || st.CPU == 0 {
		t.Fatalf("server stats = %+v, want 2 connected devices and non-zero process figures", st)
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
