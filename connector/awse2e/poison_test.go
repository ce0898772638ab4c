//go:build unix

package awse2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// poisonTimeout bounds the wait for the poison commands to reach the dead-letter
// queue: each is received maxReceives times, five seconds apart (the bus's retry
// delay), one after the other in the session's message group.
const poisonTimeout = 90 * time.Second

// TestPoisonCommandEndsInTheDeadLetterQueue puts two commands the connector can
// never read on the session's message group, ahead of a message: both end in the
// dead-letter queue, the message queued behind them is then sent, and the session
// stays connected throughout.
func TestPoisonCommandEndsInTheDeadLetterQueue(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	alice, bob := createPhone(t, s, alicePhone, "Alice"), createPhone(t, s, bobPhone, "Bob")
	a := startConnector(t, s, "conn-a")
	s.link(t, "desk", alice)

	group := core.Command{Tenant: tenant, SessionID: "desk"}.GroupID()
	poison := []string{
		`{"v":1,"id":"not json`,
		`{"v":2,"id":"` + core.NewID() + `","type":"message.send","tenant":"acme","sessionId":"desk","payload":{}}`,
	}
	for i, body := range poison {
		_, err := s.sqs.SendMessage(ctx(t), &sqs.SendMessageInput{
			QueueUrl: aws.String(s.commandsURL), MessageBody: aws.String(body),
			MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(core.NewID()),
		})
		if err != nil {
			t.Fatalf("send poison command %d: %v", i, err)
		}
	}
	text := "queued behind the poison " + core.NewID()[:8]
	sent := s.api.Send(t, "desk", bob, text)

	apitest.Eventually(t, poisonTimeout, "both poison commands in the dead-letter queue", func() (bool, string) {
		n := s.queueDepth(t, s.dlqURL)
		return n == len(poison), itoa(n) + " in the dead-letter queue"
	})
	apitest.Eventually(t, poisonTimeout, "Bob to receive the message queued behind the poison", func() (bool, string) {
		got, err := s.sim.Control.Messages(ctx(t), bob)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range got {
			if m.ID == sent.ID && m.Text == text {
				return true, ""
			}
		}
		return false, itoa(len(got)) + " messages"
	})

	dead := s.receiveAll(t, s.dlqURL)
	for _, body := range poison {
		if !slices.Contains(dead, body) {
			t.Errorf("the dead-letter queue lacks %q; it holds %q", body, dead)
		}
	}
	if n := len(a.Find("command_undecodable", nil)); n < len(poison)*maxReceives {
		t.Errorf("the connector logged %d undecodable commands, want one per receive (%d)", n, len(poison)*maxReceives)
	}
	if sess := s.session(t, "desk"); sess.Status != core.StatusConnected {
		t.Errorf("session after the poison commands: %s, want connected", apitest.Describe(sess))
	}
	sendAndReceive(t, s, alice, bob, "after the poison commands")
}

// receiveAll takes every message off a queue and returns the bodies.
func (s *stack) receiveAll(t testing.TB, url string) []string {
	t.Helper()
	var bodies []string
	for range 20 {
		c, cancel := context.WithTimeout(context.Background(), opTimeout)
		out, err := s.sqs.ReceiveMessage(c, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		cancel()
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			_, _ = s.sqs.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
	return bodies
}
