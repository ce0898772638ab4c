package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/wasim/simtest"
)

// Workload sizes of the latency and throughput benchmarks.
const (
	qrRounds       = 30  // QR codes asked for per side
	sendRounds     = 200 // sequential messages per side
	sendWarmUp     = 3   // messages before measuring (Signal session set-up)
	tputSessions   = 8   // sessions (or bare clients) sending at once
	tputPerSession = 100 // messages per session and round
	tputRounds     = 5   // rounds per side, alternating
)

// BenchmarkQRLatency measures how long a user waits for a QR code: wagate from
// POST /v1/sessions/{id}/connect to the code being served by GET .../qr, against a
// bare whatsmeow client from Connect to its first QR event.
func BenchmarkQRLatency(b *testing.B) {
	for range b.N {
		e := start(b, benchConfig)
		container := bareStore(b, filepath.Join(b.TempDir(), "bare.db"))
		h := simtest.HTTPClient(e.sim.Addr)
		var wagate, bare []time.Duration
		for i := range qrRounds {
			id := fmt.Sprintf("qr-%03d", i)
			e.createSession(b, id)
			start := time.Now()
			e.api.MustJSON(b, "POST", "/v1/sessions/"+id+"/connect", nil, 202, nil)
			for {
				if r := e.api.Do(b, "GET", "/v1/sessions/"+id+"/qr", nil); r.Status == 200 {
					break
				}
				if time.Since(start) > linkTimeout {
					b.Fatalf("no QR for %s", id)
				}
				time.Sleep(pollEvery)
			}
			wagate = append(wagate, time.Since(start))
			e.api.MustJSON(b, "POST", "/v1/sessions/"+id+"/disconnect", nil, 202, nil)

			cli := newBare(e.sim, container.NewDevice(), h)
			ctx, cancel := context.WithTimeout(context.Background(), linkTimeout)
			qrs, err := cli.GetQRChannel(ctx)
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			if err := cli.ConnectContext(ctx); err != nil {
				b.Fatal(err)
			}
			for item := range qrs {
				if item.Event == whatsmeow.QRChannelEventCode {
					bare = append(bare, time.Since(start))
					break
				}
			}
			cli.Disconnect()
			cancel()
		}
		report(b, "QR latency (ms)", wagate, bare)
	}
}

// BenchmarkSendLatency measures one message at a time, from the API request (wagate)
// or SendMessage (bare) until the receiving phone has it.
func BenchmarkSendLatency(b *testing.B) {
	for range b.N {
		e := start(b, benchConfig)
		phones := createPhones(b, e.sim, 5550100000, 4)
		senderW, senderB, toW, toB := phones[0], phones[1], phones[2], phones[3]
		e.link(b, "send", senderW)
		container := bareStore(b, filepath.Join(b.TempDir(), "bare.db"))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cli, err := linkBare(ctx, e.sim, container, simtest.HTTPClient(e.sim.Addr), senderB)
		if err != nil {
			b.Fatalf("link bare client: %v", err)
		}
		defer cli.Disconnect()
		in := inbox{e.sim}
		var wagate, bare, accepted []time.Duration
		for i := range sendWarmUp + sendRounds {
			text := fmt.Sprintf("latency %d", i)
			start := time.Now()
			e.api.Send(b, "send", toW, text)
			acc := time.Since(start)
			got := in.waitCount(b, toW, i+1, eventTimeout)
			if i >= sendWarmUp {
				wagate = append(wagate, got.Sub(start))
				accepted = append(accepted, acc)
			}

			start = time.Now()
			if _, err := bareSend(ctx, cli, toB, text); err != nil {
				b.Fatalf("bare send: %v", err)
			}
			got = in.waitCount(b, toB, i+1, eventTimeout)
			if i >= sendWarmUp {
				bare = append(bare, got.Sub(start))
			}
		}
		report(b, "send latency (ms)", wagate, bare)
		b.Logf("wagate API accept (202) p50 %.2f ms, p99 %.2f ms", ms(percentile(accepted, .5)), ms(percentile(accepted, .99)))
	}
}

