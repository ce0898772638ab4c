// Package coretest holds the conformance suites of core's ports. Every adapter runs
// them from its own tests: RunState for core.State, RunLeases for core.LeaseStore and
// RunBus for core.CommandSender with core.CommandConsumer.
//
// The suites use the ports only, with fresh random tenant and session ids in every
// test, so one shared table (DynamoDB Local) or one emulator serves all of them. They
// poll with generous timeouts instead of sleeping, so slow emulators pass too.
package coretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// waitTimeout bounds every wait for something asynchronous to happen.
const waitTimeout = 30 * time.Second

// uniqueID returns prefix followed by random hex: a valid session id, unique per test.
func uniqueID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read documents that it always fills b
	return prefix + hex.EncodeToString(b[:])
}

// testContext returns a context cancelled when the test ends or after waitTimeout.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// now returns the current time in UTC without a monotonic reading, with a fixed odd
// nanosecond part, so a store that loses precision fails the comparisons.
func now() time.Time { return time.Now().UTC().Truncate(time.Second).Add(123456789) }

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code core.Code, what string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("%s: want error code %q, got %v", what, code, err)
	}
}

// noErr fails the test on err.
func noErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same fails the test unless want and got match (see diff).
func same(t *testing.T, want, got any, what string) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", waitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
