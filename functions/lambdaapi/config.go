package lambdaapi

import (
	"fmt"
	"strings"
)

// Environment variables an API function reads.
const (
	EnvStateTable       = "WAGATE_STATE_TABLE"
	EnvCommandsQueueURL = "WAGATE_COMMANDS_QUEUE_URL"
	EnvTenantClaim      = "TENANT_CLAIM"
)

// Config is what an API function needs from its environment.
type Config struct {
	// StateTable is the DynamoDB state table (WAGATE_STATE_TABLE, required).
	StateTable string
	// CommandsQueueURL is the SQS FIFO commands queue (WAGATE_COMMANDS_QUEUE_URL,
	// required).
	CommandsQueueURL string
	// TenantClaim names the JWT claim holding the tenant (TENANT_CLAIM, default "sub").
	TenantClaim string
}

// ConfigFromEnv reads the configuration through getenv (os.Getenv in main). The
// error names every missing or bad variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		StateTable:       strings.TrimSpace(getenv(EnvStateTable)),
		CommandsQueueURL: strings.TrimSpace(getenv(EnvCommandsQueueURL)),
		TenantClaim:      strings.TrimSpace(getenv(EnvTenantClaim)),
	}
	var problems []string
	if c.StateTable == "" {
		problems = append(problems, EnvStateTable+" is not set (the DynamoDB state table name)")
	}
	switch {
	case c.CommandsQueueURL == "":
		problems = append(problems, EnvCommandsQueueURL+" is not set (the SQS commands queue URL)")
	case !strings.HasPrefix(c.CommandsQueueURL, "https://") && !strings.HasPrefix(c.CommandsQueueURL, "http://"):
		problems = append(problems, EnvCommandsQueueURL+" must be a queue URL (https://...), not a name or ARN")
	case !strings.HasSuffix(c.CommandsQueueURL, ".fifo"):
		problems = append(problems, EnvCommandsQueueURL+" must name a FIFO queue (ending in .fifo)")
	}
	if c.TenantClaim == "" {
		c.TenantClaim = DefaultTenantClaim
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}
