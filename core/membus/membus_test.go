package membus_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/coretest"
	"github.com/wagate/wagate/core/membus"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newBus(t *testing.T, log *slog.Logger) *membus.Bus {
	b := membus.New(log)
	b.RetryDelay = 10 * time.Millisecond
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBus(t *testing.T) {
	coretest.RunBus(t, func(t *testing.T) (core.CommandSender, core.CommandConsumer) {
		b := newBus(t, nil)
		return b, b
	}, coretest.BusOptions{
		MaxReceives: membus.DefaultMaxReceives,
		DeadLettered: func(t *testing.T, sender core.CommandSender, id string) bool {
			for _, d := range sender.(*membus.Bus).DeadLetters() {
				if d.Command.ID == id {
					return true
				}
			}
			return false
		},
	})
}

func TestDeadLetterIsLogged(t *testing.T) {
	var logs syncBuffer
	b := newBus(t, slog.New(slog.NewJSONHandler(&logs, nil)))
	b.MaxReceives = 2
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.ConsumeCommands(ctx, func(context.Context, core.Command) error { panic("boom") })
	}()
	defer func() { cancel(); <-done }()
	c, err := core.NewCommand(core.CmdConnect, core.SessionKey{Tenant: "t", ID: "s"}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SendCommand(ctx, c); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(b.DeadLetters()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	dl := b.DeadLetters()
	if len(dl) != 1 || dl[0].Command.ID != c.ID || !strings.Contains(dl[0].Reason, "boom") {
		t.Fatalf("dead letters = %+v, want the panicking command with its reason", dl)
	}
	if out := logs.String(); !strings.Contains(out, "command_dead_lettered") || !strings.Contains(out, c.ID) {
		t.Fatalf("dead letter not logged with its id; log: %s", out)
	}
}

func TestDedupWindowEnds(t *testing.T) {
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	b := newBus(t, nil)
	b.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := core.NewCommand(core.CmdConnect, core.SessionKey{Tenant: "t", ID: "s"}, clock, nil)
	handled := make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.ConsumeCommands(ctx, func(_ context.Context, c core.Command) error { handled <- c.ID; return nil })
	}()
	defer func() { cancel(); <-done }()
	for i, advance := range []time.Duration{0, membus.DefaultDedupWindow - time.Second, 2 * time.Second} {
		mu.Lock()
		clock = clock.Add(advance)
		mu.Unlock()
		if err := b.SendCommand(ctx, c); err != nil {
			t.Fatal(err)
		}
		marker, _ := core.NewCommand(core.CmdDisconnect, c.Key(), clock, nil)
		if err := b.SendCommand(ctx, marker); err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) == 0 || got[len(got)-1] != marker.ID {
			select {
			case id := <-handled:
				got = append(got, id)
			case <-time.After(30 * time.Second):
				t.Fatalf("send %d: marker not handled", i)
			}
		}
		wantResend := i != 1 // the second send falls inside the window of the first
		if (len(got) == 2) != wantResend {
			t.Fatalf("send %d after %s: handled %v, want the command handled again: %v", i, advance, got, wantResend)
		}
	}
}

func TestSubscribeEvents(t *testing.T) {
	b := newBus(t, nil)
	ctx := context.Background()
	mine, cancelMine := b.SubscribeEvents("a", 2)
	defer cancelMine()
	all, cancelAll := b.SubscribeEvents("", 10)
	defer cancelAll()
	ev := func(tenant string) core.Event {
		e, err := core.NewEvent(core.EventSessionStatus, core.SessionKey{Tenant: tenant, ID: "s"}, time.Now(), map[string]string{"status": "qr"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first := ev("a")
	for _, e := range []core.Event{first, ev("b")} {
		if err := b.PublishEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-mine; got.ID != first.ID {
		t.Fatalf("tenant a received %s, want its own event %s", got.ID, first.ID)
	}
	if got := len(all); got != 2 {
		t.Fatalf("the all-tenants subscriber holds %d events, want 2", got)
	}
	select {
	case e := <-mine:
		t.Fatalf("tenant a received tenant %s's event", e.Tenant)
	default:
	}

	// A subscriber that does not read is cut off once its buffer is full; publishing
	// never blocks on it.
	for range 3 {
		if err := b.PublishEvent(ctx, ev("a")); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range mine {
		n++
	}
	if n != 2 {
		t.Fatalf("a full subscriber got %d buffered events before its channel closed, want 2", n)
	}
	if len(all) != 5 {
		t.Fatalf("the other subscriber was affected: holds %d events, want 5", len(all))
	}
	cancelAll()
	cancelAll() // cancelling twice is harmless
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishEvent(ctx, ev("a")); err == nil {
		t.Fatal("PublishEvent after Close succeeded")
	}
	if _, ok := <-mustClosed(t, b); ok {
		t.Fatal("subscription after Close is open")
	}
}

func mustClosed(t *testing.T, b *membus.Bus) <-chan core.Event {
	t.Helper()
	ch, cancel := b.SubscribeEvents("a", 1)
	defer cancel()
	return ch
}

func TestCloseEndsConsumers(t *testing.T) {
	b := membus.New(nil)
	const consumers = 3
	done := make(chan error, consumers)
	for range consumers {
		go func() {
			done <- b.ConsumeCommands(context.Background(), func(context.Context, core.Command) error { return nil })
		}()
	}
	for i := range 20 {
		c, _ := core.NewCommand(core.CmdConnect, core.SessionKey{Tenant: "t", ID: string(rune('a' + i))}, time.Now(), nil)
		if err := b.SendCommand(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range consumers {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("ConsumeCommands after Close: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("ConsumeCommands did not return after Close")
		}
	}
	c, _ := core.NewCommand(core.CmdConnect, core.SessionKey{Tenant: "t", ID: "s"}, time.Now(), nil)
	if err := b.SendCommand(context.Background(), c); err == nil {
		t.Fatal("SendCommand after Close succeeded")
	}
}
