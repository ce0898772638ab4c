// Command wasim runs the WhatsApp simulator:
//
//	wasim serve --addr 127.0.0.1:7070 [--seed S] [--strict]
//
// It serves the chat websocket and the control API (/_sim/...) on one address. With
// --seed the server identity (and so the root key clients pin) is derived from S and
// is the same on every start; without it a fresh identity is generated. The root key
// is also served at /_sim/cert.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wasim:", err)
		os.Exit(2)
	}
}

// run parses the command line and serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		return errors.New("usage: wasim serve --addr 127.0.0.1:7070 [--seed S] [--strict]")
	}
	fs := flag.NewFlagSet("wasim serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	m := &Main{}
	fs.StringVar(&m.Addr, "addr", "127.0.0.1:7070", "listen address (host:port)")
	fs.StringVar(&m.Seed, "seed", "", "derive the server identity from this seed (stable root key)")
	fs.BoolVar(&m.Strict, "strict", false, "record nodes the simulator does not understand (see /_sim/violations)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	m.Log = slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := m.Open(); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		_ = m.Close()
	}()
	return m.Run()
}

// Main is the wasim process: a server and its listener.
type Main struct {
	Addr   string
	Seed   string
	Strict bool
	Log    *slog.Logger

	srv *server.Server
	ln  net.Listener
}

// Open creates the server and starts listening; Addr becomes the bound address.
func (m *Main) Open() error {
	var id *wire.Identity
	var err error
	if m.Seed != "" {
		id, err = wire.NewIdentityFromSeed([]byte(m.Seed))
	} else {
		id, err = wire.NewIdentity()
	}
	if err != nil {
		return fmt.Errorf("create identity: %w", err)
	}
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	m.srv, err = server.New(server.WithIdentity(id), server.WithStrict(m.Strict), server.WithLogger(m.Log))
	if err != nil {
		return fmt.Errorf("create server: %w", err)
	}
	m.ln, err = net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.Addr = m.ln.Addr().String()
	key := m.srv.RootKey()
	m.Log.Info("wasim_listening", "addr", m.Addr, "strict", m.Strict,
		"root_key", base64.StdEncoding.EncodeToString(key[:]))
	return nil
}

// Run serves until Close.
func (m *Main) Run() error { return m.srv.Serve(m.ln) }

// Close stops the server.
func (m *Main) Close() error { return m.srv.Close() }
