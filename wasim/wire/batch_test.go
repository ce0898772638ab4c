package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	waBinary "go.mau.fi/whatsmeow/binary"

	"github.com/wagate/wagate/wasim/wire"
)

func TestWriteNodesDeliversEveryNodeInOrder(t *testing.T) {
	ctx := testContext(t)
	addr, results := serveHeld(t)
	nc, err := dialNoiseClient(ctx, t, addr, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	r := waitAccept(ctx, t, results)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}

	// A batch of many small nodes, then one whose nodes add up to more than a
	// message may hold, then a single node: whatsmeow's reader must decode them
	// all, in order, with the payloads intact.
	big := bytes.Repeat([]byte("0123456789abcdef"), (wire.MaxBatchSize*2/3)/16)
	var small, large []waBinary.Node
	for i := range 500 {
		small = append(small, waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"id": fmt.Sprintf("n%d", len(small)), "type": "test", "i": i}})
	}
	for range 3 {
		large = append(large, waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"id": fmt.Sprintf("n%d", len(small)+len(large))}, Content: big})
	}
	if err := r.conn.WriteNodes(ctx, small); err != nil {
		t.Fatalf("WriteNodes(small): %v", err)
	}
	if err := r.conn.WriteNodes(ctx, large); err != nil {
		t.Fatalf("WriteNodes(large): %v", err)
	}
	if err := r.conn.WriteNodes(ctx, nil); err != nil {
		t.Fatalf("WriteNodes(nil): %v", err)
	}
	last := fmt.Sprintf("n%d", len(small)+len(large))
	if err := r.conn.WriteNode(ctx, waBinary.Node{Tag: "ib", Attrs: waBinary.Attrs{"id": last}}); err != nil {
		t.Fatalf("WriteNode: %v", err)
	}

	for i := range len(small) + len(large) + 1 {
		var node *waBinary.Node
		select {
		case node = <-nc.nodes:
		case <-ctx.Done():
			t.Fatalf("client decoded %d nodes, want %d", i, len(small)+len(large)+1)
		}
		if got, want := node.AttrGetter().String("id"), fmt.Sprintf("n%d", i); got != want {
			t.Fatalf("node %d has id %q, want %q (lost or reordered)", i, got, want)
		}
		if i >= len(small) && i < len(small)+len(large) {
			if b, _ := node.Content.([]byte); !bytes.Equal(b, big) {
				t.Fatalf("node %d: content of %d bytes, want the %d bytes sent", i, len(b), len(big))
			}
		}
	}
}

func TestWriteNodesSendsNothingWhenANodeCannotBeEncoded(t *testing.T) {
	ctx := testContext(t)
	addr, results := serveHeld(t)
	nc, err := dialNoiseClient(ctx, t, addr, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	r := waitAccept(ctx, t, results)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	batch := []waBinary.Node{
		{Tag: "ib", Attrs: waBinary.Attrs{"id": "before"}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": struct{}{}}},
		{Tag: "ib", Attrs: waBinary.Attrs{"id": "behind"}},
	}
	if err := r.conn.WriteNodes(ctx, batch); !errors.Is(err, wire.ErrDecode) {
		t.Fatalf("WriteNodes error = %v, want ErrDecode", err)
	}
	if err := r.conn.WriteNodes(ctx, []waBinary.Node{{Tag: "ib", Attrs: waBinary.Attrs{"id": "after"}}}); err != nil {
		t.Fatalf("WriteNodes: %v", err)
	}
	select {
	case node := <-nc.nodes:
		if node.Tag != "ib" || node.AttrGetter().String("id") != "after" {
			t.Errorf("client got %s first, want <ib id=after>: the rejected batch leaked", node.XMLString())
		}
	case <-ctx.Done():
		t.Fatal("client never decoded the node written after the rejected batch")
	}
}
