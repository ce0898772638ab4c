package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	keystore "github.com/wagate/wagate/connector/dynamo"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	statedb "github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/sessioncache"
	"github.com/wagate/wagate/core/sqlite"
	"github.com/wagate/wagate/core/sqsbus"
)

// stateStore is what a process keeps in its state store: sessions, messages,
// results, heartbeats and session leases.
type stateStore interface {
	core.State
	core.LeaseStore
}

// localState is the SQLite state of the local binary, with its sessions cached.
type localState struct {
	*sessioncache.State
	core.LeaseStore
}

// adapters are the state store, the whatsmeow key store and the SQS bus that the
// configuration selects.
type adapters struct {
	state   stateStore
	devices wa.DeviceStore
	// keys is the DynamoDB key store (WAGATE_STORE=dynamodb:<table>), else nil.
	keys *keystore.Container
	// stateCalls counts the calls to the state table (WAGATE_STATE_TABLE), else nil.
	stateCalls *CallCounter
	// bus is the SQS bus (WAGATE_COMMANDS_QUEUE_URL and WAGATE_EVENTS_QUEUE_URL), else nil.
	bus *sqsbus.Bus
	// closers close what was opened, in reverse order.
	closers []func() error
}

// openAdapters opens the state store, the key store and the bus that cfg selects,
// creating missing tables and queues first when cfg.CreateResources is set. On error
// it closes what it opened.
func openAdapters(ctx context.Context, cfg Config, log *slog.Logger) (a *adapters, err error) {
	a = &adapters{}
	defer func() {
		if err != nil {
			_ = a.close()
			a = nil
		}
	}()
	var ddb *dynamodb.Client
	var sq *sqs.Client
	if cfg.UsesAWS() {
		awsCfg, err := loadAWSConfig(ctx)
		if err != nil {
			return nil, err
		}
		ddb = dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
			// DynamoDB Local's error replies carry no CRC32 header.
			if o.BaseEndpoint != nil {
				o.DisableValidateResponseChecksum = true
			}
		})
		sq = sqs.NewFromConfig(awsCfg)
		if cfg.CreateResources {
			if cfg, err = createResources(ctx, cfg, ddb, sq, log); err != nil {
				return nil, fmt.Errorf("WAGATE_CREATE_RESOURCES: %w", err)
			}
		}
	}

	if cfg.StateTable != "" {
		a.stateCalls = NewCallCounter(ddb)
		a.state = statedb.New(a.stateCalls, cfg.StateTable)
	} else {
		if err := privateFile(cfg.StatePath()); err != nil {
			return nil, fmt.Errorf("open state: %w", err)
		}
		db, err := sqlite.Open(ctx, cfg.StatePath())
		if err != nil {
			return nil, fmt.Errorf("open state %s: %w", cfg.StatePath(), err)
		}
		// This process locked the data folder: it is the only writer of the state,
		// so session reads can come from memory.
		a.state = localState{State: sessioncache.New(db), LeaseStore: db}
		a.closers = append(a.closers, db.Close)
	}

	kind, target := cfg.StoreKind()
	switch kind {
	case StoreSQLite:
		if err := privateFile(target); err != nil {
			return nil, fmt.Errorf("WAGATE_STORE: %w", err)
		}
		c, err := wa.OpenStore(ctx, target, log.With("component", "store"))
		if err != nil {
			return nil, fmt.Errorf("WAGATE_STORE: %w", err)
		}
		a.devices = c
		a.closers = append(a.closers, c.Close)
	case StoreDynamoDB:
		a.keys = keystore.New(ddb, target, wa.NewLogger(log.With("component", "store"), false).Sub("store"))
		// One read tells at start whether the table exists and may be read.
		if _, err := a.keys.GetAllDevices(ctx); err != nil {
			return nil, fmt.Errorf("WAGATE_STORE: dynamodb:%s: %w", target, err)
		}
		a.devices = a.keys
	}

	if cfg.CommandsQueueURL != "" {
		client := drainingReceives{Client: sq, maxWait: commandsWaitTime + 10*time.Second}
		a.bus = sqsbus.New(client, cfg.CommandsQueueURL, cfg.EventsQueueURL, log.With("component", "bus"))
		a.bus.WaitTime = commandsWaitTime
	}
	return a, nil
}

