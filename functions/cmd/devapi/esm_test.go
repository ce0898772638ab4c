package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/core/awstest"
	"github.com/wagate/wagate/core/sqsbus"
)

// batchFunction is an events function that fails the records whose body starts with
// "fail", and fails the whole invocation for a body "crash".
type batchFunction struct {
	mu      sync.Mutex
	records []events.SQSMessage
}

func (f *batchFunction) Invoke(_ context.Context, _ Function, _ string, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.records = append(f.records, ev.Records...)
	f.mu.Unlock()
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		if r.Body == "crash" {
			return nil, errors.New("crashed")
		}
		if strings.HasPrefix(r.Body, "fail") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return json.Marshal(resp)
}

func (f *batchFunction) seen() map[string][]events.SQSMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]events.SQSMessage{}
	for _, r := range f.records {
		out[r.Body] = append(out[r.Body], r)
	}
	return out
}

// TestESMDeletesWhatTheFunctionHandled runs the event source mapping on the SQS
// emulator: every message reaches the function as an SQS event record, the handled
// ones leave the queue, and the failed ones (one by one, or the whole batch of a
// failed invocation) stay for a later receive.
func TestESMDeletesWhatTheFunctionHandled(t *testing.T) {
	client := awstest.SQS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, queueURL, dlqURL, err := sqsbus.CreateQueues(ctx, client, awstest.Name("esm-"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, q := range []string{queueURL, dlqURL} {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(q)})
		}
	})
	bodies := []string{"ok-1", "fail-1", "ok-2", "crash"}
	for _, b := range bodies {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	fn := &batchFunction{}
	m := &ESM{Queue: client, QueueURL: queueURL, Region: "us-east-1", Invoker: fn, Pollers: 1,
		Function: Function{Name: "events-consumer", Queue: &QueueEvent{BatchSize: 1, ReportBatchItemFailures: true}},
		Logger:   slog.New(slog.DiscardHandler)}
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	defer func() { stop(); <-done }()

	deadline := time.Now().Add(30 * time.Second)
	for len(fn.seen()) < len(bodies) {
		if time.Now().After(deadline) {
			t.Fatalf("the function saw %v, want all of %v", fn.seen(), bodies)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rec := fn.seen()["ok-1"][0]
	if rec.EventSource != "aws:sqs" || !strings.HasSuffix(rec.EventSourceARN, ":"+lastSegment(queueURL)) || rec.AWSRegion != "us-east-1" ||
		rec.MessageId == "" || rec.ReceiptHandle == "" || rec.Attributes["ApproximateReceiveCount"] != "1" || rec.Attributes["SentTimestamp"] == "" {
		t.Errorf("SQS event record %+v", rec)
	}
	// ok-1 and ok-2 are gone; fail-1 and crash wait out their visibility timeout.
	deadline = time.Now().Add(10 * time.Second)
	for {
		visible, hidden := depth(t, client, queueURL)
		if visible == 0 && hidden == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d visible and %d in flight, want the 2 failed messages in flight", visible, hidden)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }

func depth(t *testing.T, client *sqs.Client, url string) (visible, hidden int) {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	hidden, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, hidden
}
