package app

import (
	"context"
	"time"
)

// Standby detection of the connector process.
const (
	// standbyCheck is how often a connector decides whether to take commands.
	standbyCheck = 2 * time.Second
	// standbyHeartbeatAge is how recent another connector's heartbeat must be for
	// this one to leave the commands to it: three heartbeats (10 s apart).
	standbyHeartbeatAge = 30 * time.Second
)

// consumeCommands takes commands from the queue while this connector is active and
// pauses while it is a standby, until ctx is done.
//
// SQS hands a command to whichever connector polls first, and a connector that does
// not hold the session waits for its lease (minutes, while the holder is alive)
// before giving the command back, so with two connectors running (a rolling deploy,
// a paused process that came back, a VPS and ECS by mistake) half of the commands
// would stall. A connector is therefore a standby, and takes no commands, while it
// holds no session and another connector whose heartbeat is recent holds some. It
// still restores sessions in the background: once it holds one (the other stopped,
// or its leases expired), it takes commands again. When both hold sessions, both
// take commands, as before. Heartbeats come every 10 s, so a connector that has just
// lost its sessions, or started next to one that has just taken some, may take
// commands for that long before it pauses.
func (c *Connector) consumeCommands(ctx context.Context) {
	for ctx.Err() == nil {
		if !c.waitActive(ctx) {
			return
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := c.stores.bus.ConsumeCommands(cctx, c.mgr.HandleCommand); err != nil && cctx.Err() == nil {
				c.log.Error("commands_consumer_stopped", "event", "commands_consumer_stopped", "outcome", "fail", "error", err)
			}
		}()
		for c.sleep(ctx, standbyCheck) {
			if holder, _ := c.standbyFor(ctx); holder != "" {
				break
			}
		}
		cancel()
		<-done // the open receives finish and hand back what they bring
	}
}

// waitActive returns true once this connector should take commands, false when ctx
// ends first.
func (c *Connector) waitActive(ctx context.Context) bool {
	paused := false
	for {
		holder, n := c.standbyFor(ctx)
		if holder == "" {
			if paused {
				c.log.Info("commands_resumed", "event", "commands_resumed", "outcome", "ok")
			}
			return ctx.Err() == nil
		}
		if !paused {
			c.log.Warn("commands_paused", "event", "commands_paused", "outcome", "pending", "holder", holder, "holder_sessions", n,
				"detail", "another connector holds the sessions; this one takes no commands until it holds one")
		}
		paused = true
		if !c.sleep(ctx, standbyCheck) {
			return false
		}
	}
}

// standbyFor returns the connector this one stands by for, with the sessions it
// holds, or "" when this connector should take commands: it holds a session, no
// other connector with a recent heartbeat holds one, or the heartbeats cannot be
// read (taking commands is then the safe side: a command is never left unread).
func (c *Connector) standbyFor(ctx context.Context) (string, int) {
	if len(c.mgr.Held()) > 0 {
		return "", 0
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	hbs, err := c.stores.state.ListHeartbeats(rctx, time.Now().Add(-standbyHeartbeatAge))
	if err != nil {
		return "", 0
	}
	me := c.mgr.ConnectorID()
	holder, n, at := "", 0, time.Time{}
	for _, h := range hbs {
		if h.ConnectorID != me && h.Sessions > 0 && h.At.After(at) {
			holder, n, at = h.ConnectorID, h.Sessions, h.At
		}
	}
	return holder, n
}

// sleep waits d or until ctx ends; it reports whether d passed.
func (c *Connector) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
