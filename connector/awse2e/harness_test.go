//go:build unix

package awse2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	keystore "github.com/wagate/wagate/connector/dynamo"
	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/awstest"
	statedb "github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/sqsbus"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/simtest"
)

// Bounds of the waits (generous: the tests poll and return as soon as they can).
const (
	readyTimeout = 60 * time.Second // a connector process is up
	linkTimeout  = 60 * time.Second // QR shown, scanned, connected
	eventTimeout = 30 * time.Second // a message or status arrives
	setupTimeout = 2 * time.Minute  // tables and queues exist
	opTimeout    = 10 * time.Second // one call to an emulator or the simulator
	testLease    = 3 * time.Second  // WAGATE_LEASE_DURATION of the child processes
	apiToken     = "awse2e-token-0123456789abcdef"
	tenant       = "acme"
	alicePhone   = "15550001111"
	bobPhone     = "15550002222"
	maxReceives  = 2 // receives before a command goes to the dead-letter queue
	// maxSendLatency is far above a send's usual 0.2 s and below the 30 s visibility
	// timeout of a command stranded in a stopped process's receive.
	maxSendLatency = 15 * time.Second
)

// stack is one deployment's worth of AWS resources on the emulators, the simulator,
// and the API handlers the Lambda functions run.
type stack struct {
	ddb                     *dynamodb.Client
	sqs                     *sqs.Client
	stateTable, keyTable    string
	commandsURL, dlqURL     string
	eventsURL, eventsDLQURL string
	state                   *statedb.Store // the test's own reads
	sim                     *simtest.Sim
	logins                  *loginLog
	api                     *client
	events                  *eventLog
	dir                     string
	awsEnv                  []string
}

// newStack creates fresh tables and queues (deleted at cleanup), starts the
// simulator in this process and serves the API handlers on a loopback port. It
// fails at once when the emulator endpoints are not set.
func newStack(t testing.TB) *stack {
	t.Helper()
	s := &stack{ddb: awstest.DynamoDB(t), sqs: awstest.SQS(t), dir: t.TempDir(), logins: &loginLog{}}
	s.awsEnv = awstest.ChildEnv(t, s.dir)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s.stateTable, s.keyTable = awstest.Name("wagate-state-"), awstest.Name("wagate-keys-")
	if err := statedb.CreateTable(ctx, s.ddb, s.stateTable); err != nil {
		t.Fatalf("create state table: %v", err)
	}
	if err := keystore.CreateTable(ctx, s.ddb, s.keyTable); err != nil {
		t.Fatalf("create key table: %v", err)
	}
	var err error
	s.commandsURL, s.dlqURL, s.eventsURL, s.eventsDLQURL, err = sqsbus.CreateQueues(ctx, s.sqs, awstest.Name("wagate-"), maxReceives)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		for _, table := range []string{s.stateTable, s.keyTable} {
			_, _ = s.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		}
		for _, q := range []string{s.commandsURL, s.dlqURL, s.eventsURL, s.eventsDLQURL} {
			_, _ = s.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(q)})
		}
	})
	s.state = statedb.New(s.ddb, s.stateTable)
	s.sim = simtest.Start(t, server.WithLogger(slog.New(s.logins)))
	s.api = s.serveAPI(t, s.state)
	s.events = &eventLog{}
	return s
}