// BenchmarkThroughput sends tputSessions × tputPerSession messages as fast as each
// side allows: wagate through the API (accepted, queued, sent by the sessions), bare
// clients with one SendMessage at a time each; the clock stops when the phones have
// them all.
func BenchmarkThroughput(b *testing.B) {
	for range b.N {
		e := start(b, benchConfig)
		senders := createPhones(b, e.sim, 5550200000, 2*tputSessions)
		receivers := createPhones(b, e.sim, 5550300000, 2*tputSessions)
		ids := sessionIDs("tput", tputSessions)
		e.linkMany(b, ids, senders[:tputSessions], 4)
		container := bareStore(b, filepath.Join(b.TempDir(), "bare.db"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		h := simtest.HTTPClient(e.sim.Addr)
		bares := make([]*whatsmeow.Client, tputSessions)
		for i := range bares {
			cli, err := linkBare(ctx, e.sim, container, h, senders[tputSessions+i])
			if err != nil {
				b.Fatalf("link bare client: %v", err)
			}
			defer cli.Disconnect()
			bares[i] = cli
		}
		in := inbox{e.sim}
		// One message per pair first: Signal sessions are set up before the clock runs.
		for i := range tputSessions {
			e.api.Send(b, ids[i], receivers[i], "warm up")
			if _, err := bareSend(ctx, bares[i], receivers[tputSessions+i], "warm up"); err != nil {
				b.Fatal(err)
			}
		}
		for i := range 2 * tputSessions {
			in.waitCount(b, receivers[i], 1, eventTimeout)
		}

		// Alternate the sides, tputRounds each, and keep the median of each: the
		// machine's other load then weighs on both alike.
		var wRates, bRates []float64
		for round := range tputRounds {
			sent := (round + 1) * tputPerSession
			wRates = append(wRates, measureTput(b, in, receivers[:tputSessions], sent, func(i, k int) {
				e.api.acceptedSend(b, ids[i], receivers[i], fmt.Sprintf("tput %d", k))
			}))
			bRates = append(bRates, measureTput(b, in, receivers[tputSessions:], sent, func(i, k int) {
				if _, err := bareSend(ctx, bares[i], receivers[tputSessions+i], fmt.Sprintf("tput %d", k)); err != nil {
					b.Errorf("bare send: %v", err)
				}
			}))
		}
		wagate, bare := median(wRates), median(bRates)
		b.ReportMetric(wagate, "wagate-msgs/s")
		b.ReportMetric(bare, "bare-msgs/s")
		b.ReportMetric(wagate/bare, "wagate/bare")
		b.Logf("throughput, %d senders × %d messages, median of %d rounds: wagate %.0f msgs/s, bare %.0f msgs/s, ratio %.2f (rounds in order: wagate %.0f, bare %.0f)",
			tputSessions, tputPerSession, tputRounds, wagate, bare, wagate/bare, wRates, bRates)
	}
}

// median returns the median of v without reordering it.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// measureTput runs send(i, k) for every sender i and message k, one goroutine per
// sender, and returns messages per second until every receiver has them all
// (sentBefore earlier ones and the warm-up message included).
func measureTput(b *testing.B, in inbox, receivers []string, sentBefore int, send func(i, k int)) float64 {
	start := time.Now()
	var wg sync.WaitGroup
	for i := range receivers {
		wg.Go(func() {
			for k := range tputPerSession {
				send(i, k)
			}
		})
	}
	wg.Wait()
	var last time.Time
	for _, r := range receivers {
		last = in.waitCount(b, r, 1+sentBefore, 2*time.Minute)
	}
	n := len(receivers) * tputPerSession
	return float64(n) / last.Sub(start).Seconds()
}

// report logs p50/p99 of both sides and reports them as benchmark metrics.
func report(b *testing.B, what string, wagate, bare []time.Duration) {
	w50, w99, b50, b99 := ms(percentile(wagate, .5)), ms(percentile(wagate, .99)), ms(percentile(bare, .5)), ms(percentile(bare, .99))
	b.ReportMetric(w50, "wagate-p50-ms")
	b.ReportMetric(w99, "wagate-p99-ms")
	b.ReportMetric(b50, "bare-p50-ms")
	b.ReportMetric(b99, "bare-p99-ms")
	b.Logf("%s over %d rounds: wagate p50 %.2f p99 %.2f; bare whatsmeow p50 %.2f p99 %.2f",
		what, len(wagate), w50, w99, b50, b99)
}
