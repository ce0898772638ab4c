package bench

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// keepAliveDeadline is how long whatsmeow waits for a keepalive answer before it
// counts a failure (KeepAliveResponseDeadline).
const keepAliveDeadline = 10 * time.Second

// BenchmarkConnectedDevices links many devices to one simulator process (raw
// devices: one account each, linked by QR scan through the control API), holds them
// all connected while each sends keepalives, then has all of them relay messages at
// once. It reports what the server process costs per connected device (RSS,
// goroutines), keepalive round trips, and the relay rate at that connection count.
// Every keepalive must be answered within whatsmeow's 10 s deadline.
func BenchmarkConnectedDevices(b *testing.B) {
	n := *flagDevices
	b.Run("devices="+strconv.Itoa(n), func(b *testing.B) {
		for range b.N {
			benchConnected(b, n)
		}
	})
}

func benchConnected(b *testing.B, n int) {
	sim := startSim(b)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	phones := phoneNumbers(15556000000, n)
	if err := createPhones(ctx, sim, phones); err != nil {
		b.Fatal(err)
	}
	base := sim.mustStats(b)
	stats := &loadStats{}

	ph := sim.begin(b)
	devs, _, err := linkMany(ctx, sim, phones, 8, *flagWindow, stats)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeAll(devs) })
	link := ph.end(b)
	if got, err := connectedCount(ctx, sim); err != nil || got != n {
		b.Fatalf("control API lists %d connected devices (%v), want %d", got, err, n)
	}
	linked := sim.mustStats(b)

	// Hold: every device pings at its interval; nothing else happens.
	ph = sim.begin(b)
	if err := hold(ctx, devs, *flagPing, *flagHold); err != nil {
		b.Fatal(err)
	}
	// Pings sent just before the end get their answer after it.
	deadline := time.Now().Add(keepAliveDeadline)
	for stats.pongs.Load() < stats.pings.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	held := ph.end(b)
	after := sim.mustStats(b)
	pings, pongs := stats.pings.Load(), stats.pongs.Load()
	lat := stats.takeLatencies()
	if pongs != pings {
		b.Fatalf("%d of %d keepalives unanswered within %v", pings-pongs, pings, keepAliveDeadline)
	}
	if worst := percentile(lat, 100); worst > keepAliveDeadline {
		b.Fatalf("slowest keepalive answer took %v, whatsmeow gives up after %v", worst, keepAliveDeadline)
	}
	if after.Connected != n {
		b.Fatalf("%d of %d devices still connected after the hold", after.Connected, n)
	}

	// Relay with every device connected and sending at once.
	perDevice := max(*flagRelayMsgs/10, 1)
	ph = sim.begin(b)
	var seq atomic.Uint64
	if _, err := relayRing(ctx, devs, perDevice, &seq); err != nil {
		b.Fatal(err)
	}
	relay := ph.end(b)
	if err := firstErr(devs); err != nil {
		b.Fatal(err)
	}
	relayed := n * perDevice

	mib := func(v int64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(float64(n), "devices")
	b.ReportMetric(perSecond(n, link.wall), "links/s")
	b.ReportMetric(perItem(link.srv, n, time.Millisecond), "srv-ms/link")
	b.ReportMetric(mib(after.RSSBytes), "srv-RSS-MiB")
	b.ReportMetric(float64(after.RSSBytes-base.RSSBytes)/float64(n)/1024, "srv-KiB/device")
	b.ReportMetric(float64(after.Goroutines), "srv-goroutines")
	b.ReportMetric(float64(percentile(lat, 99))/float64(time.Millisecond), "ping-p99-ms")
	b.ReportMetric(100*held.srv.Seconds()/held.wall.Seconds(), "srv-hold-CPU-%")
	b.ReportMetric(perSecond(relayed, relay.wall), "msgs/s")
	b.ReportMetric(perItem(relay.srv, relayed, time.Microsecond), "srv-us/msg")
	b.ReportMetric(perItem(relay.cli, relayed, time.Microsecond), "gen-us/msg")
	b.Logf("%d devices linked in %v; after linking: RSS %.1f MiB (%.1f MiB with accounts only), "+
		"%d goroutines (%d before), heap %.1f MiB", n, link,
		mib(linked.RSSBytes), mib(base.RSSBytes), linked.Goroutines, base.Goroutines, float64(linked.HeapInuse)/(1<<20))
	b.Logf("held %v with a keepalive every %v per device: %d pings answered, p50 %v p99 %v max %v; "+
		"server %.1f%% of one core, RSS %.1f MiB, %d goroutines",
		*flagHold, *flagPing, pongs, percentile(lat, 50).Round(time.Microsecond),
		percentile(lat, 99).Round(time.Microsecond), percentile(lat, 100).Round(time.Microsecond),
		100*held.srv.Seconds()/held.wall.Seconds(), mib(after.RSSBytes), after.Goroutines)
	b.Logf("relay with %d connected devices: %d messages in %v", n, relayed, relay)
}
