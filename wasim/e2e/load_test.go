package e2e

import (
	"fmt"
	"sync"
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/wasim/simtest"
)

// TestManyDevicesAtOnce links several accounts concurrently and has every client
// message the next account while every phone messages the previous one.
func TestManyDevicesAtOnce(t *testing.T) {
	const n = 8
	sim := simtest.Start(t)
	numbers := make([]string, n)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("1555010%04d", i)
		createPhone(t, sim, numbers[i], fmt.Sprintf("User %d", i))
	}
	clients := make([]*linked, n)
	t.Run("link", func(tl *testing.T) {
		for i := range clients {
			tl.Run(numbers[i], func(tp *testing.T) {
				tp.Parallel()
				clients[i] = pairQROwned(tp, t, sim, numbers[i])
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	var wg sync.WaitGroup

	ctx := ctxFor(t)
	marks := make([]int, n)
	for i, l := range clients {
		marks[i] = l.rec.Mark()
	}
	sentIDs := make([]string, n)
	phoneIDs := make([]string, n)
	for i := range clients {
		wg.Go(func() {
			to := types.NewJID(numbers[(i+1)%n], types.DefaultUserServer)
			resp, err := clients[i].cli.SendMessage(ctx, to, text(fmt.Sprintf("client %d", i)))
			if err != nil {
				t.Errorf("client %d send: %v", i, err)
				return
			}
			sentIDs[i] = resp.ID
		})
		wg.Go(func() {
			id, err := sim.Control.SendMessage(ctx, numbers[i], numbers[(i+n-1)%n], fmt.Sprintf("phone %d", i))
			if err != nil {
				t.Errorf("phone %d send: %v", i, err)
				return
			}
			phoneIDs[i] = id
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i := range clients {
		got := waitInbox(t, sim, numbers[(i+1)%n], sentIDs[i])
		if got.Text != fmt.Sprintf("client %d", i) {
			t.Fatalf("phone %d got %q", (i+1)%n, got.Text)
		}
		// Client i receives phone (i+1)'s message.
		from := (i + 1) % n
		m := simtest.WaitFor[*events.Message](t, clients[i].rec, marks[i], wait, func(m *events.Message) bool {
			return m.Info.ID == phoneIDs[from]
		})
		if m.Message.GetConversation() != fmt.Sprintf("phone %d", from) {
			t.Fatalf("client %d got %q", i, m.Message.GetConversation())
		}
	}
}
