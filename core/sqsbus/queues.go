package sqsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// QueueAPI is the part of the SQS API that CreateQueues uses.
type QueueAPI interface {
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, opts ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// DefaultMaxReceiveCount is how many times a command or event is received before
// the queue moves it to its dead-letter queue, when CreateQueues is given 0.
const DefaultMaxReceiveCount = 5

// Queue attributes shared with template.yaml.
const (
	queueVisibilitySeconds = 30      // DefaultVisibilityTimeout
	retentionSeconds       = 345600  // 4 days on the work queues
	dlqRetentionSeconds    = 1209600 // 14 days on the dead-letter queues, the SQS maximum
)

// Queue names derived from the name prefix given to CreateQueues.
func commandsName(prefix string) string    { return prefix + "-commands.fifo" }
func commandsDLQName(prefix string) string { return prefix + "-commands-dlq.fifo" }
func eventsName(prefix string) string      { return prefix + "-events" }
func eventsDLQName(prefix string) string   { return prefix + "-events-dlq" }

// CreateQueues creates the queues for development and tests if they do not exist
// and returns their URLs: <name>-commands.fifo (FIFO, content-based deduplication
// off: every command carries its id as deduplication id) with its dead-letter queue
// <name>-commands-dlq.fifo, and the standard queue <name>-events with
// <name>-events-dlq. Both redrive policies move a message after maxReceiveCount
// receives (0: DefaultMaxReceiveCount). Production queues come from template.yaml.
func CreateQueues(ctx context.Context, client QueueAPI, name string, maxReceiveCount int) (commandsURL, dlqURL, eventsURL, eventsDLQURL string, err error) {
	if maxReceiveCount <= 0 {
		maxReceiveCount = DefaultMaxReceiveCount
	}
	fifo := map[string]string{
		string(types.QueueAttributeNameFifoQueue):                 "true",
		string(types.QueueAttributeNameContentBasedDeduplication): "false",
	}
	if dlqURL, err = createQueue(ctx, client, commandsDLQName(name), withRetention(fifo, dlqRetentionSeconds)); err != nil {
		return "", "", "", "", err
	}
	if eventsDLQURL, err = createQueue(ctx, client, eventsDLQName(name), withRetention(nil, dlqRetentionSeconds)); err != nil {
		return "", "", "", "", err
	}
	cmdAttrs, err := withRedrive(ctx, client, withRetention(fifo, retentionSeconds), dlqURL, maxReceiveCount)
	if err != nil {
		return "", "", "", "", err
	}
	if commandsURL, err = createQueue(ctx, client, commandsName(name), cmdAttrs); err != nil {
		return "", "", "", "", err
	}
	evAttrs, err := withRedrive(ctx, client, withRetention(nil, retentionSeconds), eventsDLQURL, maxReceiveCount)
	if err != nil {
		return "", "", "", "", err
	}
	if eventsURL, err = createQueue(ctx, client, eventsName(name), evAttrs); err != nil {
		return "", "", "", "", err
	}
	return commandsURL, dlqURL, eventsURL, eventsDLQURL, nil
}

func createQueue(ctx context.Context, client QueueAPI, name string, attrs map[string]string) (string, error) {
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// withRetention returns a copy of attrs with the retention period and the default
// visibility timeout set.
func withRetention(attrs map[string]string, retention int) map[string]string {
	out := map[string]string{
		string(types.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(retention),
		string(types.QueueAttributeNameVisibilityTimeout):      strconv.Itoa(queueVisibilitySeconds),
	}
	for k, v := range attrs {
		out[k] = v
	}
	return out
}

// withRedrive adds a redrive policy to attrs that moves messages to the queue at
// dlqURL after maxReceives receives.
func withRedrive(ctx context.Context, client QueueAPI, attrs map[string]string, dlqURL string, maxReceives int) (map[string]string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(dlqURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return nil, fmt.Errorf("read dead-letter queue arn: %w", err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return nil, fmt.Errorf("read dead-letter queue arn: %s has none", dlqURL)
	}
	policy, err := json.Marshal(map[string]string{"deadLetterTargetArn": arn, "maxReceiveCount": strconv.Itoa(maxReceives)})
	if err != nil {
		return nil, fmt.Errorf("encode redrive policy: %w", err)
	}
	attrs[string(types.QueueAttributeNameRedrivePolicy)] = string(policy)
	return attrs, nil
}
