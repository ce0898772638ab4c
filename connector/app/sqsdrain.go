package app

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/core/sqsbus"
)

// commandsWaitTime is the long-poll wait of the connector's command receives. A
// stopping process lets its open receives finish (see drainingReceives), so this
// bounds how long a stop waits for them; 20 s (the SQS maximum) would leave too
// little of the 25 s shutdown budget.
const commandsWaitTime = 10 * time.Second

// drainingReceives wraps the SQS client of the commands consumer so that stopping
// never strands a command. SQS can hand a message to a long poll whose caller has
// already gone (the HTTP request was cancelled); that message then stays invisible
// for the visibility timeout, so after every restart or deploy the next command of
// the session would wait 30 seconds. Here a receive outlives the cancellation of its
// context (it ends within the long-poll wait), and the messages it returns after the
// cancellation are made visible again at once, for the next process to take.
type drainingReceives struct {
	sqsbus.Client
	// maxWait bounds one receive: the long-poll wait plus a margin.
	maxWait time.Duration
}

// ReceiveMessage receives as asked; if ctx ends meanwhile it gives the messages back
// and returns ctx's error.
func (d drainingReceives) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.maxWait)
	defer cancel()
	out, err := d.Client.ReceiveMessage(rctx, in, opts...)
	if ctx.Err() == nil || err != nil {
		return out, err
	}
	for _, m := range out.Messages {
		_, _ = d.Client.ChangeMessageVisibility(rctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: in.QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
	}
	return &sqs.ReceiveMessageOutput{}, ctx.Err()
}
