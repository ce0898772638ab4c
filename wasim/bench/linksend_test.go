package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// runTimeout bounds one run of any benchmark in this package.
const runTimeout = 4 * time.Minute

// phase measures one step: wall time, the server process's CPU time and this
// process's (the clients' or load generator's) CPU time.
type phase struct {
	sim    *simProc
	start  time.Time
	srvCPU int64
	cliCPU int64
}

// measured is what a phase took.
type measured struct {
	wall, srv, cli time.Duration
}

func (p *simProc) begin(tb testing.TB) phase {
	return phase{sim: p, start: time.Now(), srvCPU: p.mustStats(tb).CPU, cliCPU: selfCPU()}
}

func (ph phase) end(tb testing.TB) measured {
	wall := time.Since(ph.start)
	cli := selfCPU() - ph.cliCPU
	return measured{wall: wall, srv: time.Duration(ph.sim.mustStats(tb).CPU - ph.srvCPU), cli: time.Duration(cli)}
}

// String is a short account for logs.
func (m measured) String() string {
	return fmt.Sprintf("%v (server CPU %v, client CPU %v)", m.wall.Round(time.Millisecond),
		m.srv.Round(time.Millisecond), m.cli.Round(time.Millisecond))
}

// selfCPU is this process's user and system CPU time in nanoseconds.
func selfCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func perSecond(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func perItem(d time.Duration, n int, unit time.Duration) float64 {
	return float64(d) / float64(n) / float64(unit)
}

// BenchmarkLinkAndSend measures devices linked per second and messages per second
// through the simulator, two ways:
//
//   - whatsmeow: unmodified whatsmeow clients link by QR, send texts to fake phones
//     (which decrypt them) and receive texts from them (which the simulator
//     encrypts); this is what wagate's own benchmarks put on the simulator, and the
//     clients' Signal work and one-send-at-a-time rule are part of the figure;
//   - raw: raw devices link the same way and relay pre-encrypted messages to each
//     other with receipts, so the server routes without decrypting, and fake phones
//     send to them through the control API: the server's own capacity.
//
// Besides links/s and msgs/s it reports the server process's CPU time per link and
// per message (srv-ms/link, srv-us/msg): 1e6 / srv-us/msg is what one core of
// server could relay if the load generator did not share the machine.
func BenchmarkLinkAndSend(b *testing.B) {
	b.Run("whatsmeow_clients="+strconv.Itoa(*flagClients), func(b *testing.B) {
		for range b.N {
			benchWhatsmeow(b, *flagClients, *flagClientMsgs)
		}
	})
	b.Run("raw_devices="+strconv.Itoa(*flagRawDevices), func(b *testing.B) {
		for range b.N {
			benchRaw(b, *flagRawDevices, *flagRelayMsgs, *flagPhoneMsgs)
		}
	})
}

func benchWhatsmeow(b *testing.B, n, m int) {
	sim := startSim(b)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	owners := phoneNumbers(15552000000, n) // the clients' accounts
	peers := phoneNumbers(15553000000, n)  // client i talks to peers[i]
	if err := createPhones(ctx, sim, append(append([]string{}, owners...), peers...)); err != nil {
		b.Fatal(err)
	}

	clients := make([]*wmClient, n)
	b.Cleanup(func() {
		for _, c := range clients {
			if c != nil {
				c.cli.Disconnect()
			}
		}
	})
	ph := sim.begin(b)
	err := forEach(ctx, n, n, func(ctx context.Context, i int) error {
		c, err := linkWhatsmeow(ctx, sim, owners[i])
		if err != nil {
			return fmt.Errorf("link client %d: %w", i, err)
		}
		clients[i] = c
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	link := ph.end(b)

	// Client → phone: every client sends m texts, one at a time as whatsmeow does.
	ph = sim.begin(b)
	err = forEach(ctx, n, n, func(ctx context.Context, i int) error {
		to := types.NewJID(peers[i], types.DefaultUserServer)
		for k := range m {
			msg := &waE2E.Message{Conversation: proto.String("bench text " + strconv.Itoa(k))}
			if _, err := clients[i].cli.SendMessage(ctx, to, msg); err != nil {
				return fmt.Errorf("client %d send %d: %w", i, k, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	send := ph.end(b)
	for i, peer := range peers {
		msgs, err := sim.Control.Messages(ctx, peer)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, msg := range msgs {
			if msg.From == owners[i] {
				got++
			}
		}
		if got != m {
			b.Fatalf("phone %s decrypted %d texts from client %d, want %d", peer, got, i, m)
		}
	}

	// Phone → client: every peer phone sends m texts back through the control API.
	ph = sim.begin(b)
	err = forEach(ctx, n, n, func(ctx context.Context, i int) error {
		for k := range m {
			if _, err := sim.Control.SendMessage(ctx, peers[i], owners[i], "bench reply "+strconv.Itoa(k)); err != nil {
				return fmt.Errorf("phone %s send %d: %w", peers[i], k, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for i, c := range clients {
		for c.received.Load() < int64(m) {
			select {
			case <-ctx.Done():
				b.Fatalf("client %d received %d of %d texts: %v", i, c.received.Load(), m, ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
	}
	recv := ph.end(b)

	total := n * m
	b.ReportMetric(perSecond(n, link.wall), "links/s")
	b.ReportMetric(perSecond(total, send.wall), "msgs/s")
	b.ReportMetric(perSecond(total, recv.wall), "phone-msgs/s")
	b.ReportMetric(perItem(link.srv, n, time.Millisecond), "srv-ms/link")
	b.ReportMetric(perItem(link.cli, n, time.Millisecond), "cli-ms/link")
	b.ReportMetric(perItem(send.srv, total, time.Microsecond), "srv-us/msg")
	b.ReportMetric(perItem(send.cli, total, time.Microsecond), "cli-us/msg")
	b.ReportMetric(perItem(recv.srv, total, time.Microsecond), "srv-us/phone-msg")
	b.ReportMetric(perItem(recv.cli, total, time.Microsecond), "cli-us/phone-msg")
	st := sim.mustStats(b)
	b.Logf("whatsmeow: %d clients linked in %v; %d texts client→phone in %v; %d texts phone→client in %v; "+
		"server RSS %.1f MiB, %d goroutines", n, link, total, send, total, recv, float64(st.RSSBytes)/(1<<20), st.Goroutines)
}

func benchRaw(b *testing.B, n, perDevice, phoneMsgs int) {
	sim := startSim(b)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	phones := phoneNumbers(15554000000, n)
	senders := phoneNumbers(15555000000, min(16, n))
	if err := createPhones(ctx, sim, append(append([]string{}, phones...), senders...)); err != nil {
		b.Fatal(err)
	}
	stats := &loadStats{}

	ph := sim.begin(b)
	devs, _, err := linkMany(ctx, sim, phones, 8, *flagWindow, stats)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeAll(devs) })
	link := ph.end(b)

	ph = sim.begin(b)
	var seq atomic.Uint64
	if _, err := relayRing(ctx, devs, perDevice, &seq); err != nil {
		b.Fatal(err)
	}
	relay := ph.end(b)
	relayed := n * perDevice
	if got := stats.received.Load(); got != int64(relayed) {
		b.Fatalf("devices received %d relayed messages, want %d", got, relayed)
	}

	perSender := max(phoneMsgs/len(senders), 1)
	targets := phoneTargets(senders, devs)
	if err := phoneWarmUp(ctx, sim, senders, targets, stats); err != nil {
		b.Fatal(err)
	}
	ph = sim.begin(b)
	if err := phoneSend(ctx, sim, senders, targets, func(int) int { return perSender }, stats); err != nil {
		b.Fatal(err)
	}
	phone := ph.end(b)
	if err := firstErr(devs); err != nil {
		b.Fatal(err)
	}

	phoneTotal := perSender * len(senders)
	b.ReportMetric(perSecond(n, link.wall), "links/s")
	b.ReportMetric(perSecond(relayed, relay.wall), "msgs/s")
	b.ReportMetric(perSecond(phoneTotal, phone.wall), "phone-msgs/s")
	b.ReportMetric(perItem(link.srv, n, time.Millisecond), "srv-ms/link")
	b.ReportMetric(perItem(relay.srv, relayed, time.Microsecond), "srv-us/msg")
	b.ReportMetric(perItem(relay.cli, relayed, time.Microsecond), "gen-us/msg")
	b.ReportMetric(perItem(phone.srv, phoneTotal, time.Microsecond), "srv-us/phone-msg")
	st := sim.mustStats(b)
	b.Logf("raw: %d devices linked in %v; %d messages relayed in %v (window %d); %d phone texts in %v; "+
		"server RSS %.1f MiB, %d goroutines", n, link, relayed, relay, *flagWindow, phoneTotal, phone,
		float64(st.RSSBytes)/(1<<20), st.Goroutines)
}
