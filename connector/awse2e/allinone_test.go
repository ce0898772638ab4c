//go:build unix

package awse2e

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/awstest"
	statedb "github.com/wagate/wagate/core/dynamo"
)

// TestAllInOneOnAWSAdapters runs the local all-in-one process (app.Main, what a
// single VPS runs) on DynamoDB and SQS instead of SQLite and the in-process bus, with
// WAGATE_CREATE_RESOURCES creating the tables and queues it is given: a session links
// through its own API, sends and receives, and its state is in the state table.
func TestAllInOneOnAWSAdapters(t *testing.T) {
	// Not parallel: the in-process SDK reads the environment set here.
	s := newStack(t) // the simulator and the test's clients; the tables below are new
	setAWSEnv(t, s)
	alice, bob := createPhone(t, s, alicePhone, "Alice"), createPhone(t, s, bobPhone, "Bob")
	stateTable, keyTable, prefix := awstest.Name("wagate-aio-state-"), awstest.Name("wagate-aio-keys-"), awstest.Name("wagate-aio-")
	queueBase := "http://127.0.0.1/000000000000/" + prefix
	t.Cleanup(func() { deleteResources(s, []string{stateTable, keyTable}, prefix) })

	cfg := app.DefaultConfig()
	cfg.Addr, cfg.DataDir, cfg.Tokens = "127.0.0.1:0", t.TempDir(), apiToken+"="+tenant
	cfg.Store, cfg.StateTable = "dynamodb:"+keyTable, stateTable
	cfg.CommandsQueueURL, cfg.EventsQueueURL = queueBase+"-commands.fifo", queueBase+"-events"
	cfg.CreateResources, cfg.WADial, cfg.SendInterval = true, s.sim.Addr, 0
	var logs syncBuffer
	m := app.NewMain()
	m.Config, m.Logger, m.Stdout = cfg, slog.New(slog.NewJSONHandler(&logs, nil)), io.Discard
	if err := m.Run(ctx(t)); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	if n := strings.Count(logs.String(), `"msg":"resource_ready"`); n != 3 {
		t.Errorf("%d resource_ready lines, want 3 (state table, key table, queues)", n)
	}

	api := newClient(m.URL(), apiToken)
	local := &stack{ddb: s.ddb, sqs: s.sqs, sim: s.sim, api: api, logins: s.logins, state: statedb.New(s.ddb, stateTable)}
	local.link(t, "desk", alice)
	text := "all in one on DynamoDB " + core.NewID()[:8]
	sent := api.Send(t, "desk", bob, text)
	waitReceived(t, s, bob, []string{sent.ID})
	replyID, err := s.sim.Control.SendMessage(ctx(t), bob, alice, "reply "+core.NewID()[:8])
	if err != nil {
		t.Fatal(err)
	}
	apitest.Eventually(t, eventTimeout, "the reply in the state table", func() (bool, string) {
		_, err := local.state.GetMessage(ctx(t), core.SessionKey{Tenant: tenant, ID: "desk"}, replyID)
		return err == nil, "not yet"
	})
	if msg := api.Message(t, "desk", replyID); msg.Direction != core.DirectionIn {
		t.Errorf("the reply through the API: %+v", msg)
	}
}

// setAWSEnv points this process's AWS SDK at the emulators only (for an in-process
// connector): static test credentials, no shared configuration or instance metadata.
func setAWSEnv(t testing.TB, s *stack) {
	t.Helper()
	for _, kv := range s.awsEnv {
		k, v, _ := strings.Cut(kv, "=")
		if k != "HOME" {
			t.Setenv(k, v)
		}
	}
}

// deleteResources deletes tables and the queues CreateQueues made for prefix.
func deleteResources(s *stack, tables []string, prefix string) {
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for _, table := range tables {
		_, _ = s.ddb.DeleteTable(c, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	}
	for _, name := range []string{prefix + "-commands.fifo", prefix + "-commands-dlq.fifo", prefix + "-events", prefix + "-events-dlq"} {
		if out, err := s.sqs.GetQueueUrl(c, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
			_, _ = s.sqs.DeleteQueue(c, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
		}
	}
}
