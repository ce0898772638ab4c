package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ESM defaults.
const (
	esmWaitTime   = 5 * time.Second  // long-poll wait of each receive
	esmRetryPause = 2 * time.Second  // after a failed receive
	esmARNTimeout = 10 * time.Second // reading the queue's ARN at start
)

// QueueAPI is the part of SQS the event source mapping uses; *sqs.Client implements it.
type QueueAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// ESM plays Lambda's SQS event source mapping for one function: pollers receive
// batches from the queue, invoke the function with a real SQS event, and delete the
// messages it handled. With ReportBatchItemFailures the messages the function lists
// as failed stay in the queue (their visibility is what the function set); a function
// error leaves the whole batch. The queue's redrive policy then moves a message that
// keeps failing to its dead-letter queue, as in AWS.
type ESM struct {
	Queue    QueueAPI
	QueueURL string
	Region   string
	Function Function
	Invoker  Invoker
	// Pollers is how many batches are in flight at once (Lambda's minimum is 2).
	Pollers int
	Logger  *slog.Logger

	arn string
}

// Open checks the function and reads the queue's ARN.
func (m *ESM) Open(ctx context.Context) error {
	if m.Function.Queue == nil {
		return fmt.Errorf("event source mapping: %s has no SQS event", m.Function.Name)
	}
	actx, cancel := context.WithTimeout(ctx, esmARNTimeout)
	attrs, err := m.Queue.GetQueueAttributes(actx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(m.QueueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	cancel()
	if err != nil {
		return fmt.Errorf("event source mapping: read queue arn: %w", err)
	}
	m.arn = attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
	return nil
}

// Run polls until ctx is done, then waits for the batches in flight.
func (m *ESM) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range max(m.Pollers, 1) {
		wg.Go(func() { m.poll(ctx) })
	}
	wg.Wait()
}

func (m *ESM) poll(ctx context.Context) {
	for ctx.Err() == nil {
		out, err := m.Queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.QueueURL),
			MaxNumberOfMessages:         int32(min(max(m.Function.Queue.BatchSize, 1), 10)),
			WaitTimeSeconds:             int32(esmWaitTime / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.Logger.Warn("esm_receive_failed", "function", m.Function.Name, "error", err.Error())
			select {
			case <-ctx.Done():
				return
			case <-time.After(esmRetryPause):
			}
			continue
		}
		if len(out.Messages) > 0 {
			// The batch is finished even when devapi is stopping, as Lambda would.
			m.handle(context.WithoutCancel(ctx), out.Messages)
		}
	}
}

// handle invokes the function with one batch and deletes what it handled.
func (m *ESM) handle(ctx context.Context, msgs []types.Message) {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, msg := range msgs {
		ev.Records[i] = m.record(msg)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		m.Logger.Error("esm_encode_failed", "function", m.Function.Name, "error", err.Error())
		return
	}
	requestID := newInvocationID()
	log := m.Logger.With("function", m.Function.Name, "invocation", requestID, "batch", len(msgs))
	out, err := m.Invoker.Invoke(ctx, m.Function, requestID, payload)
	if err != nil {
		log.Warn("esm_invoke_failed", "error", err.Error())
		return
	}
	failed := map[string]bool{}
	if m.Function.Queue.ReportBatchItemFailures {
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			log.Warn("esm_bad_response", "error", err.Error())
			return
		}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
	}
	var errs []error
	for _, msg := range msgs {
		if failed[aws.ToString(msg.MessageId)] {
			continue
		}
		if _, err := m.Queue.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(m.QueueURL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		log.Warn("esm_delete_failed", "error", err.Error())
	}
	log.Info("esm_batch_done", "failed", len(failed))
}

// record turns a received message into the record of an SQS event.
func (m *ESM) record(msg types.Message) events.SQSMessage {
	rec := events.SQSMessage{
		MessageId:              aws.ToString(msg.MessageId),
		ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
		Body:                   aws.ToString(msg.Body),
		Md5OfBody:              aws.ToString(msg.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
		Attributes:             msg.Attributes,
		EventSourceARN:         m.arn,
		EventSource:            "aws:sqs",
		AWSRegion:              m.Region,
	}
	if len(msg.MessageAttributes) > 0 {
		rec.MessageAttributes = map[string]events.SQSMessageAttribute{}
		for k, v := range msg.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
				DataType: aws.ToString(v.DataType),
			}
		}
	}
	return rec
}
