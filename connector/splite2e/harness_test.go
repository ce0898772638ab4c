//go:build unix

package splite2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.mau.fi/whatsmeow"

	keystore "github.com/wagate/wagate/connector/dynamo"
	"github.com/wagate/wagate/connector/internal/proctest"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/awstest"
	statedb "github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/sqsbus"
	"github.com/wagate/wagate/wasim/simtest"
)

// Bounds of the waits: generous, so a loaded machine never fails a test that works;
// they bound how long a broken build takes to fail.
const (
	readyTimeout = 90 * time.Second // a child process is up
	linkTimeout  = 60 * time.Second // QR shown, scanned, connected
	eventTimeout = 45 * time.Second // a message, status or webhook arrives
	setupTimeout = 2 * time.Minute  // tables and queues exist
	opTimeout    = 30 * time.Second // one call to an emulator or the simulator
	buildTimeout = 10 * time.Minute // building the binaries
	testLease    = 3 * time.Second  // WAGATE_LEASE_DURATION of the connectors
	// maxReceives is the queues' maxReceiveCount: a failing webhook reaches the events
	// dead-letter queue after this many attempts.
	maxReceives = 3
	// webhookRetryBase is devapi's first retry delay of a failed webhook.
	webhookRetryBase = time.Second
)

// Dev tokens of devapi: each stands for a JWT whose tenant claim is the tenant.
const (
	tokenA  = "splite2e-token-a-0123456789"
	tenantA = "acme"
	tokenB  = "splite2e-token-b-0123456789"
	tenantB = "globex"
)

// bins are the binaries built once for the package's tests.
type bins struct {
	root      string // the repository
	dir       string
	connector string
	devapi    string

	lambdaOnce sync.Once
	lambdaDir  string // <name>/bootstrap of every function, for the emulator
	lambdaErr  error
}

var built bins

// TestMain builds the connector and devapi once (with the race detector when the
// tests have it) and makes this process's whatsmeow trust the simulator.
func TestMain(m *testing.M) {
	whatsmeow.WACertPubKey = simtest.RootKey()
	wa.ConfigureDeviceProps()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "splite2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "splite2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	built.dir = dir
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		fmt.Fprintln(os.Stderr, "splite2e: the tests run inside the repository's go.work:", err)
		return 1
	}
	built.root = filepath.Dir(strings.TrimSpace(string(out)))
	built.connector = filepath.Join(dir, "connector")
	built.devapi = filepath.Join(dir, "devapi")
	for bin, pkg := range map[string]string{
		built.connector: "github.com/wagate/wagate/connector/cmd/connector",
		built.devapi:    "github.com/wagate/wagate/functions/cmd/devapi",
	} {
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		if err := goBuild(append(args, pkg), nil); err != nil {
			fmt.Fprintln(os.Stderr, "splite2e:", err)
			return 1
		}
	}
	return m.Run()
}

// goBuild runs `go args...` bounded by buildTimeout.
func goBuild(args []string, env []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(append(os.Environ(), "GOFLAGS=-buildvcs=false"), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// lambdaBootstraps builds every function's bootstrap for this machine (the emulator
// runs them here, not on arm64), once.
func lambdaBootstraps(t testing.TB) string {
	t.Helper()
	built.lambdaOnce.Do(func() {
		built.lambdaDir = filepath.Join(built.dir, "lambda")
		for _, name := range []string{"api-sessions", "api-qr", "api-messages", "api-diagnostics", "events-consumer"} {
			out := filepath.Join(built.lambdaDir, name, "bootstrap")
			err := goBuild([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-o", out,
				"github.com/wagate/wagate/functions/cmd/" + name}, []string{"CGO_ENABLED=0"})
			if err != nil {
				built.lambdaErr = err
				return
			}
		}
	})
	if built.lambdaErr != nil {
		t.Fatal(built.lambdaErr)
	}
	return built.lambdaDir
}

// rieBinary returns the AWS Lambda Runtime Interface Emulator that `make lambda-rie`
// installs into .cache/bin.
func rieBinary(t testing.TB) string {
	t.Helper()
	p := filepath.Join(built.root, ".cache", "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv(awstest.EnvSkip) == "1" {
			t.Skipf("no %s and %s=1: skipping the test of the real bootstraps", p, awstest.EnvSkip)
		}
		t.Fatalf("the Lambda runtime interface emulator is not installed (%v): run `make lambda-rie`", err)
	}
	return p
}

// stack is one deployment's worth of AWS resources on the emulators, the simulator in
// this process, a webhook receiver, devapi and the connectors.
type stack struct {
	sqs                     *sqs.Client
	stateTable, keyTable    string
	commandsURL, dlqURL     string
	eventsURL, eventsDLQURL string
	sim                     *simtest.Sim
	hook                    *receiver
	dir                     string
	awsEnv                  []string
	devapi                  *proc
	api                     *client // tenant acme
	other                   *client // tenant globex
}

// newStack creates fresh tables and queues (deleted at cleanup), starts the
// simulator and the webhook receiver, and starts devapi: in process functions, or
// with rie the real bootstraps under the emulator. It fails at once when the
// emulator endpoints are not set.
func newStack(t testing.TB, rie bool) *stack {
	t.Helper()
	ddb := awstest.DynamoDB(t)
	s := &stack{sqs: awstest.SQS(t), dir: t.TempDir()}
	s.awsEnv = awstest.ChildEnv(t, s.dir)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s.stateTable, s.keyTable = awstest.Name("split-state-"), awstest.Name("split-keys-")
	if err := statedb.CreateTable(ctx, ddb, s.stateTable); err != nil {
		t.Fatalf("create state table: %v", err)
	}
	if err := keystore.CreateTable(ctx, ddb, s.keyTable); err != nil {
		t.Fatalf("create key table: %v", err)
	}
	var err error
	s.commandsURL, s.dlqURL, s.eventsURL, s.eventsDLQURL, err = sqsbus.CreateQueues(ctx, s.sqs, awstest.Name("split-"), maxReceives)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		for _, table := range []string{s.stateTable, s.keyTable} {
			_, _ = ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		}
		for _, q := range []string{s.commandsURL, s.dlqURL, s.eventsURL, s.eventsDLQURL} {
			_, _ = s.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(q)})
		}
	})
	s.sim = simtest.Start(t)
	s.hook = newReceiver(t, s.dir)
	s.startDevapi(t, rie)
	return s
}

