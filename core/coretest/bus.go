package coretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// NewBusFunc returns the commands bus under test. Every call must return a bus with
// no commands pending from other tests (for a queue service: a fresh queue).
type NewBusFunc func(t *testing.T) (core.CommandSender, core.CommandConsumer)

// BusOptions adapts RunBus to an adapter.
type BusOptions struct {
	// DeadLettered reports whether the command with id is in the dead-letter queue of
	// the bus that sender belongs to. It is polled until true. Nil skips the check.
	DeadLettered func(t *testing.T, sender core.CommandSender, id string) bool
	// MaxReceives, when set, is how many times the bus hands a failing command to a
	// handler before dead-lettering it; the suite checks the exact count.
	MaxReceives int
}

// RunBus runs the conformance suite of the commands bus against newBus.
func RunBus(t *testing.T, newBus NewBusFunc, opts BusOptions) {
	t.Run("order_within_session", func(t *testing.T) { testBusOrder(t, newBus) })
	t.Run("sessions_in_parallel", func(t *testing.T) { testBusParallel(t, newBus) })
	t.Run("duplicate_id_handled_once", func(t *testing.T) { testBusDedup(t, newBus) })
	t.Run("failing_command_dead_lettered", func(t *testing.T) { testBusDeadLetter(t, newBus, opts) })
	t.Run("consume_waits_for_handlers", func(t *testing.T) { testBusShutdown(t, newBus) })
}

// recorder collects what a handler saw, safe for concurrent handlers.
type recorder struct {
	mu       sync.Mutex
	handled  map[string][]string // group → command ids in handling order
	count    map[string]int      // command id → times handled
	inFlight map[string]int      // group → handlers running now
	overlap  string              // a group seen with two handlers at once
}

func newRecorder() *recorder {
	return &recorder{handled: map[string][]string{}, count: map[string]int{}, inFlight: map[string]int{}}
}

func (r *recorder) begin(c core.Command) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := c.GroupID()
	r.inFlight[g]++
	if r.inFlight[g] > 1 && r.overlap == "" {
		r.overlap = g
	}
}

func (r *recorder) end(c core.Command) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := c.GroupID()
	r.inFlight[g]--
	r.handled[g] = append(r.handled[g], c.ID)
	r.count[c.ID]++
}

func (r *recorder) times(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[id]
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ids := range r.handled {
		n += len(ids)
	}
	return n
}

// consume runs the consumer until the test ends, then checks that it returns.
func consume(t *testing.T, consumer core.CommandConsumer, h core.CommandHandler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consumer.ConsumeCommands(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("ConsumeCommands returned %v after its context ended", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("ConsumeCommands did not return within %s after its context ended", waitTimeout)
		}
	})
}

func send(t *testing.T, sender core.CommandSender, key core.SessionKey, typ core.CommandType) core.Command {
	t.Helper()
	c, err := core.NewCommand(typ, key, now(), nil)
	noErr(t, err, "new command")
	noErr(t, sender.SendCommand(testContext(t), c), "send")
	return c
}

func testBusOrder(t *testing.T, newBus NewBusFunc) {
	sender, consumer := newBus(t)
	tenant := uniqueID("t")
	keys := []core.SessionKey{{Tenant: tenant, ID: uniqueID("a")}, {Tenant: tenant, ID: uniqueID("b")}, {Tenant: tenant, ID: uniqueID("c")}}
	const perSession = 15
	want := map[string][]string{}
	for range perSession {
		for _, k := range keys {
			c := send(t, sender, k, core.CmdSendMessage)
			want[c.GroupID()] = append(want[c.GroupID()], c.ID)
		}
	}
	rec := newRecorder()
	consume(t, consumer, func(ctx context.Context, c core.Command) error {
		rec.begin(c)
		time.Sleep(time.Millisecond) // widen the window in which a second handler of the group would overlap
		rec.end(c)
		return nil
	})
	eventually(t, "every command is handled", func() bool { return rec.total() >= perSession*len(keys) })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.overlap != "" {
		t.Fatalf("two commands of %s were handled at the same time", rec.overlap)
	}
	for g, ids := range want {
		if !slices.Equal(rec.handled[g], ids) {
			t.Fatalf("group %s handled in order %v, sent in order %v", g, rec.handled[g], ids)
		}
	}
}

