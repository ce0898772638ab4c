package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/simtest/memstore"
)

// Main is one simclient run: a fresh device linked by QR, one optional send, then
// printing events until Wait has passed.
type Main struct {
	Sim  string        // simulator address, host:port
	To   string        // recipient (phone number or JID); empty: send nothing
	Text string        // text sent to To
	Wait time.Duration // total run time
	Out  io.Writer     // event lines
	Log  *slog.Logger  // diagnostics

	outMu sync.Mutex
}

// Run links, sends and prints events until Wait has passed or ctx is done. It returns
// an error when the client could not pair, connect or send.
func (m *Main) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.Wait)
	defer cancel()
	to, err := m.recipient()
	if err != nil {
		return err
	}

	wlog := slogLogger{l: m.Log}
	container := memstore.New(wlog.Sub("store"))
	cli := whatsmeow.NewClient(container.NewDevice(), wlog.Sub("client"))
	h := simHTTPClient(m.Sim)
	cli.SetPreLoginHTTPClient(h)
	cli.SetWebsocketHTTPClient(h)
	defer cli.Disconnect()

	connected := make(chan struct{})
	var once sync.Once
	cli.AddEventHandler(func(evt any) {
		m.handle(cli, evt)
		if _, ok := evt.(*events.Connected); ok {
			once.Do(func() { close(connected) })
		}
	})

	qrs, err := cli.GetQRChannel(ctx)
	if err != nil {
		return fmt.Errorf("open qr channel: %w", err)
	}
	if err := cli.Connect(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	qrDone := make(chan error, 1)
	go func() { qrDone <- m.printQRCodes(qrs) }()

	select {
	case <-connected:
	case err := <-qrDone:
		if err != nil {
			return err
		}
		select {
		case <-connected:
		case <-ctx.Done():
			return errors.New("paired but not connected before -wait elapsed")
		}
	case <-ctx.Done():
		return errors.New("not linked before -wait elapsed")
	}

	if to != (types.JID{}) {
		resp, err := cli.SendMessage(ctx, to, &waE2E.Message{Conversation: proto.String(m.Text)})
		if err != nil {
			return fmt.Errorf("send to %s: %w", to, err)
		}
		m.printf("SENT id=%s to=%s", resp.ID, to)
	}
	<-ctx.Done()
	reason := "wait_elapsed"
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		reason = "signal"
	}
	m.printf("EXIT reason=%s", reason)
	return nil
}

// recipient parses To: a JID, or a phone number on s.whatsapp.net.
func (m *Main) recipient() (types.JID, error) {
	if m.To == "" {
		return types.JID{}, nil
	}
	if strings.Contains(m.To, "@") {
		jid, err := types.ParseJID(m.To)
		if err != nil {
			return types.JID{}, fmt.Errorf("-to: %w", err)
		}
		return jid, nil
	}
	return types.NewJID(strings.TrimPrefix(m.To, "+"), types.DefaultUserServer), nil
}

// printQRCodes prints every QR code until pairing succeeds. It returns an error when
// the codes run out or pairing fails.
func (m *Main) printQRCodes(qrs <-chan whatsmeow.QRChannelItem) error {
	for item := range qrs {
		switch item.Event {
		case whatsmeow.QRChannelEventCode:
			m.printf("QR: %s", item.Code)
		case whatsmeow.QRChannelSuccess.Event:
			return nil
		case whatsmeow.QRChannelEventError:
			return fmt.Errorf("pairing failed: %w", item.Error)
		default:
			return fmt.Errorf("pairing ended: %s", item.Event)
		}
	}
	return errors.New("qr channel closed before pairing")
}

// handle prints the events a script waits for.
func (m *Main) handle(cli *whatsmeow.Client, evt any) {
	switch e := evt.(type) {
	case *events.PairSuccess:
		m.printf("PAIRED jid=%s", e.ID)
	case *events.Connected:
		m.printf("CONNECTED jid=%s", cli.Store.GetJID())
	case *events.Message:
		text := e.Message.GetConversation()
		if text == "" {
			text = e.Message.GetExtendedTextMessage().GetText()
		}
		m.printf("RECV from=%s id=%s text=%q", e.Info.Sender, e.Info.ID, text)
	case *events.Receipt:
		typ := string(e.Type)
		if e.Type == types.ReceiptTypeDelivered {
			typ = "delivered"
		}
		for _, id := range e.MessageIDs {
			m.printf("RECEIPT id=%s type=%s from=%s", id, typ, e.Sender)
		}
	case *events.LoggedOut:
		m.printf("LOGGED_OUT reason=%s", e.Reason)
	case *events.Disconnected:
		m.Log.Info("disconnected")
	}
}

func (m *Main) printf(format string, args ...any) {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	fmt.Fprintf(m.Out, format+"\n", args...)
}

// simHTTPClient dials addr for every request whatever the URL names. A TLS dial also
// returns a plain TCP connection, so the wss:// URL whatsmeow uses reaches the
// simulator's plain websocket.
func simHTTPClient(addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, "tcp", addr)
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:          nil,
		DialContext:    dial,
		DialTLSContext: dial,
	}}
}
