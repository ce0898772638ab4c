package sqsbus_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/awstest"
	"github.com/wagate/wagate/core/sqsbus"
)

// maxReceives is the redrive count of the test queues.
const maxReceives = 3

// waitTimeout bounds every wait for something asynchronous.
const waitTimeout = 30 * time.Second

// queues are the four queues of one test.
type queues struct {
	client                                   *sqs.Client
	commands, commandsDLQ, events, eventsDLQ string
}

// newQueues creates fresh queues in the SQS emulator, deleted when the test ends.
func newQueues(t *testing.T) queues {
	t.Helper()
	client := awstest.SQS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var q queues
	var err error
	q.client = client
	q.commands, q.commandsDLQ, q.events, q.eventsDLQ, err = sqsbus.CreateQueues(ctx, client, awstest.Name("wagate-"), maxReceives)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, url := range []string{q.commands, q.commandsDLQ, q.events, q.eventsDLQ} {
			if _, err := client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
				t.Errorf("delete queue %s: %v", url, err)
			}
		}
	})
	return q
}

// testBus returns a bus on q with short waits and immediate retries, logging into
// the returned buffer (printed if the test fails).
func testBus(t *testing.T, q queues, client sqsbus.Client) (*sqsbus.Bus, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bus log:\n%s", logs.String())
		}
	})
	b := sqsbus.New(client, q.commands, q.events, slog.New(slog.NewTextHandler(logs, nil)))
	b.WaitTime = time.Second
	b.RetryDelay = 0
	return b, logs
}

// logBuffer is an io.Writer safe for concurrent loggers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the log lines containing every one of words.
func (l *logBuffer) lines(words ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		all := line != ""
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// dlq remembers the bodies seen in a dead-letter queue. Receiving hides a message
// for the queue's visibility timeout, so what was seen once is kept.
type dlq struct {
	client *sqs.Client
	url    string
	mu     sync.Mutex
	seen   []string
}

// contains reports whether any message received from the queue so far contains s.
func (d *dlq) contains(t *testing.T, s string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(d.url), MaxNumberOfMessages: 10})
	if err != nil {
		t.Errorf("receive from %s: %v", d.url, err)
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range out.Messages {
		d.seen = append(d.seen, aws.ToString(m.Body))
	}
	for _, body := range d.seen {
		if strings.Contains(body, s) {
			return true
		}
	}
	return false
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", waitTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consume runs b's consumer with h until the test ends, then checks it returns.
func consume(t *testing.T, b *sqsbus.Bus, h core.CommandHandler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.ConsumeCommands(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ConsumeCommands returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("ConsumeCommands did not return within %s after its context ended", waitTimeout)
		}
	})
}
