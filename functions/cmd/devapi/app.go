package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/sqsbus"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/functions/internal/awsenv"
	"github.com/wagate/wagate/functions/lambdaapi"
	"github.com/wagate/wagate/functions/lambdaevents"
	"github.com/wagate/wagate/web"
)

// defaultTenant is the tenant of the generated token.
const defaultTenant = "default"

// Main is one devapi: the gateway on a loopback listener, the functions (in process
// or under the emulator) and the events queue's poller. Set the fields, call Run,
// then Close.
type Main struct {
	Config Config
	// Getenv reads the environment (os.Getenv in main).
	Getenv func(string) string
	// Logs receives the functions' log lines; Logger devapi's own.
	Logs   io.Writer
	Logger *slog.Logger

	ln        net.Listener
	srv       *http.Server
	rie       *RIEInvoker
	generated string
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	served    chan error
}

// Run loads the template, creates the resources if asked, starts the functions, the
// events poller and the HTTP server, and returns once all of them run. Call Close
// even when Run fails.
func (m *Main) Run(ctx context.Context) error {
	if m.Logs == nil {
		m.Logs = io.Discard
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	c := m.Config
	tp := c.Template
	if tp == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("working folder: %w", err)
		}
		if tp, err = FindTemplate(wd); err != nil {
			return err
		}
	}
	tmpl, err := LoadTemplate(tp)
	if err != nil {
		return err
	}
	awsCfg, err := awsenv.Config(m.Getenv)
	if err != nil {
		return err
	}
	queue := awsenv.SQS(awsCfg, m.Getenv)
	if c.CreateResources {
		if err := m.createResources(ctx, awsenv.DynamoDB(awsCfg, m.Getenv), queue); err != nil {
			return err
		}
	}
	auth, err := m.auth()
	if err != nil {
		return err
	}
	supplied := map[string]string{
		lambdaapi.EnvStateTable:        c.StateTable,
		lambdaapi.EnvCommandsQueueURL:  c.CommandsQueueURL,
		lambdaapi.EnvTenantClaim:       c.TenantClaim,
		lambdaevents.EnvEventsQueueURL: c.EventsQueueURL,
		lambdaevents.EnvWebhookSecret:  c.WebhookSecret,
	}
	functions := tmpl.Functions
	if c.EventsQueueURL == "" {
		// Without the events queue the events function has nothing to consume and no
		// secret: leave it out.
		functions = map[string]Function{}
		for id, fn := range tmpl.Functions {
			if fn.Queue == nil {
				functions[id] = fn
			}
		}
	}
	var invoker Invoker
	if c.RIE != "" {
		m.rie, err = StartRIE(ctx, RIEOptions{Path: c.RIE, Bootstraps: c.Bootstraps, Concurrency: c.RIEConcurrency, Output: m.Logs},
			functions, func(fn Function) (map[string]string, error) { return FunctionEnv(fn, supplied, m.Getenv) })
		if err != nil {
			return err
		}
		invoker = m.rie
	} else {
		invoker, err = NewLocalInvoker(&Template{Functions: functions, Routes: tmpl.Routes}, supplied, m.Getenv,
			LocalOptions{WebhookRetryBase: c.WebhookRetryBase, Logs: m.Logs})
		if err != nil {
			return err
		}
	}
	gw := &Gateway{Template: tmpl, Invoker: invoker, Auth: auth, TenantClaim: c.TenantClaim, Logger: m.Logger}
	if !c.NoPage {
		gw.Page = web.Files()
	}

	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if c.EventsQueueURL != "" {
		for _, fn := range functions {
			if fn.Queue == nil {
				continue
			}
			esm := &ESM{Queue: queue, QueueURL: c.EventsQueueURL, Region: awsCfg.Region, Function: fn,
				Invoker: invoker, Pollers: c.EventPollers, Logger: m.Logger}
			if err := esm.Open(ctx); err != nil {
				return err
			}
			m.wg.Go(func() { esm.Run(runCtx) })
		}
	}

	m.ln, err = net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.srv = &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	m.served = make(chan error, 1)
	go func() { m.served <- m.srv.Serve(m.ln) }()
	m.Logger.Info("devapi_listening", "url", m.URL(), "functions", len(functions), "rie", c.RIE != "")
	return nil
}

// auth returns the dev token map, generating one token when none is configured.
func (m *Main) auth() (*apigw.TokenAuth, error) {
	spec := m.Config.Tokens
	if spec == "" {
		var b [24]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		m.generated = hex.EncodeToString(b[:])
		spec = m.generated + "=" + defaultTenant
	}
	auth, err := apigw.ParseTokens(spec)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return auth, nil
}

// createResources creates the state table and the queues if they do not exist.
func (m *Main) createResources(ctx context.Context, db dynamo.TableAPI, queue sqsbus.QueueAPI) error {
	if err := dynamo.CreateTable(ctx, db, m.Config.StateTable); err != nil {
		return err
	}
	prefix, err := queuePrefix(m.Config.CommandsQueueURL, m.Config.EventsQueueURL)
	if err != nil {
		return err
	}
	cmds, _, events, _, err := sqsbus.CreateQueues(ctx, queue, prefix, 0)
	if err != nil {
		return err
	}
	// SQS (and its emulator) names a queue by the exact URL it returned.
	if cmds != m.Config.CommandsQueueURL {
		return fmt.Errorf("the commands queue's URL is %s, not %s: set %s to it (devapi create-resources prints it)", cmds, m.Config.CommandsQueueURL, lambdaapi.EnvCommandsQueueURL)
	}
	if m.Config.EventsQueueURL != "" && events != m.Config.EventsQueueURL {
		return fmt.Errorf("the events queue's URL is %s, not %s: set %s to it (devapi create-resources prints it)", events, m.Config.EventsQueueURL, lambdaevents.EnvEventsQueueURL)
	}
	m.Logger.Info("resources_ready", "table", m.Config.StateTable, "commands", cmds, "events", events)
	return nil
}

// URL returns the base URL devapi serves, once Run has returned.
func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	return "http://" + m.ln.Addr().String()
}

// GeneratedToken returns the token generated for tenant "default", or "" when
// WAGATE_TOKENS was set.
func (m *Main) GeneratedToken() string { return m.generated }

// Close stops serving, waits for requests and event batches in flight (bounded) and
// ends the emulators.
func (m *Main) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if m.srv != nil {
		if err := m.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down http: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
		m.srv = nil
	}
	if m.cancel != nil {
		m.cancel()
		done := make(chan struct{})
		go func() { m.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, errors.New("event batches still running at shutdown"))
		}
		m.cancel = nil
	}
	if m.rie != nil {
		m.rie.Close()
		m.rie = nil
	}
	return errors.Join(errs...)
}
