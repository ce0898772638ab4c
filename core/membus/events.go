package membus

import (
	"context"

	"github.com/wagate/wagate/core"
)

// subscriber is one SubscribeEvents call.
type subscriber struct {
	tenant string // "" for every tenant
	ch     chan core.Event
}

// SubscribeEvents returns a channel of the events of tenant ("" for every tenant)
// published from now on, holding up to buffer events, and a function that ends the
// subscription. Publishers never wait for a subscriber: when one falls behind so far
// that its buffer is full, the bus closes its channel (and logs it) instead of
// dropping events silently, so a Server-Sent Events client sees the stream end,
// reconnects and reloads what it missed. The channel is also closed by the cancel
// function and by Close.
func (b *Bus) SubscribeEvents(tenant string, buffer int) (<-chan core.Event, func()) {
	s := &subscriber{tenant: tenant, ch: make(chan core.Event, max(buffer, 1))}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	b.subs[s] = struct{}{}
	return s.ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.dropLocked(s)
	}
}

// dropLocked ends a subscription once.
func (b *Bus) dropLocked(s *subscriber) {
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

// PublishEvent hands e to every subscriber of its tenant without blocking; a
// subscriber whose buffer is full is cut off (see SubscribeEvents). With no
// subscribers the event goes nowhere: membus keeps no history.
func (b *Bus) PublishEvent(ctx context.Context, e core.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	for s := range b.subs {
		if s.tenant != "" && s.tenant != e.Tenant {
			continue
		}
		select {
		case s.ch <- e:
		default:
			b.dropLocked(s)
			b.log.Warn("event_subscriber_too_slow", "event", "event_subscriber_too_slow", "tenant", e.Tenant, "buffer", cap(s.ch))
		}
	}
	return nil
}
