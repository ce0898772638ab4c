package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/functions/lambdaapi"
	"github.com/wagate/wagate/functions/lambdaevents"
)

// Environment variables devapi reads besides the functions' own (lambdaapi and
// lambdaevents) and the AWS SDK's.
const (
	EnvAddr            = "WAGATE_ADDR"
	EnvTokens          = "WAGATE_TOKENS"
	EnvCreateResources = "WAGATE_CREATE_RESOURCES"
)

// Config is devapi's configuration: flags over the environment.
type Config struct {
	// Addr is the loopback address of the API and the admin page (WAGATE_ADDR, -addr).
	Addr string
	// Template is the SAM template to route by (-template); found upward from the
	// working folder when empty.
	Template string
	// StateTable, CommandsQueueURL and EventsQueueURL are the split deployment's
	// resources (WAGATE_STATE_TABLE, WAGATE_COMMANDS_QUEUE_URL, WAGATE_EVENTS_QUEUE_URL).
	// Without EventsQueueURL no events are consumed.
	StateTable       string
	CommandsQueueURL string
	EventsQueueURL   string
	// Tokens are the dev tokens, "token=tenant,..." (WAGATE_TOKENS); each stands for a
	// JWT whose tenant claim is that tenant. Empty: one token for tenant "default" is
	// generated at start.
	Tokens string
	// TenantClaim names the claim the API functions read the tenant from (TENANT_CLAIM).
	TenantClaim string
	// WebhookSecret keys the webhook signatures (WAGATE_WEBHOOK_SECRET); required with
	// EventsQueueURL.
	WebhookSecret string
	// CreateResources creates the state table and the queues if missing
	// (WAGATE_CREATE_RESOURCES=1).
	CreateResources bool
	// RIE is the aws-lambda-rie binary (-rie). Set, every function runs as its real
	// bootstrap from Bootstraps (-bootstraps) under the emulator, RIEConcurrency
	// (-rie-concurrency) emulators per function; unset, the functions run in process.
	RIE            string
	Bootstraps     string
	RIEConcurrency int
	// WebhookRetryBase is the events function's first retry delay (-webhook-retry-base,
	// in-process functions only); 0 keeps the production default.
	WebhookRetryBase time.Duration
	// EventPollers is how many event batches are handled at once (-event-pollers).
	EventPollers int
	// NoPage turns the admin page off (-no-page).
	NoPage bool
}

// ParseConfig reads the configuration from the command line and the environment.
// The error lists every problem.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Config{
		Addr:             strings.TrimSpace(getenv(EnvAddr)),
		StateTable:       strings.TrimSpace(getenv(lambdaapi.EnvStateTable)),
		CommandsQueueURL: strings.TrimSpace(getenv(lambdaapi.EnvCommandsQueueURL)),
		EventsQueueURL:   strings.TrimSpace(getenv(lambdaevents.EnvEventsQueueURL)),
		Tokens:           strings.TrimSpace(getenv(EnvTokens)),
		TenantClaim:      strings.TrimSpace(getenv(lambdaapi.EnvTenantClaim)),
		WebhookSecret:    getenv(lambdaevents.EnvWebhookSecret),
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.TenantClaim == "" {
		c.TenantClaim = lambdaapi.DefaultTenantClaim
	}
	var problems []string
	switch v := strings.TrimSpace(getenv(EnvCreateResources)); v {
	case "", "0", "false":
	case "1", "true":
		c.CreateResources = true
	default:
		problems = append(problems, fmt.Sprintf("%s must be 1 or 0, not %q", EnvCreateResources, v))
	}
	fs := flag.NewFlagSet("devapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", c.Addr, "loopback `host:port` of the API and the admin page")
	fs.StringVar(&c.Template, "template", "", "SAM `template` to route by (default: template.yaml here or above)")
	fs.StringVar(&c.RIE, "rie", "", "run the functions' bootstraps under this aws-lambda-rie `binary`")
	fs.StringVar(&c.Bootstraps, "bootstraps", "", "`folder` with <function>/bootstrap (with -rie)")
	fs.IntVar(&c.RIEConcurrency, "rie-concurrency", 1, "execution environments per function (with -rie)")
	fs.DurationVar(&c.WebhookRetryBase, "webhook-retry-base", 0, "first retry delay of a failed webhook (in-process functions; 0: the production 30s)")
	fs.IntVar(&c.EventPollers, "event-pollers", 2, "event batches handled at once")
	fs.BoolVar(&c.NoPage, "no-page", false, "do not serve the admin page")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if err := checkLoopback(c.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("%s %q: %v (devapi is for development only)", EnvAddr, c.Addr, err))
	}
	if c.StateTable == "" {
		problems = append(problems, lambdaapi.EnvStateTable+" is not set (the DynamoDB state table)")
	}
	if !isQueueURL(c.CommandsQueueURL) || !strings.HasSuffix(c.CommandsQueueURL, ".fifo") {
		problems = append(problems, lambdaapi.EnvCommandsQueueURL+" must be the URL of the FIFO commands queue")
	}
	if c.EventsQueueURL != "" && !isQueueURL(c.EventsQueueURL) {
		problems = append(problems, lambdaevents.EnvEventsQueueURL+" must be a queue URL")
	}
	if c.EventsQueueURL != "" && len(c.WebhookSecret) < 16 {
		problems = append(problems, lambdaevents.EnvWebhookSecret+" must be at least 16 bytes to consume events")
	}
	if c.Tokens != "" {
		if _, err := apigw.ParseTokens(c.Tokens); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", EnvTokens, err))
		}
	}
	if c.RIE != "" && c.Bootstraps == "" {
		problems = append(problems, "-rie needs -bootstraps")
	}
	if c.RIE != "" && c.WebhookRetryBase > 0 {
		problems = append(problems, "-webhook-retry-base applies to in-process functions only (not with -rie)")
	}
	if c.CreateResources {
		if _, err := queuePrefix(c.CommandsQueueURL, c.EventsQueueURL); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if c.RIEConcurrency < 1 || c.EventPollers < 1 {
		problems = append(problems, "-rie-concurrency and -event-pollers must be at least 1")
	}
	if len(problems) > 0 {
		return Config{}, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

func isQueueURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(u.Path) > 1
}

// queuePrefix returns the name prefix that sqsbus.CreateQueues turns into the given
// queues: <prefix>-commands.fifo and <prefix>-events.
func queuePrefix(commandsURL, eventsURL string) (string, error) {
	name := path.Base(commandsURL)
	prefix, ok := strings.CutSuffix(name, "-commands.fifo")
	if !ok || prefix == "" {
		return "", fmt.Errorf("%s=1 needs a commands queue named <prefix>-commands.fifo, not %q", EnvCreateResources, name)
	}
	if eventsURL != "" && path.Base(eventsURL) != prefix+"-events" {
		return "", fmt.Errorf("%s=1 needs the events queue named %s-events, not %q", EnvCreateResources, prefix, path.Base(eventsURL))
	}
	return prefix, nil
}

// checkLoopback accepts host:port with a loopback address or localhost.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("want a port number")
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("must be a loopback address (127.0.0.1, ::1 or localhost)")
}