// startDevapi starts devapi on a free loopback port and waits until it listens.
func (s *stack) startDevapi(t testing.TB, rie bool) {
	t.Helper()
	env := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"WAGATE_ADDR=127.0.0.1:0",
		"WAGATE_STATE_TABLE=" + s.stateTable,
		"WAGATE_COMMANDS_QUEUE_URL=" + s.commandsURL,
		"WAGATE_EVENTS_QUEUE_URL=" + s.eventsURL,
		"WAGATE_TOKENS=" + tokenA + "=" + tenantA + "," + tokenB + "=" + tenantB,
		"WAGATE_WEBHOOK_SECRET=" + webhookSecret,
		"WAGATE_WEBHOOK_ALLOW_PRIVATE=1",
		"SSL_CERT_FILE=" + s.hook.certFile,
	}, s.awsEnv...)
	args := []string{"-template", filepath.Join(built.root, "template.yaml")}
	if rie {
		args = append(args, "-rie", rieBinary(t), "-bootstraps", lambdaBootstraps(t), "-rie-concurrency", "2")
	} else {
		args = append(args, "-webhook-retry-base", webhookRetryBase.String())
	}
	s.devapi = proctest.Start(t, "devapi", built.devapi, env, args...)
	url := s.devapi.WaitLog(t, readyTimeout, "devapi_listening", nil).Str("url")
	s.api, s.other = newClient(url, tokenA), newClient(url, tokenB)
}

// startConnector starts a connector process named id on the stack and waits until it
// is ready.
func (s *stack) startConnector(t testing.TB, id string) *proc {
	t.Helper()
	env := append([]string{
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
	p := proctest.Start(t, "connector "+id, built.connector, env)
	p.WaitLog(t, readyTimeout, "connector_ready", nil)
	return p
}

// phone creates a fake phone on the simulator and returns its number.
func (s *stack) phone(t testing.TB, number, name string) string {
	t.Helper()
	if _, err := s.sim.Control.CreatePhone(ctx(t), number, name); err != nil {
		t.Fatalf("create phone %s: %v", number, err)
	}
	return number
}

// link creates a session with webhook, connects it and scans its QR code with phone;
// it returns the connected session.
func (s *stack) link(t testing.TB, id, phone, webhook string) core.Session {
	t.Helper()
	s.api.createSession(t, id, webhook)
	s.api.MustJSON(t, "POST", "/v1/sessions/"+id+"/connect", nil, 202, nil)
	qr := s.api.qrCode(t, id)
	if _, err := s.sim.Control.Scan(ctx(t), phone, qr.Code); err != nil {
		t.Fatalf("phone %s scans the QR of %s: %v", phone, id, err)
	}
	return s.api.waitStatus(t, id, core.StatusConnected, linkTimeout)
}

// deviceConnected reports whether the simulator has a live connection for jid.
func (s *stack) deviceConnected(t testing.TB, jid string) (connected, exists bool) {
	t.Helper()
	devs, err := s.sim.Control.Devices(ctx(t))
	if err != nil {
		t.Fatalf("list simulator devices: %v", err)
	}
	for _, d := range devs {
		if d.JID == jid {
			return d.Connected, true
		}
	}
	return false, false
}
