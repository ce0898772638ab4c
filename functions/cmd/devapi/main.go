// Command devapi runs the split deployment's HTTP API and events function on one
// machine, for development and end-to-end tests only. It stands in for API Gateway
// and Lambda, not for the functions: every request becomes a real API Gateway HTTP
// API (payload format 2.0) event, routed by the routes of template.yaml to the
// function that owns it, with the claims a JWT authorizer would pass, and the
// function's answer becomes the HTTP response. The events queue is polled as Lambda's
// event source mapping does and each batch goes to the events function as an SQS
// event. The functions keep their state in DynamoDB and talk to the connector over
// SQS, as in AWS: point AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS at the
// emulators (scripts/emulators.sh).
//
//	devapi create-resources [-table wagate-state] [-prefix wagate]
//	devapi [-addr 127.0.0.1:8080] [-template template.yaml]
//	       [-rie aws-lambda-rie -bootstraps bin/lambda-dev [-rie-concurrency N]]
//	       [-webhook-retry-base 1s] [-event-pollers 2] [-no-page]
//
// By default the functions run in this process, built exactly as their mains build
// them and invoked through the same JSON wrapper as lambda.Start, one invocation at a
// time per instance as in Lambda (concurrent requests get more instances). With -rie each
// function's real bootstrap runs under the AWS Lambda Runtime Interface Emulator, one
// process group per execution environment.
//
// Dev tokens replace the JWTs: WAGATE_TOKENS="token=tenant,..." (one token for tenant
// "default" is generated and printed when unset). The admin page is served at "/".
// GET /v1/events does not exist in the split deployment (template.yaml has no such
// route; webhooks carry events there): it answers 404, and the page polls instead.
//
// `devapi create-resources` creates the state table and the queues on the emulators
// and prints their names and URLs as VAR=value lines for the other processes.
//
// devapi listens on loopback only and is never deployed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// closeTimeout bounds the shutdown of devapi.
const closeTimeout = 20 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devapi:", err)
		os.Exit(1)
	}
}

// run starts devapi, serves until ctx is done and shuts down.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "create-resources" {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		return createResources(cctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := ParseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Getenv: getenv, Logs: stdout,
		Logger: slog.New(slog.NewJSONHandler(stdout, nil)).With("component", "devapi")}
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = m.Run(startCtx)
	cancel()
	if err != nil {
		return errors.Join(err, m.Close())
	}
	fmt.Fprintf(stderr, "devapi: API and admin page on %s\n", m.URL())
	if t := m.GeneratedToken(); t != "" {
		fmt.Fprintf(stderr, "devapi: generated token for tenant %q: %s/#token=%s\n", defaultTenant, m.URL(), t)
	}
	<-ctx.Done()
	return m.Close()
}