func testBusParallel(t *testing.T, newBus NewBusFunc) {
	sender, consumer := newBus(t)
	tenant := uniqueID("t")
	a, b := core.SessionKey{Tenant: tenant, ID: uniqueID("a")}, core.SessionKey{Tenant: tenant, ID: uniqueID("b")}
	ca := send(t, sender, a, core.CmdConnect)
	cb := send(t, sender, b, core.CmdConnect)
	bStarted := make(chan struct{})
	var once sync.Once
	rec := newRecorder()
	var blocked error
	var mu sync.Mutex
	consume(t, consumer, func(ctx context.Context, c core.Command) error {
		switch c.ID {
		case cb.ID:
			once.Do(func() { close(bStarted) })
		case ca.ID:
			// Session a's handler waits for session b's: a bus that handles sessions one
			// after another never gets there.
			select {
			case <-bStarted:
			case <-time.After(waitTimeout):
				mu.Lock()
				blocked = errors.New("session b was not handled while session a's handler ran")
				mu.Unlock()
			}
		}
		rec.end(c)
		return nil
	})
	eventually(t, "both sessions' commands are handled", func() bool { return rec.times(ca.ID) > 0 && rec.times(cb.ID) > 0 })
	mu.Lock()
	defer mu.Unlock()
	if blocked != nil {
		t.Fatal(blocked)
	}
}

func testBusDedup(t *testing.T, newBus NewBusFunc) {
	sender, consumer := newBus(t)
	key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
	c := send(t, sender, key, core.CmdSendMessage)
	noErr(t, sender.SendCommand(testContext(t), c), "send the same command id again")
	marker := send(t, sender, key, core.CmdDisconnect)
	rec := newRecorder()
	consume(t, consumer, func(ctx context.Context, c core.Command) error { rec.end(c); return nil })
	eventually(t, "the command after the duplicate is handled", func() bool { return rec.times(marker.ID) > 0 })
	if n := rec.times(c.ID); n != 1 {
		t.Fatalf("a command id sent twice was handled %d times, want 1", n)
	}
}

func testBusDeadLetter(t *testing.T, newBus NewBusFunc, opts BusOptions) {
	sender, consumer := newBus(t)
	tenant := uniqueID("t")
	failing, flowing := core.SessionKey{Tenant: tenant, ID: uniqueID("f")}, core.SessionKey{Tenant: tenant, ID: uniqueID("g")}
	bad := send(t, sender, failing, core.CmdSendMessage)
	after := send(t, sender, failing, core.CmdDisconnect)
	var others []core.Command
	for range 10 {
		others = append(others, send(t, sender, flowing, core.CmdSendMessage))
	}
	rec := newRecorder()
	othersDone := func() bool {
		for _, c := range others {
			if rec.times(c.ID) == 0 {
				return false
			}
		}
		return true
	}
	var mu sync.Mutex
	var problems []string
	consume(t, consumer, func(ctx context.Context, c core.Command) error {
		defer rec.end(c)
		if c.ID != bad.ID {
			return nil
		}
		if rec.times(after.ID) > 0 {
			mu.Lock()
			problems = append(problems, "the failing command was handled again after the next command of its session")
			mu.Unlock()
		}
		if rec.times(bad.ID) >= 1 {
			// A redelivery waits until the other session's commands are all handled:
			// they must flow while this one keeps failing.
			deadline := time.Now().Add(waitTimeout)
			for !othersDone() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if !othersDone() {
				mu.Lock()
				problems = append(problems, "another session's commands stalled behind a failing command")
				mu.Unlock()
			}
		}
		return fmt.Errorf("failing on purpose (attempt %d)", rec.times(bad.ID)+1)
	})
	eventually(t, "the next command of the failing session is handled", func() bool { return rec.times(after.ID) > 0 })
	if opts.DeadLettered != nil {
		eventually(t, "the failing command is dead-lettered", func() bool { return opts.DeadLettered(t, sender, bad.ID) })
		if opts.DeadLettered(t, sender, after.ID) {
			t.Fatal("a command that succeeded is in the dead-letter queue")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatal(problems[0])
	}
	if !othersDone() {
		t.Fatal("other session's commands were not all handled")
	}
	n := rec.times(bad.ID)
	if n < 2 {
		t.Fatalf("a failing command was handled %d times: it was not redelivered", n)
	}
	if opts.MaxReceives > 0 && n != opts.MaxReceives {
		t.Fatalf("a failing command was handled %d times, want MaxReceives = %d", n, opts.MaxReceives)
	}
}

func testBusShutdown(t *testing.T, newBus NewBusFunc) {
	sender, consumer := newBus(t)
	c := send(t, sender, core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}, core.CmdConnect)
	started, release := make(chan struct{}), make(chan struct{})
	handlerDone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- consumer.ConsumeCommands(ctx, func(context.Context, core.Command) error {
			close(started)
			<-release
			close(handlerDone)
			return nil
		})
	}()
	defer close(release)
	select {
	case <-started:
	case <-time.After(waitTimeout):
		t.Fatalf("command %s was not delivered", c.ID)
	}
	cancel()
	select {
	case <-done:
		t.Fatal("ConsumeCommands returned while a handler was still running")
	case <-time.After(50 * time.Millisecond):
	}
	release <- struct{}{}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("ConsumeCommands did not return after its context ended and the handler finished")
	}
	select {
	case <-handlerDone:
	default:
		t.Fatal("ConsumeCommands returned before its handler finished")
	}
}
