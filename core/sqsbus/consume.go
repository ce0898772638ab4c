package sqsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/core"
)

// Bounds of the pause after a failed receive (the queue is unreachable).
const (
	minReceiveBackoff = 500 * time.Millisecond
	maxReceiveBackoff = 30 * time.Second
)

// settleTimeout bounds the DeleteMessage or ChangeMessageVisibility after a handler
// returns; it runs even when ConsumeCommands' context has ended, so a command that
// was applied during shutdown is still removed from the queue.
const settleTimeout = 10 * time.Second

// ConsumeCommands calls h for each command until ctx is done, then waits for the
// running handlers and returns nil.
//
// Workers pollers each long-poll for one message at a time. SQS FIFO hands out no
// other message of a group while one is in flight, so commands of one session run
// one at a time, in order, and different sessions run in parallel. Receiving one
// message per call also means the commands queued behind a failing command are never
// received with it, so they do not use up receives and follow it to the dead-letter
// queue. While a handler runs, the message's visibility is extended every third of
// VisibilityTimeout. A nil result deletes the message; an error (or a panic) leaves
// it, visible again after RetryDelay, and the queue's redrive policy moves it to the
// dead-letter queue after its maxReceiveCount receives. A body that is not a command
// envelope is logged and left to the dead-letter queue the same way.
func (b *Bus) ConsumeCommands(ctx context.Context, h core.CommandHandler) error {
	if h == nil || b.CommandsURL == "" {
		return errors.New("consume commands: a handler and a commands queue URL are required")
	}
	locks := &groupLocks{held: map[string]*groupLock{}}
	var wg sync.WaitGroup
	for range max(b.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.poll(ctx, h, locks)
		}()
	}
	wg.Wait()
	return nil
}

// poll receives and handles commands until ctx is done.
func (b *Bus) poll(ctx context.Context, h core.CommandHandler, locks *groupLocks) {
	backoff := minReceiveBackoff
	for ctx.Err() == nil {
		out, err := b.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(b.CommandsURL),
			MaxNumberOfMessages: 1,
			WaitTimeSeconds:     min(seconds(b.WaitTime), 20),
			VisibilityTimeout:   max(seconds(b.VisibilityTimeout), 1),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{
				types.MessageSystemAttributeNameApproximateReceiveCount,
			},
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Error("command_receive_failed", "event", "command_receive_failed", "outcome", "fail", "queue", b.CommandsURL, "error", err.Error(), "retry_in", backoff.String())
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxReceiveBackoff)
			continue
		}
		backoff = minReceiveBackoff
		for _, m := range out.Messages {
			b.process(ctx, h, locks, m)
		}
	}
}

// process handles one received message and settles it: delete on success, retry
// later on failure.
func (b *Bus) process(ctx context.Context, h core.CommandHandler, locks *groupLocks, m types.Message) {
	receives, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	stop := b.keepInvisible(ctx, m)
	defer stop()

	var c core.Command
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &c); err != nil || c.V != core.CommandVersion || c.ID == "" || c.Type == "" {
		reason := "not a version 1 command envelope"
		if err != nil {
			reason = "malformed JSON"
		}
		b.log.Error("command_undecodable", "event", "command_undecodable", "sqs_message_id", aws.ToString(m.MessageId), "receives", receives,
			"reason", reason, "outcome", "left for the dead-letter queue")
		stop()
		b.retryLater(ctx, m, "sqs_message_id", aws.ToString(m.MessageId))
		return
	}

	unlock := locks.lock(c.GroupID())
	err := run(ctx, h, c)
	unlock()
	stop()
	if err == nil {
		b.settle(ctx, "delete", func(ctx context.Context) error {
			_, err := b.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(b.CommandsURL), ReceiptHandle: m.ReceiptHandle})
			return err
		}, "command_id", c.ID, "type", string(c.Type))
		return
	}
	b.log.Warn("command_failed", "event", "command_failed", "outcome", "retry", "command_id", c.ID, "command", string(c.Type),
		"tenant", c.Tenant, "session", c.SessionID, "receives", receives, "error", err.Error(),
		"detail", "retried, then dead-lettered by the queue's redrive policy")
	b.retryLater(ctx, m, "command_id", c.ID, "type", string(c.Type))
}

// run calls h, turning a panic into an error so one bad command cannot take the
// process down.
func run(ctx context.Context, h core.CommandHandler, c core.Command) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, c)
}

// retryLater makes m visible again after RetryDelay instead of the full visibility
// timeout. attrs name the message in a log line if that fails.
func (b *Bus) retryLater(ctx context.Context, m types.Message, attrs ...any) {
	b.settle(ctx, "retry", func(ctx context.Context) error {
		_, err := b.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(b.CommandsURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: seconds(b.RetryDelay),
		})
		return err
	}, attrs...)
}

// settle runs the call that ends a delivery with a context that outlives ctx's
// cancellation, and logs a failure (the message then reappears after its
// visibility timeout and is handled again).
func (b *Bus) settle(ctx context.Context, what string, call func(context.Context) error, attrs ...any) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := call(sctx); err != nil {
		b.log.Error("command_settle_failed", append([]any{"event", "command_settle_failed", "outcome", "fail", "action", what, "error", err.Error()}, attrs...)...)
	}
}

// keepInvisible extends m's visibility every third of VisibilityTimeout until the
// returned stop is called (stop may be called more than once).
func (b *Bus) keepInvisible(ctx context.Context, m types.Message) (stop func()) {
	vis := max(seconds(b.VisibilityTimeout), 1)
	every := time.Duration(vis) * time.Second / 3
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
			_, err := b.client.ChangeMessageVisibility(ectx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(b.CommandsURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: vis,
			})
			cancel()
			if err != nil {
				b.log.Warn("command_visibility_extend_failed", "event", "command_visibility_extend_failed", "outcome", "fail", "sqs_message_id", aws.ToString(m.MessageId), "error", err.Error())
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); wg.Wait() })
	}
}

// sleep waits for d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// groupLocks serializes handlers of one group within this process: SQS already
// keeps a group's messages apart, but if a visibility extension fails and a command
// is delivered again while its first handler still runs, the second waits.
type groupLocks struct {
	mu   sync.Mutex
	held map[string]*groupLock
}

type groupLock struct {
	mu    sync.Mutex
	users int
}

// lock takes the lock of group and returns its release.
func (g *groupLocks) lock(group string) (unlock func()) {
	g.mu.Lock()
	l := g.held[group]
	if l == nil {
		l = &groupLock{}
		g.held[group] = l
	}
	l.users++
	g.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		g.mu.Lock()
		if l.users--; l.users == 0 {
			delete(g.held, group)
		}
		g.mu.Unlock()
	}
}
