//go:build unix

package splite2e

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// TestSplitWebhookRetriesThenDeadLetter gives one session a webhook that always
// fails and another one that works. The failing one gets each event again with
// backoff, signed each time with the same delivery id, until the events queue's
// redrive policy moves the event to the events dead-letter queue after maxReceives
// receives; the working one gets each of its events once.
func TestSplitWebhookRetriesThenDeadLetter(t *testing.T) {
	s := newStack(t, false)
	s.startConnector(t, "conn-a")
	const down, up = "fail/down", "ok/up"
	// Connecting without scanning is enough to produce events: connecting, then qr.
	for id, hook := range map[string]string{"down": down, "up": up} {
		s.api.createSession(t, id, s.hook.url(hook))
		s.api.MustJSON(t, "POST", "/v1/sessions/"+id+"/connect", nil, 202, nil)
	}
	s.hook.waitFor(t, up, 0, "session.status qr of the working webhook", sessionStatus("up", core.StatusQR))
	first := s.hook.waitFor(t, down, 0, "a first attempt at the failing webhook", func(core.Event) bool { return true })

	var attempts []delivery
	apitest.Eventually(t, eventTimeout, strconv.Itoa(maxReceives)+" attempts of event "+first.event.ID, func() (bool, string) {
		attempts = attempts[:0]
		for _, d := range s.hook.at(down) {
			if d.event.ID == first.event.ID {
				attempts = append(attempts, d)
			}
		}
		return len(attempts) >= maxReceives, describeDeliveries(attempts)
	})
	for i, d := range attempts {
		if !d.signedOK || d.id != first.event.ID {
			t.Errorf("attempt %d: signature ok=%v, delivery id %q; want a valid signature and id %s", i+1, d.signedOK, d.id, first.event.ID)
		}
		// Backoff: webhookRetryBase, then doubled (less a little for the poll).
		if i > 0 {
			want := webhookRetryBase << (i - 1)
			if gap := d.at.Sub(attempts[i-1].at); gap < want-200*time.Millisecond {
				t.Errorf("attempt %d came %s after the one before, want at least %s", i+1, gap.Round(time.Millisecond), want)
			}
		}
	}

	var dead []core.Event
	apitest.Eventually(t, eventTimeout, "the event in the events dead-letter queue", func() (bool, string) {
		dead = append(dead, receiveEvents(t, s, s.eventsDLQURL)...)
		for _, e := range dead {
			if e.ID == first.event.ID {
				return true, ""
			}
		}
		return false, strconv.Itoa(len(dead)) + " other events"
	})
	if n := countAttempts(s.hook.at(down), first.event.ID); n != maxReceives {
		t.Errorf("the failing webhook got event %s %d times, want %d (then the dead-letter queue)", first.event.ID, n, maxReceives)
	}
	s.hook.checkEachOnce(t, up)
}

// receiveEvents takes the events waiting in a queue (at most 10, waiting up to a
// second) and deletes them.
func receiveEvents(t testing.TB, s *stack, url string) []core.Event {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.sqs.ReceiveMessage(c, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
	})
	if err != nil {
		t.Fatalf("receive from %s: %v", url, err)
	}
	var evs []core.Event
	for _, m := range out.Messages {
		var e core.Event
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
			t.Errorf("a message of %s is not an event: %v", url, err)
		}
		evs = append(evs, e)
		if _, err := s.sqs.DeleteMessage(c, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("delete from %s: %v", url, err)
		}
	}
	return evs
}

// countAttempts counts the deliveries of event id.
func countAttempts(ds []delivery, id string) int {
	n := 0
	for _, d := range ds {
		if d.event.ID == id {
			n++
		}
	}
	return n
}
