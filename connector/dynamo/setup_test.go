package dynamo_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	_ "modernc.org/sqlite"

	"github.com/wagate/wagate/connector/dynamo"
)

// container is what both dynamo.Container and sqlstore.Container offer.
type container interface {
	NewDevice() *store.Device
	GetDevice(ctx context.Context, jid types.JID) (*store.Device, error)
	GetAllDevices(ctx context.Context) ([]*store.Device, error)
	GetFirstDevice(ctx context.Context) (*store.Device, error)
	PutDevice(ctx context.Context, device *store.Device) error
	DeleteDevice(ctx context.Context, device *store.Device) error
}

var (
	_ container                      = (*dynamo.Container)(nil)
	_ container                      = (*sqlstore.Container)(nil)
	_ store.AllSessionSpecificStores = (*dynamo.DeviceStore)(nil)
	_ store.LIDStore                 = (*dynamo.LIDMap)(nil)
	_ store.DeviceContainer          = (*dynamo.Container)(nil)
)

// backend opens a fresh, empty store of one kind for one test.
type backend struct {
	name string
	open func(t *testing.T) container
}

// backends runs the same behaviour checks against the DynamoDB store and against
// whatsmeow's own sqlstore (SQLite), so that both are held to the same results.
var backends = []backend{
	{name: "dynamo", open: func(t *testing.T) container { c, _, _ := openDynamo(t); return c }},
	{name: "sqlstore", open: openSQLStore},
}

func forEachBackend(t *testing.T, fn func(t *testing.T, c container)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testClient returns a client for the DynamoDB emulator named by AWS_ENDPOINT_URL_DYNAMODB,
// with fixed test credentials. It never falls back to real AWS: without the variable
// the test fails (or skips with WAGATE_SKIP_EMULATOR_TESTS=1), and the endpoint must be
// on loopback.
func testClient(t testing.TB) *dynamodb.Client {
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
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("test", "test", ""),
		DisableValidateResponseChecksum: true,
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openDynamo creates a table with a random name, deleted when the test ends.
func openDynamo(t *testing.T) (*dynamo.Container, *dynamodb.Client, string) {
	t.Helper()
	client := testClient(t)
	name := "wagate-test-" + randomHex(6)
	ctx := testCtx(t)
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("DeleteTable: %v", err)
		}
	})
	return dynamo.New(client, name, nil), client, name
}

func openSQLStore(t *testing.T) container {
	t.Helper()
	path := filepath.Join(t.TempDir(), "whatsmeow.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c := sqlstore.NewWithDB(db, "sqlite", nil)
	if err := c.Upgrade(testCtx(t)); err != nil {
		t.Fatalf("upgrade sqlstore: %v", err)
	}
	return c
}

func mustJID(t testing.TB, s string) types.JID {
	t.Helper()
	jid, err := types.ParseJID(s)
	if err != nil {
		t.Fatalf("parse JID %q: %v", s, err)
	}
	return jid
}

// pairedDevice returns a saved device with the given AD-JID, as whatsmeow has it after pairing.
func pairedDevice(t *testing.T, c container, jid string) *store.Device {
	t.Helper()
	dev := c.NewDevice()
	id := mustJID(t, jid)
	dev.ID = &id
	dev.LID = types.JID{User: "99000111222", Device: id.Device, Server: types.HiddenUserServer}
	dev.Account = &waAdv.ADVSignedDeviceIdentity{
		Details:             []byte("details"),
		AccountSignature:    randBytes(64),
		AccountSignatureKey: randBytes(32),
		DeviceSignature:     randBytes(64),
	}
	dev.Platform = "Chrome (Windows)"
	dev.PushName = "Alice"
	if err := dev.Save(testCtx(t)); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return dev
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func key32(b byte) [32]byte {
	var k [32]byte
	for i := range k {
		k[i] = b
	}
	return k
}
