package simtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// NewWhatsmeowClient returns an unmodified whatsmeow client for dev that reaches sim
// instead of WhatsApp. The client is disconnected when the test ends, after it has
// acknowledged what the simulator sent it (see Quiesce). Set WASIM_CLIENT_LOG=DEBUG
// (or INFO, WARN) to see the client's own log on stdout.
func NewWhatsmeowClient(tb testing.TB, sim *Sim, dev *store.Device) *whatsmeow.Client {
	tb.Helper()
	log := waLog.Noop
	if lvl := os.Getenv("WASIM_CLIENT_LOG"); lvl != "" {
		log = waLog.Stdout("client", lvl, false)
	}
	// The device JID is tracked from events: reading cli.Store.ID later would race
	// with whatsmeow's own writes (pairing, logout).
	var mu sync.Mutex
	var jid types.JID
	if dev.ID != nil {
		jid = *dev.ID
	}
	cli := whatsmeow.NewClient(dev, log)
	cli.AddEventHandler(func(evt any) {
		switch e := evt.(type) {
		case *events.PairSuccess:
			mu.Lock()
			jid = e.ID
			mu.Unlock()
		case *events.LoggedOut:
			mu.Lock()
			jid = types.EmptyJID
			mu.Unlock()
		}
	})
	h := HTTPClient(sim.Addr)
	cli.SetPreLoginHTTPClient(h)
	cli.SetWebsocketHTTPClient(h)
	tb.Cleanup(func() {
		mu.Lock()
		id := jid
		mu.Unlock()
		if cli.IsConnected() {
			Quiesce(sim, id, 5*time.Second)
		}
		cli.Disconnect()
	})
	return cli
}

// Quiesce waits up to timeout until the device has acknowledged every stanza the
// simulator queued for it, so its client is not in the middle of sending receipts or
// acks. Disconnecting a whatsmeow client while it sends is a data race inside
// whatsmeow (FrameSocket.Close against SendFrame), which the race detector reports.
func Quiesce(sim *Sim, device types.JID, timeout time.Duration) {
	if device.IsEmpty() {
		return
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n, err := sim.Server.Unacked(device.String())
		if err != nil || n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Recorder keeps every event a whatsmeow client dispatches, in order, so a test can
// wait for the one it expects.
type Recorder struct {
	mu     sync.Mutex
	events []any
	notify chan struct{}
}

// Record starts recording cli's events.
func Record(cli *whatsmeow.Client) *Recorder {
	r := &Recorder{notify: make(chan struct{})}
	cli.AddEventHandler(func(evt any) {
		r.mu.Lock()
		r.events = append(r.events, evt)
		close(r.notify)
		r.notify = make(chan struct{})
		r.mu.Unlock()
	})
	return r
}

// Mark is the number of events recorded so far; pass it to Wait to look only at
// later events.
func (r *Recorder) Mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Events returns a copy of the events recorded since mark.
func (r *Recorder) Events(mark int) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.events[min(mark, len(r.events)):]...)
}

// Wait returns the first event at or after index since for which match is true,
// waiting until ctx is done.
func (r *Recorder) Wait(ctx context.Context, since int, match func(any) bool) (any, error) {
	for i := since; ; {
		r.mu.Lock()
		for ; i < len(r.events); i++ {
			if match(r.events[i]) {
				evt := r.events[i]
				r.mu.Unlock()
				return evt, nil
			}
		}
		ch := r.notify
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for event: %w (saw %s)", ctx.Err(), describe(r.Events(since)))
		}
	}
}

// WaitFor waits up to timeout for an event of type T (at or after since) that pred
// accepts (pred may be nil), failing the test if none arrives.
func WaitFor[T any](tb testing.TB, r *Recorder, since int, timeout time.Duration, pred func(T) bool) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	evt, err := r.Wait(ctx, since, func(e any) bool {
		t, ok := e.(T)
		return ok && (pred == nil || pred(t))
	})
	if err != nil {
		var zero T
		tb.Fatalf("no %T event: %v", zero, err)
	}
	return evt.(T)
}

func describe(events []any) string {
	s := "["
	for i, e := range events {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%T", e)
	}
	return s + "]"
}
