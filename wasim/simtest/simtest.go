package simtest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/wire"
)

// testSeed derives the identity every simulator started by Start shares, so one
// whatsmeow.WACertPubKey (a process global) trusts all of them.
const testSeed = "wasim simtest identity v1"

var testIdentity = sync.OnceValues(func() (*wire.Identity, error) {
	return wire.NewIdentityFromSeed([]byte(testSeed))
})

// RootKey is the root public key of every simulator started by Start. Set it once in
// TestMain: whatsmeow.WACertPubKey = simtest.RootKey().
func RootKey() [32]byte {
	id, err := testIdentity()
	if err != nil {
		panic(fmt.Sprintf("simtest: derive test identity: %v", err))
	}
	return id.RootPublicKey()
}

// Sim is a simulator running in the test process.
type Sim struct {
	Addr    string         // host:port of the listener, e.g. 127.0.0.1:41234
	URL     string         // http://Addr, the control API base URL
	RootKey [32]byte       // the root key clients must pin
	Control *Client        // control API client for URL
	Server  *server.Server // the server itself, for in-process inspection
}

// Start runs a simulator on a random loopback port until the test ends. Strict mode
// is on and the identity is the shared test identity (see RootKey); opts are applied
// after those defaults and may override them. Each strict-mode violation is logged
// as it happens, and at cleanup the test fails if there were any left; a test that
// provokes violations on purpose consumes them with sim.Server.TakeViolations.
func Start(tb testing.TB, opts ...server.Option) *Sim {
	tb.Helper()
	id, err := testIdentity()
	if err != nil {
		tb.Fatalf("simtest: derive test identity: %v", err)
	}
	all := append([]server.Option{
		server.WithIdentity(id),
		server.WithStrict(true),
		server.WithViolationHandler(func(v server.Violation) { tb.Logf("wasim violation: %s", v) }),
	}, opts...)
	srv, err := server.New(all...)
	if err != nil {
		tb.Fatalf("simtest: create server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("simtest: listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("simtest: close server: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("simtest: serve: %v", err)
		}
		if vs := srv.Violations(); len(vs) > 0 {
			lines := make([]string, len(vs))
			for i, v := range vs {
				lines[i] = v.String()
			}
			tb.Errorf("wasim strict mode: %d violation(s):\n%s", len(vs), strings.Join(lines, "\n"))
		}
	})
	addr := ln.Addr().String()
	return &Sim{
		Addr:    addr,
		URL:     "http://" + addr,
		RootKey: srv.RootKey(),
		Control: NewClient("http://" + addr),
		Server:  srv,
	}
}
