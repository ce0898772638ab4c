//go:build unix

package splite2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/wasim/server"
)

// Workload of the send latency benchmark.
const (
	latencyRounds = 300 // sequential messages measured
	latencyWarmUp = 3   // messages before measuring (Signal session set-up)
	phonePoll     = 2 * time.Millisecond
)

// BenchmarkSplitSendLatency measures one message at a time in the split deployment on
// the emulators: from the POST to devapi (API Gateway event, api-messages function,
// SQS FIFO commands queue) to the 202, and until the receiving phone has it (the
// connector process took the command and sent it through the simulator). It reports
// the median and 99th percentile of both, with the functions in process and as their
// real bootstraps under the runtime interface emulator.
func BenchmarkSplitSendLatency(b *testing.B) {
	for _, mode := range []struct {
		name string
		rie  bool
	}{{"in_process", false}, {"rie", true}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				s := newStack(b, mode.rie)
				alice, bob := s.phone(b, alicePhone, "Alice"), s.phone(b, bobPhone, "Bob")
				s.startConnector(b, "conn-a")
				s.link(b, "desk", alice, "")
				var accepted, delivered []time.Duration
				for i := range latencyWarmUp + latencyRounds {
					text := fmt.Sprintf("latency %03d %s", i, core.NewID()[:6])
					start := time.Now()
					m := s.api.Send(b, "desk", bob, text)
					took := time.Since(start)
					waitOnPhone(b, s, bob, m.ID)
					if i >= latencyWarmUp {
						accepted = append(accepted, took)
						delivered = append(delivered, time.Since(start))
					}
				}
				report(b, "accepted", accepted)
				report(b, "on-phone", delivered)
			}
		})
	}
}

// waitOnPhone polls the phone until it has message id.
func waitOnPhone(b *testing.B, s *stack, phone, id string) {
	b.Helper()
	deadline := time.Now().Add(eventTimeout)
	for time.Now().Before(deadline) {
		msgs, err := s.sim.Control.Messages(ctx(b), phone)
		if err != nil {
			b.Fatal(err)
		}
		if slices.ContainsFunc(msgs, func(m server.InboxMessage) bool { return m.ID == id }) {
			return
		}
		time.Sleep(phonePoll)
	}
	b.Fatalf("message %s did not reach %s within %s", id, phone, eventTimeout)
}

// report logs the distribution and reports its median and 99th percentile in ms.
func report(b *testing.B, what string, ds []time.Duration) {
	b.Helper()
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p50, p99 := ds[len(ds)/2], ds[len(ds)*99/100]
	b.ReportMetric(ms(p50), what+"-p50-ms")
	b.ReportMetric(ms(p99), what+"-p99-ms")
	b.Logf("%s: n=%d min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f ms", what, len(ds),
		ms(ds[0]), ms(p50), ms(ds[len(ds)*9/10]), ms(p99), ms(ds[len(ds)-1]))
}
