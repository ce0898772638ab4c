//go:build unix

package splite2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/connector/internal/proctest"
	"github.com/wagate/wagate/core"
)

// Size of the burst and when the connector is killed.
const (
	burstTotal   = 200
	burstWorkers = 8
	burstKillAt  = 30                    // messages on the phone when the connector is killed
	burstPace    = 20 * time.Millisecond // between two sends: 50 a second
	// burstTimeout bounds the wait for every accepted message: commands the killed
	// process had received come back after the queue's 30 s visibility timeout.
	burstTimeout = 3 * time.Minute
)

// TestSplitKillDuringBurst kills the connector with SIGKILL while a burst of 200
// messages is being sent through the API: 100 are sent at once, the connector dies
// once the phone has 30 of them (the rest queued or in its hands), the other 100
// are sent while it is dead, and a new connector starts. Every message the API
// accepted (202) reaches the phone exactly once, with the id the API gave it, and
// ends sent. (See the end of the test for messages sent twice under one id.)
func TestSplitKillDuringBurst(t *testing.T) {
	s := newStack(t, false)
	alice, bob := s.phone(t, alicePhone, "Alice"), s.phone(t, bobPhone, "Bob")
	conn := s.startConnector(t, "conn-a")
	s.link(t, "desk", alice, "")
	run := core.NewID()[:6]
	text := func(i int) string { return fmt.Sprintf("burst %s %03d", run, i) }

	var (
		mu       sync.Mutex
		accepted = map[string]string{} // text → message id
		refused  = map[int]int{}       // status → count
	)
	// The killer watches the phone and kills the connector's process group once the
	// phone has burstKillAt of the messages: sends are being accepted and delivered.
	var killed struct {
		phone, accepted int
	}
	killer := make(chan struct{})
	go func() {
		defer close(killer)
		deadline := time.Now().Add(burstTimeout)
		for time.Now().Before(deadline) {
			n := 0
			for txt := range phoneTexts(t, s, bob) {
				if strings.HasPrefix(txt, "burst "+run) {
					n++
				}
			}
			if n >= burstKillAt {
				conn.Kill(syscall.SIGKILL)
				mu.Lock()
				killed.phone, killed.accepted = n, len(accepted)
				mu.Unlock()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range burstWorkers {
		wg.Go(func() {
			for i := range jobs {
				r, err := s.api.Try("POST", "/v1/sessions/desk/messages", map[string]string{"to": bob, "text": text(i)})
				mu.Lock()
				switch {
				case err != nil:
					refused[0]++
				case r.Status == 202:
					var m core.Message
					if json.Unmarshal(r.Body, &m) == nil {
						accepted[text(i)] = m.ID
					}
				default:
					refused[r.Status]++
				}
				mu.Unlock()
			}
		})
	}
	// The first half goes out as fast as the API takes it, so the connector has a
	// backlog when it dies; the second half is sent while it is dead.
	for i := range burstTotal / 2 {
		jobs <- i
	}
	<-killer
	for i := burstTotal / 2; i < burstTotal; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	conn.WaitExit(t, proctest.StopTimeout)
	t.Logf("accepted %d of %d (refused by status: %v); connector killed when the phone had %d and the API had accepted %d",
		len(accepted), burstTotal, refused, killed.phone, killed.accepted)
	if killed.phone == 0 || killed.accepted >= len(accepted) {
		t.Fatalf("the kill did not fall within the burst: the phone had %d, the API had accepted %d of %d", killed.phone, killed.accepted, len(accepted))
	}
	delivered := phoneTexts(t, s, bob)
	t.Logf("the phone had %d burst messages when the connector died", countBurst(delivered, accepted))

	restarted := time.Now()
	next := s.startConnector(t, "conn-b")
	apitest.Eventually(t, burstTimeout, "every accepted message on the phone", func() (bool, string) {
		delivered = phoneTexts(t, s, bob)
		n := countBurst(delivered, accepted)
		return n == len(accepted), fmt.Sprintf("%d of %d", n, len(accepted))
	})
	t.Logf("all %d accepted messages on the phone %s after the restart", len(accepted), time.Since(restarted).Round(time.Millisecond))
	// Nothing left to redeliver: the commands queue is empty and every message is sent.
	apitest.Eventually(t, eventTimeout, "the commands queue to drain", func() (bool, string) {
		n := queueDepth(t, s, s.commandsURL)
		return n == 0, strconv.Itoa(n) + " commands"
	})
	for txt, id := range accepted {
		if m := s.api.Message(t, "desk", id); m.Status != core.MessageSent && m.Status != core.MessageDelivered {
			t.Errorf("message %q is %s (%s), want sent", txt, m.Status, m.Error)
		}
	}
	// A phone lists a message once per id, as WhatsApp clients do, and counts the
	// copies: a message sent, then the process died before recording that and the
	// command came back, reaches it a second time under the same id. Each accepted
	// text must be listed exactly once, under the id the API gave it.
	msgs, err := s.sim.Control.Messages(ctx(t), bob)
	if err != nil {
		t.Fatalf("messages of %s: %v", bob, err)
	}
	listed := map[string][]string{}
	copies := 0
	for _, m := range msgs {
		listed[m.Text] = append(listed[m.Text], m.ID)
		copies += m.Copies - 1
	}
	var wrong []string
	for txt, id := range accepted {
		if got := listed[txt]; len(got) != 1 || got[0] != id {
			wrong = append(wrong, fmt.Sprintf("%q as %v (accepted as %s)", txt, got, id))
		}
	}
	t.Logf("the new connector skipped %d redelivered sends of messages already sent; %d messages reached the phone a second time with the same id",
		len(next.Find("message_send_skipped", nil)), copies)
	sort.Strings(wrong)
	if len(wrong) > 0 {
		t.Errorf("%d accepted messages did not reach the phone exactly once under their id: %v", len(wrong), wrong)
	}
}

// phoneTexts returns the ids of the messages phone received, by text.
func phoneTexts(t testing.TB, s *stack, phone string) map[string][]string {
	t.Helper()
	msgs, err := s.sim.Control.Messages(ctx(t), phone)
	if err != nil {
		t.Fatalf("messages of %s: %v", phone, err)
	}
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.Text] = append(out[m.Text], m.ID)
	}
	return out
}

// countBurst counts the accepted texts the phone has (each once).
func countBurst(delivered map[string][]string, accepted map[string]string) int {
	n := 0
	for txt := range accepted {
		if len(delivered[txt]) > 0 {
			n++
		}
	}
	return n
}

// queueDepth returns how many messages a queue holds, visible and in flight.
func queueDepth(t testing.TB, s *stack, url string) int {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.sqs.GetQueueAttributes(c, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n
}
