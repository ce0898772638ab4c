// Command simclient is a small, unmodified whatsmeow client that talks to the
// WhatsApp simulator instead of WhatsApp:
//
//	simclient -sim 127.0.0.1:7070 [-to 15550002222 -text "hello"] [-wait 60s]
//
// It trusts the root key the simulator serves at /_sim/cert, dials the simulator for
// every WhatsApp connection, shows the QR code as a text line, waits until a fake phone
// scans it and the client is connected, sends one text when -to is given, prints what
// it receives, and exits once -wait has passed (or on SIGINT/SIGTERM).
//
// Every event is one line on stdout, so scripts can wait for them:
//
//	QR: 2@...                                   a code to scan (one per rotation)
//	PAIRED jid=15550001111:1@s.whatsapp.net
//	CONNECTED jid=15550001111:1@s.whatsapp.net
//	SENT id=3EB0... to=15550002222@s.whatsapp.net
//	RECV from=15550002222@s.whatsapp.net id=3EB0... text="hi"
//	RECEIPT id=3EB0... type=delivered from=15550002222@s.whatsapp.net
//	EXIT reason=wait_elapsed
//
// The device store is in memory (-store memory, the only kind): the program links a
// new device every time it runs. Logs go to stderr.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.mau.fi/whatsmeow"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "simclient:", err)
		os.Exit(1)
	}
}

// run parses the flags, pins the simulator's root key and runs the client.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	m := &Main{Out: stdout}
	var storeKind, level string
	fs.StringVar(&m.Sim, "sim", "127.0.0.1:7070", "simulator address (host:port)")
	fs.StringVar(&storeKind, "store", "memory", "device store; only \"memory\" is supported (a new device per run)")
	fs.StringVar(&m.To, "to", "", "phone number or JID to send -text to once connected (optional)")
	fs.StringVar(&m.Text, "text", "hello from simclient", "text to send to -to")
	fs.DurationVar(&m.Wait, "wait", 60*time.Second, "how long to run in total before disconnecting")
	fs.StringVar(&level, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if storeKind != "memory" {
		return fmt.Errorf("-store %q: only the in-memory store is supported", storeKind)
	}
	if m.Wait <= 0 {
		return errors.New("-wait must be positive")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	m.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	certCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	key, err := fetchRootKey(certCtx, m.Sim)
	cancel()
	if err != nil {
		return err
	}
	// whatsmeow reads this global on every handshake; it is set once, before any
	// client exists.
	whatsmeow.WACertPubKey = key
	return m.Run(ctx)
}

// fetchRootKey reads the root public key the simulator's certificates chain to.
func fetchRootKey(ctx context.Context, addr string) ([32]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/_sim/cert", nil)
	if err != nil {
		return [32]byte{}, fmt.Errorf("build cert request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return [32]byte{}, fmt.Errorf("fetch simulator cert: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return [32]byte{}, fmt.Errorf("fetch simulator cert: status %d", resp.StatusCode)
	}
	var body struct {
		PublicKey string `json:"publicKey"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil {
		return [32]byte{}, fmt.Errorf("decode simulator cert: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(body.PublicKey)
	if err != nil || len(key) != 32 {
		return [32]byte{}, errors.New("simulator cert: publicKey is not 32 base64 bytes")
	}
	return [32]byte(key), nil
}
