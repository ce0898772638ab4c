package sqsbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/awstest"
	"github.com/wagate/wagate/core/coretest"
)

func TestBus(t *testing.T) {
	awstest.SQS(t) // fail or skip once, not in every subtest, without the emulator
	var mu sync.Mutex
	dlqs := map[core.CommandSender]*dlq{}
	coretest.RunBus(t, func(t *testing.T) (core.CommandSender, core.CommandConsumer) {
		q := newQueues(t)
		b, _ := testBus(t, q, q.client)
		mu.Lock()
		dlqs[b] = &dlq{client: q.client, url: q.commandsDLQ}
		mu.Unlock()
		return b, b
	}, coretest.BusOptions{
		MaxReceives: maxReceives,
		DeadLettered: func(t *testing.T, sender core.CommandSender, id string) bool {
			mu.Lock()
			d := dlqs[sender]
			mu.Unlock()
			return d.contains(t, id)
		},
	})
}

func newCommand(t *testing.T, key core.SessionKey, typ core.CommandType, payload any) core.Command {
	t.Helper()
	c, err := core.NewCommand(typ, key, time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlowHandlerIsExtendedNotRedelivered runs a handler for three visibility
// timeouts while idle workers keep polling: the message must stay hidden and be
// handled once.
func TestSlowHandlerIsExtendedNotRedelivered(t *testing.T) {
	q := newQueues(t)
	b, _ := testBus(t, q, q.client)
	b.VisibilityTimeout = time.Second
	key := core.SessionKey{Tenant: awstest.Name("t"), ID: "slow"}
	slow := newCommand(t, key, core.CmdConnect, nil)
	marker := newCommand(t, key, core.CmdDisconnect, nil)
	ctx := context.Background()
	if err := b.SendCommand(ctx, slow); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	handled := map[string]int{}
	consume(t, b, func(ctx context.Context, c core.Command) error {
		mu.Lock()
		handled[c.ID]++
		mu.Unlock()
		if c.ID == slow.ID {
			time.Sleep(3 * time.Second) // three visibility timeouts: the point of the test
		}
		return nil
	})
	count := func(id string) int { mu.Lock(); defer mu.Unlock(); return handled[id] }
	eventually(t, "the slow command starts", func() bool { return count(slow.ID) > 0 })
	if err := b.SendCommand(ctx, marker); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the next command of the session is handled", func() bool { return count(marker.ID) > 0 })
	if n := count(slow.ID); n != 1 {
		t.Fatalf("a command whose handler outlived the visibility timeout was handled %d times, want 1", n)
	}
}

// TestOrderAcrossRetries sends 50 commands of one session, some of which fail on
// their first attempt, interleaved with another session's: each session's
// commands must complete in the order sent, and each failed one before the next.
func TestOrderAcrossRetries(t *testing.T) {
	q := newQueues(t)
	b, _ := testBus(t, q, q.client)
	tenant := awstest.Name("t")
	a, other := core.SessionKey{Tenant: tenant, ID: "a"}, core.SessionKey{Tenant: tenant, ID: "b"}
	ctx := context.Background()
	var sentA, sentB []string
	flaky := map[string]bool{}
	for i := range 50 {
		c := newCommand(t, a, core.CmdSendMessage, nil)
		if i%10 == 3 {
			flaky[c.ID] = true
		}
		sentA = append(sentA, c.ID)
		if err := b.SendCommand(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			o := newCommand(t, other, core.CmdSendMessage, nil)
			sentB = append(sentB, o.ID)
			if err := b.SendCommand(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	attempts := map[string]int{}
	done := map[string][]string{}
	consume(t, b, func(ctx context.Context, c core.Command) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[c.ID]++
		if flaky[c.ID] && attempts[c.ID] == 1 {
			return errors.New("transient failure")
		}
		done[c.SessionID] = append(done[c.SessionID], c.ID)
		return nil
	})
	eventually(t, "every command completes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done["a"])+len(done["b"]) >= len(sentA)+len(sentB)
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(done["a"], sentA) || !slices.Equal(done["b"], sentB) {
		t.Fatalf("completion order differs from send order:\n a got %v\n   want %v\n b got %v\n   want %v", done["a"], sentA, done["b"], sentB)
	}
	for id := range flaky {
		if attempts[id] != 2 {
			t.Fatalf("command failing once was attempted %d times, want 2", attempts[id])
		}
	}
}

// TestUndecodableBodyGoesToDeadLetters puts a body that is not a command on the
// queue: it must never reach the handler, end in the dead-letter queue, and not
// hold up its group.
func TestUndecodableBodyGoesToDeadLetters(t *testing.T) {
	q := newQueues(t)
	b, logs := testBus(t, q, q.client)
	ctx := context.Background()
	key := core.SessionKey{Tenant: awstest.Name("t"), ID: "s"}
	garbage := "not json " + awstest.Name("")
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.commands), MessageBody: aws.String(garbage),
		MessageGroupId: aws.String(key.String()), MessageDeduplicationId: aws.String(awstest.Name("d")),
	})
	if err != nil {
		t.Fatal(err)
	}
	next := newCommand(t, key, core.CmdConnect, nil)
	if err := b.SendCommand(ctx, next); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	consume(t, b, func(ctx context.Context, c core.Command) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c.ID)
		return nil
	})
	dead := &dlq{client: q.client, url: q.commandsDLQ}
	eventually(t, "the undecodable body reaches the dead-letter queue", func() bool { return dead.contains(t, garbage) })
	eventually(t, "the command after it is handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(seen, next.ID)
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("handler saw %v, want only %s", seen, next.ID)
	}
	if n := len(logs.lines("command_undecodable")); n != maxReceives {
		t.Fatalf("%d command_undecodable log lines, want one per receive (%d)", n, maxReceives)
	}
	if strings.Contains(logs.String(), garbage) {
		t.Fatal("the log contains the undecodable body")
	}
}

