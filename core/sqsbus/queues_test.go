package sqsbus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/core/awstest"
	"github.com/wagate/wagate/core/sqsbus"
)

// TestCreateQueues checks the attributes the bus relies on and that creating the
// queues again returns the same ones.
func TestCreateQueues(t *testing.T) {
	q := newQueues(t)
	ctx := context.Background()
	attrs := func(url string) map[string]string {
		out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("attributes of %s: %v", url, err)
		}
		return out.Attributes
	}
	redrive := func(url string) (target string, max string) {
		var p struct {
			Target string `json:"deadLetterTargetArn"`
			Max    any    `json:"maxReceiveCount"` // SQS renders it as a number, some emulators as a string
		}
		if err := json.Unmarshal([]byte(attrs(url)["RedrivePolicy"]), &p); err != nil {
			t.Fatalf("redrive policy of %s: %v", url, err)
		}
		return p.Target, fmt.Sprint(p.Max)
	}

	cmd := attrs(q.commands)
	if cmd["FifoQueue"] != "true" || cmd["ContentBasedDeduplication"] != "false" {
		t.Fatalf("commands queue: FifoQueue=%s ContentBasedDeduplication=%s, want FIFO without content-based deduplication",
			cmd["FifoQueue"], cmd["ContentBasedDeduplication"])
	}
	if attrs(q.commandsDLQ)["FifoQueue"] != "true" {
		t.Fatal("the commands dead-letter queue is not FIFO")
	}
	for _, pair := range [][2]string{{q.commands, q.commandsDLQ}, {q.events, q.eventsDLQ}} {
		target, max := redrive(pair[0])
		if target != attrs(pair[1])["QueueArn"] || max != "3" {
			t.Fatalf("%s redrives to %s after %s receives, want %s after 3", pair[0], target, max, attrs(pair[1])["QueueArn"])
		}
	}

	name := awstest.Name("wagate-")
	c1, d1, e1, ed1, err := sqsbus.CreateQueues(ctx, q.client, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, url := range []string{c1, d1, e1, ed1} {
			_, _ = q.client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
		}
	})
	c2, d2, e2, ed2, err := sqsbus.CreateQueues(ctx, q.client, name, 0)
	if err != nil {
		t.Fatalf("creating existing queues again: %v", err)
	}
	if c1 != c2 || d1 != d2 || e1 != e2 || ed1 != ed2 {
		t.Fatalf("second CreateQueues returned other queues: %v vs %v", []string{c1, d1, e1, ed1}, []string{c2, d2, e2, ed2})
	}
	if _, max := redrive(c1); max != "5" {
		t.Fatalf("default maxReceiveCount is %s, want %d", max, sqsbus.DefaultMaxReceiveCount)
	}
}
