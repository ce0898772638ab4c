package lambdaevents

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/metrics"
	"github.com/wagate/wagate/functions/internal/awsenv"
	"github.com/wagate/wagate/functions/webhook"
)

// Environment variables the events function reads.
const (
	EnvStateTable          = "WAGATE_STATE_TABLE"
	EnvEventsQueueURL      = "WAGATE_EVENTS_QUEUE_URL"
	EnvWebhookSecret       = "WAGATE_WEBHOOK_SECRET"
	EnvWebhookAllowPrivate = "WAGATE_WEBHOOK_ALLOW_PRIVATE"
)

// Config is what the events function needs from its environment.
type Config struct {
	// StateTable is the DynamoDB state table (WAGATE_STATE_TABLE, required).
	StateTable string
	// EventsQueueURL is the events queue (WAGATE_EVENTS_QUEUE_URL, optional): with it
	// failed deliveries are retried with backoff.
	EventsQueueURL string
	// WebhookSecret keys the signatures (WAGATE_WEBHOOK_SECRET, required, at least
	// webhook.MinSecretLen bytes).
	WebhookSecret []byte
	// AllowPrivate permits non-public webhook addresses (WAGATE_WEBHOOK_ALLOW_PRIVATE=1;
	// tests and local use only).
	AllowPrivate bool
}

// ConfigFromEnv reads the configuration through getenv. The error names every
// missing or bad variable and never contains the secret.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		StateTable:     strings.TrimSpace(getenv(EnvStateTable)),
		EventsQueueURL: strings.TrimSpace(getenv(EnvEventsQueueURL)),
		WebhookSecret:  []byte(getenv(EnvWebhookSecret)),
	}
	var problems []string
	if c.StateTable == "" {
		problems = append(problems, EnvStateTable+" is not set (the DynamoDB state table name)")
	}
	if len(c.WebhookSecret) < webhook.MinSecretLen {
		problems = append(problems, fmt.Sprintf("%s must be set to a secret of at least %d bytes", EnvWebhookSecret, webhook.MinSecretLen))
	}
	switch v := strings.TrimSpace(getenv(EnvWebhookAllowPrivate)); v {
	case "", "0", "false":
	case "1", "true":
		c.AllowPrivate = true
	default:
		problems = append(problems, fmt.Sprintf("%s must be 1 or 0, not %q", EnvWebhookAllowPrivate, v))
	}
	if c.EventsQueueURL != "" && !strings.HasPrefix(c.EventsQueueURL, "https://") && !strings.HasPrefix(c.EventsQueueURL, "http://") {
		problems = append(problems, EnvEventsQueueURL+" must be a queue URL (https://...)")
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// Main runs the events function: configuration from the environment, the state
// table for the sessions' webhook URLs, https-only deliveries. A bad configuration
// stops the process with a log line saying what to fix. Webhook deliveries and
// failures are written as EMF metrics to standard output after each invocation
// (WAGATE_METRICS=off turns them off).
func Main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "events-consumer")
	mode, err := metrics.ModeFromEnv(os.LookupEnv)
	var emf *metrics.EMF
	var m metrics.Emitter = metrics.Nop{}
	if err == nil && mode == metrics.ModeEMF {
		emf = metrics.NewEMF(os.Stdout, nil)
		m = emf
	}
	var c *Consumer
	if err == nil {
		c, err = build(os.Getenv, log, m)
	}
	if err != nil {
		log.Error("start_failed", "event", "start_failed", "outcome", "fail", "error", err.Error())
		os.Exit(1)
	}
	if emf == nil {
		lambda.Start(c.Handle)
		return
	}
	lambda.Start(flushAfter(c.Handle, emf, log))
}

// flushAfter writes the metrics of each invocation before it returns: a Lambda
// sandbox may be frozen right after, so nothing may wait for a timer.
func flushAfter(h func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), emf *metrics.EMF, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp, err := h(ctx, ev)
		if ferr := emf.Flush(); ferr != nil {
			log.Warn("metrics_flush_failed", "event", "metrics_flush_failed", "outcome", "fail", "error", ferr.Error())
		}
		return resp, err
	}
}

func build(getenv func(string) string, log *slog.Logger, m metrics.Emitter) (*Consumer, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, err
	}
	d, err := webhook.New(webhook.Options{Secret: cfg.WebhookSecret, AllowPrivate: cfg.AllowPrivate})
	if err != nil {
		return nil, err
	}
	c := &Consumer{
		Notifier: &webhook.Notifier{Sessions: dynamo.New(awsenv.DynamoDB(awsCfg, getenv), cfg.StateTable), Sender: d, Metrics: m},
		Logger:   log,
	}
	if cfg.EventsQueueURL != "" {
		c.Visibility, c.QueueURL = awsenv.SQS(awsCfg, getenv), cfg.EventsQueueURL
	}
	return c, nil
}
