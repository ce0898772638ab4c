package lambdaapi_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/functions/lambdaapi"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnv(t *testing.T) {
	queue := "https://sqs.eu-west-1.amazonaws.com/123456789012/wagate-commands.fifo"
	c, err := lambdaapi.ConfigFromEnv(env(map[string]string{
		"WAGATE_STATE_TABLE": "wagate-state", "WAGATE_COMMANDS_QUEUE_URL": queue,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StateTable != "wagate-state" || c.CommandsQueueURL != queue || c.TenantClaim != "sub" {
		t.Errorf("config %+v, want the table, the queue and the default claim sub", c)
	}
	c, err = lambdaapi.ConfigFromEnv(env(map[string]string{
		"WAGATE_STATE_TABLE": "wagate-state", "WAGATE_COMMANDS_QUEUE_URL": queue, "TENANT_CLAIM": "custom:tenant",
	}))
	if err != nil || c.TenantClaim != "custom:tenant" {
		t.Errorf("TENANT_CLAIM=custom:tenant gave %+v, %v", c, err)
	}

	_, err = lambdaapi.ConfigFromEnv(env(nil))
	if err == nil || !strings.Contains(err.Error(), "WAGATE_STATE_TABLE") || !strings.Contains(err.Error(), "WAGATE_COMMANDS_QUEUE_URL") {
		t.Errorf("empty environment: %v, want both variables named", err)
	}
	for _, bad := range []string{"wagate-commands.fifo", "https://sqs.eu-west-1.amazonaws.com/123456789012/wagate-events"} {
		_, err = lambdaapi.ConfigFromEnv(env(map[string]string{"WAGATE_STATE_TABLE": "t", "WAGATE_COMMANDS_QUEUE_URL": bad}))
		if err == nil {
			t.Errorf("WAGATE_COMMANDS_QUEUE_URL=%q accepted", bad)
		}
	}
}
