package e2e

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/dynamo"
	"github.com/wagate/wagate/core"
)

// TestRestartKeepsTheLinkOnDynamoDB runs the local binary with the state and the
// whatsmeow keys in DynamoDB tables (DynamoDB Local, which `make test` starts): a
// session linked by QR reconnects after a restart without a new QR, as on a VPS
// that uses the stack's tables.
func TestRestartKeepsTheLinkOnDynamoDB(t *testing.T) {
	requireDynamoDBLocal(t)
	suffix := core.NewID()[:12]
	keys, state := "wagate-e2e-keys-"+suffix, "wagate-e2e-state-"+suffix
	e := start(t, func(c *app.Config) {
		c.Store, c.StateTable, c.CreateResources = "dynamodb:"+keys, state, true
	})
	t.Cleanup(func() { deleteTables(t, keys, state) })
	alice, bob := e.phone(t, alicePhone, "Alice"), e.phone(t, bobPhone, "Bob")
	before := e.link(t, "desk", alice)
	m := e.api.Send(t, "desk", bob, "stored in DynamoDB")
	e.waitMessage(t, "desk", m.ID, core.MessageSent)

	e.restart()
	after := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if after.JID != before.JID {
		t.Errorf("after the restart the session is %q, want %q", after.JID, before.JID)
	}
	if r := e.api.Do(t, "GET", "/v1/sessions/desk/qr", nil); r.Status != 409 {
		t.Errorf("the restarted session serves a QR code: %s", r)
	}
	second := e.api.Send(t, "desk", bob, "after the restart")
	e.waitMessage(t, "desk", second.ID, core.MessageSent)
}

// requireDynamoDBLocal fails the test unless AWS_ENDPOINT_URL_DYNAMODB names an
// emulator on loopback (never real AWS); WAGATE_SKIP_EMULATOR_TESTS=1 skips it.
func requireDynamoDBLocal(t *testing.T) {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		if os.Getenv("WAGATE_SKIP_EMULATOR_TESTS") == "1" {
			t.Skip("WAGATE_SKIP_EMULATOR_TESTS=1: DynamoDB Local tests skipped")
		}
		t.Fatal("AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `make test`, or " +
			"`scripts/emulators.sh start && source <(scripts/emulators.sh env)` first " +
			"(WAGATE_SKIP_EMULATOR_TESTS=1 skips these tests)")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("AWS_ENDPOINT_URL_DYNAMODB: %v", err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		t.Fatalf("AWS_ENDPOINT_URL_DYNAMODB must point at a local emulator on loopback, got host %q", u.Hostname())
	}
}

// deleteTables removes the test's tables from the emulator.
func deleteTables(t *testing.T, names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := dynamo.NewClient(ctx)
	if err != nil {
		t.Errorf("dynamodb client: %v", err)
		return
	}
	for _, name := range names {
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name}); err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	}
}