// close closes what openAdapters opened.
func (a *adapters) close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}

// usage returns the DynamoDB calls and capacity units counted so far on the key
// table and on the state table (nil for a store that is not on DynamoDB).
func (a *adapters) usage() (keys, state keystore.Stats) {
	if a.keys != nil {
		keys = a.keys.Stats()
	}
	if a.stateCalls != nil {
		state = a.stateCalls.Stats()
	}
	return keys, state
}

// logUsage logs the DynamoDB usage of the process's lifetime, one line per table.
func (a *adapters) logUsage(log *slog.Logger) {
	keys, state := a.usage()
	for table, st := range map[string]keystore.Stats{"keys": keys, "state": state} {
		if st == nil {
			continue
		}
		var reads, writes float64
		for _, op := range st {
			reads += op.ReadUnits
			writes += op.WriteUnits
		}
		log.Info("dynamodb_usage", "event", "dynamodb_usage", "table", table, "calls", st.Calls(), "read_units", reads, "write_units", writes)
	}
}

// loadAWSConfig loads the SDK configuration from the environment (AWS_REGION,
// AWS_ENDPOINT_URL_*, the credentials chain: the ECS task role in AWS, static test
// credentials against the emulators). A missing region stops the process.
func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("AWS_REGION: not set: the DynamoDB and SQS adapters need the region of the tables and queues")
	}
	return cfg, nil
}

// createResources creates the tables and queues cfg names if they are missing, with
// the schema and attributes of template.yaml, and returns cfg with the queue URLs
// the queue service answered. Development and tests only: in AWS the stack owns
// them.
func createResources(ctx context.Context, cfg Config, ddb *dynamodb.Client, sq *sqs.Client, log *slog.Logger) (Config, error) {
	if cfg.StateTable != "" {
		if err := statedb.CreateTable(ctx, ddb, cfg.StateTable); err != nil {
			return cfg, fmt.Errorf("state table: %w", err)
		}
		log.Info("resource_ready", "event", "resource_ready", "kind", "state table", "name", cfg.StateTable)
	}
	if kind, table := cfg.StoreKind(); kind == StoreDynamoDB {
		if err := keystore.CreateTable(ctx, ddb, table); err != nil {
			return cfg, fmt.Errorf("key table: %w", err)
		}
		log.Info("resource_ready", "event", "resource_ready", "kind", "key table", "name", table)
	}
	if cfg.CommandsQueueURL == "" {
		return cfg, nil
	}
	prefix, ok := queuePrefix(cfg.CommandsQueueURL, cfg.EventsQueueURL)
	if !ok {
		return cfg, errors.New("to create the queues, name them <name>-commands.fifo and <name>-events " +
			"in WAGATE_COMMANDS_QUEUE_URL and WAGATE_EVENTS_QUEUE_URL")
	}
	commands, _, events, _, err := sqsbus.CreateQueues(ctx, sq, prefix, 0)
	if err != nil {
		return cfg, fmt.Errorf("queues: %w", err)
	}
	if commands != cfg.CommandsQueueURL || events != cfg.EventsQueueURL {
		log.Warn("queue_url_differs", "event", "queue_url_differs", "configured", cfg.CommandsQueueURL, "created", commands)
	}
	cfg.CommandsQueueURL, cfg.EventsQueueURL = commands, events
	log.Info("resource_ready", "event", "resource_ready", "kind", "queues", "commands", commands, "events", events)
	return cfg, nil
}

// queuePrefix returns <name> when the queues are <name>-commands.fifo and
// <name>-events, the names CreateQueues gives them.
func queuePrefix(commandsURL, eventsURL string) (string, bool) {
	c, e := queueName(commandsURL), queueName(eventsURL)
	prefix, ok := strings.CutSuffix(c, "-commands.fifo")
	if !ok || prefix == "" || e != prefix+"-events" {
		return "", false
	}
	return prefix, true
}
