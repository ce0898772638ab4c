package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/wagate/wagate/wasim/simtest"
)

// start opens a Main on a random loopback port and serves it until the test ends.
func start(t *testing.T, seed string) *Main {
	t.Helper()
	m := &Main{Addr: "127.0.0.1:0", Seed: seed}
	if err := m.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run() }()
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return m
}

func TestSeedGivesStableRootKey(t *testing.T) {
	ctx := context.Background()
	a := start(t, "demo seed")
	b := start(t, "demo seed")
	c := start(t, "")
	keyA, err := simtest.NewClient("http://" + a.Addr).Cert(ctx)
	if err != nil {
		t.Fatalf("cert a: %v", err)
	}
	keyB, err := simtest.NewClient("http://" + b.Addr).Cert(ctx)
	if err != nil {
		t.Fatalf("cert b: %v", err)
	}
	keyC, err := simtest.NewClient("http://" + c.Addr).Cert(ctx)
	if err != nil {
		t.Fatalf("cert c: %v", err)
	}
	if keyA != keyB {
		t.Fatal("two servers with the same seed have different root keys")
	}
	if keyA == keyC {
		t.Fatal("a server without a seed has the seeded root key")
	}
	if err := simtest.NewClient("http://" + a.Addr).Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{nil, {"serve", "--bogus"}, {"serve", "extra"}, {"listen"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}
