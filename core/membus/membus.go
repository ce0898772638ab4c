// Package membus is wagate's in-process bus for the local all-in-one binary: the
// commands queue (core.CommandSender and core.CommandConsumer, with the ordering,
// deduplication and dead-letter behaviour of an SQS FIFO queue) and the events fan-out
// to Server-Sent Events subscribers (core.EventPublisher).
package membus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/wagate/wagate/core"
)

// Defaults of the Bus settings.
const (
	DefaultMaxReceives = 5
	DefaultWorkers     = 8
	DefaultRetryDelay  = 200 * time.Millisecond
	DefaultDedupWindow = 5 * time.Minute
)

// ErrClosed is returned by SendCommand and PublishEvent after Close.
var ErrClosed = errors.New("membus: bus closed")

// Bus is an in-process commands queue and events fan-out. It is safe for concurrent
// use. Set the exported fields before the first call; New fills in the defaults.
type Bus struct {
	// MaxReceives is how many times a command is handed to a handler before it moves
	// to the dead letters.
	MaxReceives int
	// Workers bounds how many commands one ConsumeCommands call handles at once.
	Workers int
	// RetryDelay is the wait before a failed command is redelivered; it grows
	// linearly with the number of receives.
	RetryDelay time.Duration
	// DedupWindow is how long a command id is remembered: a command sent again with
	// the same id within it is dropped, as SQS FIFO does.
	DedupWindow time.Duration
	// Now returns the current time (for the dedup window and retry delays).
	Now func() time.Time

	log *slog.Logger

	mu      sync.Mutex
	closed  bool
	changed chan struct{} // closed and replaced whenever commands become ready
	groups  map[string]*group
	order   []string // group ids with pending commands, in round-robin order
	seen    map[string]time.Time
	seenLog []seenID // command ids in send order, for pruning the dedup set
	dead    []DeadLetter
	subs    map[*subscriber]struct{}
}

// group is one ordering group (a session): its pending commands, oldest first.
type group struct {
	pending   []*delivery
	busy      bool      // a handler holds the head command
	notBefore time.Time // the head command waits for a redelivery until then
}

type delivery struct {
	cmd      core.Command
	receives int
}

type seenID struct {
	id string
	at time.Time
}

// DeadLetter is a command that failed MaxReceives times, with the last error.
type DeadLetter struct {
	Command core.Command
	Reason  string
}

// Compile-time checks that Bus implements the ports.
var (
	_ core.CommandSender   = (*Bus)(nil)
	_ core.CommandConsumer = (*Bus)(nil)
	_ core.EventPublisher  = (*Bus)(nil)
)

// New returns a bus with the default settings that logs dead letters and closed
// subscribers to log.
func New(log *slog.Logger) *Bus {
	return &Bus{
		MaxReceives: DefaultMaxReceives,
		Workers:     DefaultWorkers,
		RetryDelay:  DefaultRetryDelay,
		DedupWindow: DefaultDedupWindow,
		Now:         time.Now,
		log:         orDiscard(log),
		changed:     make(chan struct{}),
		groups:      make(map[string]*group),
		seen:        make(map[string]time.Time),
		subs:        make(map[*subscriber]struct{}),
	}
}

// Close stops the bus: consumers return once their running handlers finish, every
// event subscription ends, and later sends fail with ErrClosed. Pending commands are
// discarded.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for s := range b.subs {
		b.dropLocked(s)
	}
	b.notifyLocked()
	return nil
}

// notifyLocked wakes every consumer waiting for work.
func (b *Bus) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// DeadLetters returns the commands that failed MaxReceives times, oldest first.
func (b *Bus) DeadLetters() []DeadLetter {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]DeadLetter(nil), b.dead...)
}

// SendCommand enqueues c at the end of its group. A command whose id was sent within
// DedupWindow is accepted and dropped.
func (b *Bus) SendCommand(ctx context.Context, c core.Command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.ID == "" {
		return core.Errorf(core.CodeInvalid, "command id must not be empty")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	now := b.Now()
	b.pruneSeenLocked(now)
	if _, dup := b.seen[c.ID]; dup {
		return nil
	}
	b.seen[c.ID] = now
	b.seenLog = append(b.seenLog, seenID{c.ID, now})
	gid := c.GroupID()
	g := b.groups[gid]
	if g == nil {
		g = &group{}
		b.groups[gid] = g
		b.order = append(b.order, gid)
	}
	g.pending = append(g.pending, &delivery{cmd: c})
	b.notifyLocked()
	return nil
}

func (b *Bus) pruneSeenLocked(now time.Time) {
	n := 0
	for n < len(b.seenLog) && now.Sub(b.seenLog[n].at) >= b.DedupWindow {
		delete(b.seen, b.seenLog[n].id)
		n++
	}
	b.seenLog = b.seenLog[n:]
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
