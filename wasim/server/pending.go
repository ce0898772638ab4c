package server

import waBinary "go.mau.fi/whatsmeow/binary"

// pendingQueue is a device's stanzas awaiting acknowledgement, oldest first, indexed
// by key so that an ack finds its stanza without scanning the queue: acks that come
// out of order (a receipt before an older message's ack) cost the same as in-order
// ones. It is not safe for concurrent use; the device's mutex guards it.
type pendingQueue struct {
	items []*pendingStanza            // oldest first; acknowledged ones are marked until compacted
	head  int                         // items[:head] are all acknowledged
	live  int                         // items not acknowledged
	byKey map[string][]*pendingStanza // per key, oldest first
}

// add queues a stanza; past limit the oldest queued stanza is dropped.
func (q *pendingQueue) add(key string, n waBinary.Node, limit int) {
	p := &pendingStanza{key: key, node: n}
	if q.byKey == nil {
		q.byKey = make(map[string][]*pendingStanza)
	}
	q.items = append(q.items, p)
	q.byKey[key] = append(q.byKey[key], p)
	q.live++
	for q.live > limit {
		q.ack(q.oldest().key)
	}
}

// ack drops the oldest queued stanza with key. It reports whether there was one.
func (q *pendingQueue) ack(key string) bool {
	same := q.byKey[key]
	if len(same) == 0 {
		return false
	}
	same[0].acked = true
	if len(same) == 1 {
		delete(q.byKey, key)
	} else {
		same[0] = nil
		q.byKey[key] = same[1:]
	}
	q.live--
	q.compact()
	return true
}

// oldest is the oldest stanza not acknowledged; the queue must not be empty.
func (q *pendingQueue) oldest() *pendingStanza {
	for _, p := range q.items[q.head:] {
		if !p.acked {
			return p
		}
	}
	panic("pending queue: oldest of an empty queue")
}

// compact drops acknowledged stanzas from the front, and rebuilds the list once
// most of it is acknowledged stanzas, so memory follows what is still queued.
func (q *pendingQueue) compact() {
	for q.head < len(q.items) && q.items[q.head].acked {
		q.items[q.head] = nil
		q.head++
	}
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
		return
	}
	if len(q.items)-q.head > 2*q.live+32 || q.head > len(q.items)/2 {
		kept := make([]*pendingStanza, 0, q.live)
		for _, p := range q.items[q.head:] {
			if !p.acked {
				kept = append(kept, p)
			}
		}
		q.items, q.head = kept, 0
	}
}

// each calls fn for every queued stanza, oldest first.
func (q *pendingQueue) each(fn func(waBinary.Node)) {
	for _, p := range q.items[q.head:] {
		if !p.acked {
			fn(p.node)
		}
	}
}

// len is the number of queued stanzas.
func (q *pendingQueue) len() int { return q.live }

// reset drops every queued stanza.
func (q *pendingQueue) reset() { *q = pendingQueue{} }