// TestFailureLogNamesCommandNotPayload checks that each failed attempt is logged
// with the command's id and type and never with its payload.
func TestFailureLogNamesCommandNotPayload(t *testing.T) {
	q := newQueues(t)
	b, logs := testBus(t, q, q.client)
	secret := "secret-" + awstest.Name("")
	c := newCommand(t, core.SessionKey{Tenant: awstest.Name("t"), ID: "s"}, core.CmdSendMessage,
		core.SendPayload{MessageID: core.NewMessageID(), To: "15550001111@s.whatsapp.net", Text: secret})
	if err := b.SendCommand(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	attempts := 0
	consume(t, b, func(ctx context.Context, got core.Command) error {
		var p core.SendPayload
		if err := got.DecodePayload(&p); err != nil || p.Text != secret {
			return fmt.Errorf("payload did not survive the queue: %+v, %v", p, err)
		}
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts < 3 {
			return errors.New("whatsapp not reachable")
		}
		return nil
	})
	eventually(t, "the command succeeds on its third attempt", func() bool { mu.Lock(); defer mu.Unlock(); return attempts == 3 })
	eventually(t, "both failures are logged", func() bool {
		return len(logs.lines("command_failed", c.ID, string(c.Type), "whatsapp not reachable")) == 2
	})
	if strings.Contains(logs.String(), secret) {
		t.Fatal("the log contains the command payload")
	}
}

func TestPublishEvent(t *testing.T) {
	q := newQueues(t)
	b, _ := testBus(t, q, q.client)
	ctx := context.Background()
	e, err := core.NewEvent(core.EventSessionStatus, core.SessionKey{Tenant: "t", ID: "s"}, time.Now(), map[string]string{"status": "connected"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PublishEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	var got core.Event
	eventually(t, "the event arrives on the events queue", func() bool {
		out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.events), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return false
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &got); err != nil {
			t.Fatal(err)
		}
		return true
	})
	if got.ID != e.ID || got.Type != e.Type || !got.At.Equal(e.At) || string(got.Data) != string(e.Data) {
		t.Fatalf("received %+v, published %+v", got, e)
	}
}
