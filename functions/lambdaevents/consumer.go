package lambdaevents

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/webhook"
)

// Notifier delivers one event; *webhook.Notifier implements it.
type Notifier interface {
	Notify(ctx context.Context, e core.Event) (webhook.Outcome, error)
}

// VisibilityChanger delays the next receive of a message; *sqs.Client implements it.
type VisibilityChanger interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Default retry delays of a failed delivery.
const (
	DefaultBaseDelay = 30 * time.Second
	DefaultMaxDelay  = 15 * time.Minute
)

// Consumer handles batches of the events queue. Notifier is required; set the other
// fields for backoff and logs.
type Consumer struct {
	Notifier Notifier
	// Visibility and QueueURL, when both set, delay the retry of a failed delivery
	// (BaseDelay doubled per receive, at most MaxDelay). Otherwise the message comes
	// back after the queue's visibility timeout.
	Visibility VisibilityChanger
	QueueURL   string
	BaseDelay  time.Duration
	MaxDelay   time.Duration
	// Logger receives one line per event; discarded when nil.
	Logger *slog.Logger
}

// Handle delivers every event of the batch and reports the messages whose delivery
// failed, so SQS redelivers only those. It never fails the whole batch.
func (c *Consumer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	var (
		mu     sync.Mutex
		failed []events.SQSBatchItemFailure
		wg     sync.WaitGroup
	)
	for _, rec := range ev.Records {
		wg.Go(func() {
			if !c.handle(ctx, log, rec) {
				mu.Lock()
				failed = append(failed, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failed}, nil
}

// handle delivers one message and reports whether it is done with.
func (c *Consumer) handle(ctx context.Context, log *slog.Logger, rec events.SQSMessage) bool {
	start := time.Now()
	receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	log = log.With("sqs_message_id", rec.MessageId, "receive_count", receives)
	var e core.Event
	if err := json.Unmarshal([]byte(rec.Body), &e); err != nil || e.ID == "" || e.Type == "" || e.Tenant == "" {
		msg := "missing id, type or tenant"
		if err != nil {
			msg = err.Error()
		}
		log.Error("event_invalid", "event", "event_invalid", "outcome", "fail", "error", msg)
		return false
	}
	log = log.With("event_id", e.ID, "type", string(e.Type), "tenant", e.Tenant, "session", e.SessionID)
	outcome, err := c.Notifier.Notify(ctx, e)
	ms := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		delay := c.retryLater(ctx, log, rec, receives)
		log.Warn("webhook_failed", "event", "webhook_failed", "outcome", "retry", "result", string(outcome), "error", err.Error(), "duration_ms", ms, "retry_in", delay.String())
		return false
	}
	log.Info("webhook_done", "event", "webhook_done", "outcome", "ok", "result", string(outcome), "duration_ms", ms)
	return true
}

// retryLater sets the message's visibility to the backoff for its receive count and
// returns it (0 when the queue's own visibility timeout applies).
func (c *Consumer) retryLater(ctx context.Context, log *slog.Logger, rec events.SQSMessage, receives int) time.Duration {
	if c.Visibility == nil || c.QueueURL == "" || rec.ReceiptHandle == "" {
		return 0
	}
	d := Backoff(receives, c.BaseDelay, c.MaxDelay)
	_, err := c.Visibility.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(c.QueueURL),
		ReceiptHandle:     aws.String(rec.ReceiptHandle),
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		log.Warn("retry_delay_failed", "event", "retry_delay_failed", "outcome", "fail", "error", fmt.Sprintf("change visibility: %v", err))
		return 0
	}
	return d
}

// Backoff returns the retry delay after the receives-th receive: base doubled per
// earlier receive, at most maxDelay (defaults for zero values), in whole seconds.
func Backoff(receives int, base, maxDelay time.Duration) time.Duration {
	if base <= 0 {
		base = DefaultBaseDelay
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	d := base
	for i := 1; i < receives && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay).Truncate(time.Second)
}