// serveAPI serves the HTTP API handlers of the Lambda functions on state and the
// commands queue, with a token for tenant acme.
func (s *stack) serveAPI(t testing.TB, state core.State) *client {
	t.Helper()
	auth, err := apigw.ParseTokens(apiToken + "=" + tenant)
	if err != nil {
		t.Fatal(err)
	}
	api, err := apigw.New(apigw.Server{
		State: state, Commands: sqsbus.New(s.sqs, s.commandsURL, s.eventsURL, nil), Auth: auth,
		Options: apigw.Options{AllowInsecureWebhooks: true},
	})
	if err != nil {
		t.Fatalf("api handlers: %v", err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return newClient(srv.URL, apiToken)
}

// connectorEnv returns the environment of a connector process on this stack.
func (s *stack) connectorEnv(id string) []string {
	return append([]string{
		"WAGATE_STORE=dynamodb:" + s.keyTable,
		"WAGATE_STATE_TABLE=" + s.stateTable,
		"WAGATE_COMMANDS_QUEUE_URL=" + s.commandsURL,
		"WAGATE_EVENTS_QUEUE_URL=" + s.eventsURL,
		"WAGATE_LOG_FORMAT=json",
		"WAGATE_WA_DIAL=" + s.sim.Addr,
		"WAGATE_HEALTH_ADDR=127.0.0.1:0",
		"WAGATE_LEASE_DURATION=" + testLease.String(),
		"WAGATE_SEND_INTERVAL=0",
		"WAGATE_CONNECTOR_ID=" + id,
		"WAGATE_DATA=" + filepath.Join(s.dir, id),
	}, s.awsEnv...)
}

// link creates the session, connects it through the API and has the phone scan its
// QR code; it returns the linked device.
func (s *stack) link(t testing.TB, id, phone string) server.DeviceInfo {
	t.Helper()
	s.api.createSession(t, id)
	s.api.MustJSON(t, "POST", "/v1/sessions/"+id+"/connect", nil, 202, nil)
	s.waitStatus(t, id, core.StatusQR, linkTimeout)
	dev, err := s.sim.Control.Scan(ctx(t), phone, s.api.qrCode(t, id))
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if linked := s.waitStatus(t, id, core.StatusConnected, linkTimeout); linked.JID != dev.JID {
		t.Fatalf("linked session jid %q, want the phone's new device %q", linked.JID, dev.JID)
	}
	return dev
}

// session reads a session from the state table.
func (s *stack) session(t testing.TB, id string) core.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	sess, err := s.state.GetSession(ctx, core.SessionKey{Tenant: tenant, ID: id})
	if err != nil {
		t.Fatalf("read session %s: %v", id, err)
	}
	return sess
}

// lease reads a session's lease from the state table.
func (s *stack) lease(t testing.TB, id string) core.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	l, err := s.state.ReadLease(ctx, core.SessionKey{Tenant: tenant, ID: id})
	if err != nil {
		t.Fatalf("read lease %s: %v", id, err)
	}
	return l
}

// waitStatus waits until the session has status st in the state table.
func (s *stack) waitStatus(t testing.TB, id string, st core.Status, timeout time.Duration) core.Session {
	t.Helper()
	var sess core.Session
	apitest.Eventually(t, timeout, "session "+id+" to be "+string(st), func() (bool, string) {
		sess = s.session(t, id)
		return sess.Status == st, apitest.Describe(sess)
	})
	return sess
}

// deviceItems counts the items of a device's partition in the key table.
func (s *stack) deviceItems(t testing.TB, jid string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	n := 0
	p := dynamodb.NewQueryPaginator(s.ddb, &dynamodb.QueryInput{
		TableName:              aws.String(s.keyTable),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "dev#" + jid},
		},
		ConsistentRead: aws.Bool(true),
		Select:         types.SelectCount,
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("query the key table: %v", err)
		}
		n += int(out.Count)
	}
	return n
}

// storedDevice reports whether the key table lists the device.
func (s *stack) storedDevice(t testing.TB, jid string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.keyTable), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "devices"},
			"sk": &types.AttributeValueMemberS{Value: jid},
		},
	})
	if err != nil {
		t.Fatalf("read the key table: %v", err)
	}
	return len(out.Item) > 0
}

// queueDepth returns how many messages a queue holds (visible and in flight).
func (s *stack) queueDepth(t testing.TB, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	n := 0
	for _, v := range out.Attributes {
		var c int
		_ = json.Unmarshal([]byte(v), &c)
		n += c
	}
	return n
}

// loginLog records the simulator's device logins (a slog.Handler for its logger).
type loginLog struct {
	mu     sync.Mutex
	logins []login
}

// login is one logged-in connection of a device.
type login struct {
	device string
	at     time.Time
}

// Enabled records info and above.
func (l *loginLog) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelInfo }

// Handle records device_logged_in lines.
func (l *loginLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "device_logged_in" {
		return nil
	}
	li := login{at: time.Now()}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "device" {
			li.device = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.logins = append(l.logins, li)
	l.mu.Unlock()
	return nil
}

// WithAttrs keeps the handler (the simulator logs attributes per line).
func (l *loginLog) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup keeps the handler.
func (l *loginLog) WithGroup(string) slog.Handler { return l }

// count returns how many times device logged in.
func (l *loginLog) count(device string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, li := range l.logins {
		if li.device == device {
			n++
		}
	}
	return n
}
