package server

import (
	"fmt"
	"slices"
	"testing"

	waBinary "go.mau.fi/whatsmeow/binary"
)

// queued lists the ids of the queued stanzas, oldest first.
func queued(q *pendingQueue) []string {
	var ids []string
	q.each(func(n waBinary.Node) { ids = append(ids, n.Attrs["id"].(string)) })
	return ids
}

func stanza(id string) waBinary.Node {
	return waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{"id": id}}
}

func TestPendingQueueAcksInAnyOrder(t *testing.T) {
	var q pendingQueue
	for i := range 10 {
		q.add(fmt.Sprint("k", i), stanza(fmt.Sprint("m", i)), 100)
	}
	// Out of order, and twice for the same stanza: the second ack finds nothing.
	for _, step := range []struct {
		key  string
		want bool
	}{{"k7", true}, {"k0", true}, {"k3", true}, {"k3", false}, {"k9", true}} {
		if got := q.ack(step.key); got != step.want {
			t.Fatalf("ack %s = %v, want %v", step.key, got, step.want)
		}
	}
	if got, want := queued(&q), []string{"m1", "m2", "m4", "m5", "m6", "m8"}; !slices.Equal(got, want) {
		t.Fatalf("queued after acks = %v, want %v", got, want)
	}
	if q.len() != 6 {
		t.Fatalf("len = %d, want 6", q.len())
	}
	if q.ack("unknown") {
		t.Fatal("ack of an unknown key reported a stanza")
	}
}

func TestPendingQueueSameKeyIsFirstInFirstOut(t *testing.T) {
	var q pendingQueue
	q.add("dup", stanza("first"), 100)
	q.add("other", stanza("between"), 100)
	q.add("dup", stanza("second"), 100)
	if !q.ack("dup") {
		t.Fatal("ack dup found nothing")
	}
	if got, want := queued(&q), []string{"between", "second"}; !slices.Equal(got, want) {
		t.Fatalf("queued = %v, want %v: an ack takes the oldest stanza of its key", got, want)
	}
}

func TestPendingQueueDropsTheOldestPastTheLimit(t *testing.T) {
	var q pendingQueue
	for i := range 5 {
		q.add(fmt.Sprint("k", i), stanza(fmt.Sprint("m", i)), 3)
	}
	if got, want := queued(&q), []string{"m2", "m3", "m4"}; !slices.Equal(got, want) {
		t.Fatalf("queued = %v, want %v", got, want)
	}
	if q.ack("k0") {
		t.Fatal("a dropped stanza was still acknowledged")
	}
	q.reset()
	if q.len() != 0 || len(queued(&q)) != 0 {
		t.Fatalf("after reset: len %d, queued %v", q.len(), queued(&q))
	}
}

// TestPendingQueueKeepsOrderThroughCompaction churns a queue (acks from the front,
// the back and the middle; drops past the limit) and checks it against a plain list.
func TestPendingQueueKeepsOrderThroughCompaction(t *testing.T) {
	const limit = 1000
	var q pendingQueue
	var model []string
	next := 0
	for round := range 2000 {
		for range 3 {
			id := fmt.Sprint("m", next)
			next++
			q.add(id, stanza(id), limit)
			model = append(model, id)
			if len(model) > limit {
				model = model[1:]
			}
		}
		for _, pick := range []int{0, len(model) - 1, len(model) / 2} {
			if round%4 == 3 || len(model) == 0 {
				continue // let the queue grow now and then
			}
			pick = min(pick, len(model)-1)
			if !q.ack(model[pick]) {
				t.Fatalf("round %d: ack %s found nothing", round, model[pick])
			}
			model = slices.Delete(model, pick, pick+1)
		}
	}
	if got := queued(&q); !slices.Equal(got, model) {
		t.Fatalf("queued %d stanzas, want %d (first difference near %v)", len(got), len(model), firstDiff(got, model))
	}
	if q.len() != len(model) {
		t.Fatalf("len = %d, want %d", q.len(), len(model))
	}
	if n := len(q.items) - q.head; n > 2*len(model)+32 {
		t.Fatalf("queue holds %d entries for %d stanzas: acknowledged ones are not compacted", n, len(model))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// BenchmarkAcknowledgeOutOfOrder is a device coming back to a long offline queue
// and acknowledging it newest first.
func BenchmarkAcknowledgeOutOfOrder(b *testing.B) {
	const n = 2000
	d := &device{}
	for b.Loop() {
		for i := range n {
			d.deliver(waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{"id": fmt.Sprint("m", i), "from": "x"}})
		}
		for i := n - 1; i >= 0; i-- {
			if !d.acknowledge("message", fmt.Sprint("m", i), "x", nil) {
				b.Fatalf("ack m%d found nothing", i)
			}
		}
	}
}
