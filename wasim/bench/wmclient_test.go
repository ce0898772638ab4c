package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/wagate/wagate/wasim/simtest"
	"github.com/wagate/wagate/wasim/simtest/memstore"
)

// wmClient is an unmodified whatsmeow client linked to a phone of the simulator.
type wmClient struct {
	cli       *whatsmeow.Client
	connected chan struct{}
	received  atomic.Int64 // events.Message
	receipts  atomic.Int64 // events.Receipt for messages it sent
}

// linkWhatsmeow links a new whatsmeow client to phone by QR, as wagate does, and
// waits until it is connected after the 515 reconnect.
func linkWhatsmeow(ctx context.Context, sim *simProc, phone string) (*wmClient, error) {
	container := memstore.New(nil)
	c := &wmClient{cli: whatsmeow.NewClient(container.NewDevice(), waLog.Noop), connected: make(chan struct{})}
	h := simtest.HTTPClient(sim.Addr)
	c.cli.SetPreLoginHTTPClient(h)
	c.cli.SetWebsocketHTTPClient(h)
	var once sync.Once
	c.cli.AddEventHandler(func(evt any) {
		switch evt.(type) {
		case *events.Connected:
			once.Do(func() { close(c.connected) })
		case *events.Message:
			c.received.Add(1)
		case *events.Receipt:
			c.receipts.Add(1)
		}
	})
	qrs, err := c.cli.GetQRChannel(ctx)
	if err != nil {
		return nil, fmt.Errorf("qr channel: %w", err)
	}
	if err := c.cli.Connect(); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	var code string
	select {
	case item := <-qrs:
		if item.Event != whatsmeow.QRChannelEventCode {
			c.cli.Disconnect()
			return nil, fmt.Errorf("first qr item is %q: %v", item.Event, item.Error)
		}
		code = item.Code
	case <-ctx.Done():
		c.cli.Disconnect()
		return nil, fmt.Errorf("no qr code: %w", ctx.Err())
	}
	if _, err := sim.Control.Scan(ctx, phone, code); err != nil {
		c.cli.Disconnect()
		return nil, fmt.Errorf("scan: %w", err)
	}
	select {
	case <-c.connected:
	case <-ctx.Done():
		c.cli.Disconnect()
		return nil, fmt.Errorf("not connected after pairing: %w", ctx.Err())
	}
	return c, nil
}

// JID is the client's own device JID.
func (c *wmClient) JID() types.JID { return c.cli.Store.GetJID() }
