package app

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Bounds of WAGATE_LEASE_DURATION: shorter leases turn a slow DynamoDB call into a
// lost session, longer ones make a crashed connector's sessions wait that long.
const (
	minLeaseDuration = time.Second
	maxLeaseDuration = 10 * time.Minute
)

// awsEnvNames are the variables that select the AWS adapters.
var awsEnvNames = []string{
	"WAGATE_STATE_TABLE", "WAGATE_COMMANDS_QUEUE_URL", "WAGATE_EVENTS_QUEUE_URL",
	"WAGATE_CREATE_RESOURCES", "WAGATE_LEASE_DURATION", "WAGATE_HEALTH_ADDR",
}

// UsesAWS reports whether c keeps anything in DynamoDB or SQS.
func (c Config) UsesAWS() bool {
	kind, _ := c.StoreKind()
	return kind == StoreDynamoDB || c.StateTable != "" || c.CommandsQueueURL != "" || c.EventsQueueURL != ""
}

// readAWSEnv reads the AWS adapter settings into c; get returns a trimmed, non-empty
// value. The errors name their variable.
func readAWSEnv(c *Config, get func(string) (string, bool)) []error {
	var errs []error
	if v, ok := get("WAGATE_STATE_TABLE"); ok {
		c.StateTable = v
	}
	if v, ok := get("WAGATE_COMMANDS_QUEUE_URL"); ok {
		c.CommandsQueueURL = v
	}
	if v, ok := get("WAGATE_EVENTS_QUEUE_URL"); ok {
		c.EventsQueueURL = v
	}
	if v, ok := get("WAGATE_HEALTH_ADDR"); ok {
		c.HealthAddr = v
	}
	if v, ok := get("WAGATE_CREATE_RESOURCES"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WAGATE_CREATE_RESOURCES: %q: want 1 or 0", v))
		}
		c.CreateResources = b
	}
	if v, ok := get("WAGATE_LEASE_DURATION"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WAGATE_LEASE_DURATION: %q: want a duration such as 30s", v))
		} else {
			c.LeaseDuration = d
		}
	}
	return errs
}

// validateAWS checks the AWS adapter settings and how they combine; each error
// names the variable to change.
func (c Config) validateAWS() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if c.StateTable != "" {
		if err := checkTableName(c.StateTable); err != nil {
			bad("WAGATE_STATE_TABLE", "%q: %v", c.StateTable, err)
		}
	}
	if kind, table := c.StoreKind(); kind == StoreDynamoDB && table != "" {
		if err := checkTableName(table); err != nil {
			bad("WAGATE_STORE", "%q: %v", c.Store, err)
		} else if table == c.StateTable {
			bad("WAGATE_STORE", "%q: the key table must not be the state table (WAGATE_STATE_TABLE): "+
				"key material lives in its own table that only the connector can read", c.Store)
		}
	}
	if c.CommandsQueueURL != "" {
		if err := checkQueueURL(c.CommandsQueueURL, true); err != nil {
			bad("WAGATE_COMMANDS_QUEUE_URL", "%q: %v", c.CommandsQueueURL, err)
		}
	}
	if c.EventsQueueURL != "" {
		if err := checkQueueURL(c.EventsQueueURL, false); err != nil {
			bad("WAGATE_EVENTS_QUEUE_URL", "%q: %v", c.EventsQueueURL, err)
		}
	}
	switch {
	case c.CommandsQueueURL != "" && c.EventsQueueURL == "":
		bad("WAGATE_EVENTS_QUEUE_URL", "not set: the SQS bus needs both queues (WAGATE_COMMANDS_QUEUE_URL is set)")
	case c.CommandsQueueURL == "" && c.EventsQueueURL != "":
		bad("WAGATE_COMMANDS_QUEUE_URL", "not set: the SQS bus needs both queues (WAGATE_EVENTS_QUEUE_URL is set)")
	}
	if (c.CommandsQueueURL != "" || c.EventsQueueURL != "") && c.StateTable == "" {
		bad("WAGATE_STATE_TABLE", "not set: with the SQS queues, session state must be in the state table the API functions read")
	}
	if c.CreateResources && !c.UsesAWS() {
		bad("WAGATE_CREATE_RESOURCES", "nothing to create: no DynamoDB table or SQS queue is configured")
	}
	if c.LeaseDuration != 0 && (c.LeaseDuration < minLeaseDuration || c.LeaseDuration > maxLeaseDuration) {
		bad("WAGATE_LEASE_DURATION", "%s: want %s to %s", c.LeaseDuration, minLeaseDuration, maxLeaseDuration)
	}
	if c.HealthAddr != "" {
		if err := checkHostPort(c.HealthAddr, true); err != nil {
			bad("WAGATE_HEALTH_ADDR", "%q: %v", c.HealthAddr, err)
		}
	}
	return errs
}

// ValidateConnector checks c for the connector process of the split deployment: a
// valid Config that keeps state in DynamoDB and takes commands from SQS.
func (c Config) ValidateConnector() error {
	var errs []string
	if err := c.Validate(); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "invalid configuration:\n"))
	}
	if c.StateTable == "" {
		errs = append(errs, "WAGATE_STATE_TABLE: not set: the connector process keeps session state in the DynamoDB "+
			"state table (run wagate for the all-in-one process on SQLite)")
	}
	if c.CommandsQueueURL == "" && c.EventsQueueURL == "" {
		errs = append(errs, "WAGATE_COMMANDS_QUEUE_URL: not set: the connector process takes its commands from SQS "+
			"and has no API of its own (run wagate for the all-in-one process)")
	}
	if c.HealthAddr == "" {
		errs = append(errs, "WAGATE_HEALTH_ADDR: must name the local health endpoint (host:port)")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n%s", strings.Join(errs, "\n"))
	}
	return nil
}

// checkTableName checks DynamoDB's table name rules: 3 to 255 of a-z, A-Z, 0-9, '_',
// '-' and '.'.
func checkTableName(name string) error {
	if len(name) < 3 || len(name) > 255 {
		return fmt.Errorf("a DynamoDB table name has 3 to 255 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("a DynamoDB table name has only letters, digits, '_', '-' and '.'")
		}
	}
	return nil
}

// checkQueueURL checks an SQS queue URL: http(s), a host and a queue name, which
// ends in .fifo exactly for the commands queue.
func checkQueueURL(raw string, fifo bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("want a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), not a name or ARN")
	}
	name := queueName(raw)
	switch {
	case name == "" || name == "/" || name == ".":
		return fmt.Errorf("the URL names no queue")
	case fifo && !strings.HasSuffix(name, ".fifo"):
		return fmt.Errorf("the commands queue is a FIFO queue: its name ends in .fifo")
	case !fifo && strings.HasSuffix(name, ".fifo"):
		return fmt.Errorf("the events queue is a standard queue, not a FIFO queue")
	}
	return nil
}

// queueName returns the last path element of a queue URL.
func queueName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return path.Base(strings.TrimSuffix(u.Path, "/"))
}
