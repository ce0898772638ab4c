// Command connector is the connector process of the split deployment (the ECS task,
// or a VPS on the tables and queues of a SAM stack): it holds the WhatsApp sessions,
// takes commands from the SQS commands queue, publishes events to the events queue,
// and keeps state and leases in the DynamoDB state table and the whatsmeow keys in
// the key store. It serves no API; the Lambda functions do.
//
//	connector              run (configured by WAGATE_* and AWS_* environment variables)
//	connector healthcheck  exit 0 when the connector's health endpoint
//	                       (WAGATE_HEALTH_ADDR, GET /healthz) answers 200, else 1
//
// SIGTERM or SIGINT stops taking commands, disconnects every session cleanly and
// releases its lease within 25 seconds.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wagate/wagate/connector/app"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// healthcheckTimeout bounds the healthcheck subcommand (the image's check allows 5 s).
const healthcheckTimeout = 4 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return serve(stderr)
	case "healthcheck":
		ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
		defer cancel()
		addr := app.DefaultConfig().HealthAddr
		if v, ok := os.LookupEnv("WAGATE_HEALTH_ADDR"); ok && v != "" {
			addr = v
		}
		if err := app.ConnectorHealthcheck(ctx, addr); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: connector [serve|healthcheck]")
		return 0
	}
	fmt.Fprintf(stderr, "connector: unknown command %q; usage: connector [serve|healthcheck]\n", cmd)
	return 2
}

// serve runs the connector until SIGINT or SIGTERM.
func serve(stderr io.Writer) int {
	cfg, err := app.FromEnv(os.LookupEnv)
	if err == nil {
		err = cfg.ValidateConnector()
	}
	if err != nil {
		fmt.Fprintf(stderr, "connector: %v\n", err)
		return 2
	}
	log, err := app.NewLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "connector: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := app.PrepareProcess(ctx, cfg); err != nil {
		log.Error("connector_start_failed", "event", "connector_start_failed", "outcome", "fail", "error", err)
		return 1
	}

	c := app.NewConnector()
	c.Config, c.Logger, c.Version = cfg, log, version
	if err := c.Run(ctx); err != nil {
		log.Error("connector_start_failed", "event", "connector_start_failed", "outcome", "fail", "error", err)
		return 1
	}
	<-ctx.Done()
	stop() // a second signal kills the process at once
	if err := c.Close(); err != nil {
		log.Error("connector_stop_failed", "event", "connector_stop_failed", "outcome", "fail", "error", err)
		return 1
	}
	return 0
}
