package membus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wagate/wagate/core"
)

// ConsumeCommands calls h for each command until ctx is done or the bus is closed,
// then waits for the running handlers and returns nil. Commands of one group (a
// session) are handled one at a time, in order; different groups run in parallel, at
// most Workers at once. A command whose handler fails (or panics) is redelivered after
// RetryDelay times its receive count, and after MaxReceives failures it moves to the
// dead letters so the rest of its group can flow. A failure while ctx is being
// cancelled does not count as a receive. Several consumers may share one bus.
func (b *Bus) ConsumeCommands(ctx context.Context, h core.CommandHandler) error {
	workers := max(b.Workers, 1)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil
		}
		now := b.Now()
		var wake time.Time
		for len(sem) < cap(sem) {
			gid, d, next := b.nextLocked(now)
			if d == nil {
				wake = next
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := handle(ctx, h, d.cmd)
				<-sem
				b.finish(ctx, gid, d, err)
			}()
		}
		changed := b.changed
		b.mu.Unlock()

		var timerC <-chan time.Time
		if !wake.IsZero() {
			timer.Reset(max(wake.Sub(now), time.Millisecond))
			timerC = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-timerC:
		}
		timer.Stop()
	}
}

// handle runs h, turning a panic into an error so one bad command cannot take the
// process down.
func handle(ctx context.Context, h core.CommandHandler, c core.Command) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, c)
}

// nextLocked picks the head command of the first ready group in round-robin order
// and marks the group busy. With none ready it returns a nil delivery and the time
// the earliest waiting redelivery becomes ready (zero if none).
func (b *Bus) nextLocked(now time.Time) (string, *delivery, time.Time) {
	var wake time.Time
	for i, gid := range b.order {
		g := b.groups[gid]
		if g.busy {
			continue
		}
		if now.Before(g.notBefore) {
			if wake.IsZero() || g.notBefore.Before(wake) {
				wake = g.notBefore
			}
			continue
		}
		g.busy = true
		b.order = append(append(b.order[:i:i], b.order[i+1:]...), gid)
		d := g.pending[0]
		d.receives++
		return gid, d, time.Time{}
	}
	return "", nil, wake
}

// finish records the outcome of handling d, the head command of group gid.
func (b *Bus) finish(ctx context.Context, gid string, d *delivery, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.groups[gid]
	g.busy = false
	defer b.notifyLocked()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		d.receives--
		return
	case d.receives < b.MaxReceives:
		g.notBefore = b.Now().Add(time.Duration(d.receives) * b.RetryDelay)
		return
	default:
		reason := fmt.Sprintf("failed %d times: %v", d.receives, err)
		b.dead = append(b.dead, DeadLetter{Command: d.cmd, Reason: reason})
		b.log.Warn("command_dead_lettered", "event", "command_dead_lettered", "outcome", "fail", "command_id", d.cmd.ID, "command", string(d.cmd.Type),
			"group", gid, "receives", d.receives, "error", err.Error())
	}
	g.pending = g.pending[1:]
	g.notBefore = time.Time{}
	if len(g.pending) == 0 {
		delete(b.groups, gid)
		for i, id := range b.order {
			if id == gid {
				b.order = append(b.order[:i], b.order[i+1:]...)
				break
			}
		}
	}
}
