package lambdaevents_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/functions/lambdaevents"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnv(t *testing.T) {
	const secret = "whsec-0123456789abcdef"
	c, err := lambdaevents.ConfigFromEnv(env(map[string]string{
		"WAGATE_STATE_TABLE": "wagate-state", "WAGATE_WEBHOOK_SECRET": secret,
		"WAGATE_EVENTS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/wagate-events",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StateTable != "wagate-state" || string(c.WebhookSecret) != secret || c.AllowPrivate || c.EventsQueueURL == "" {
		t.Errorf("config %+v", c)
	}
	c, err = lambdaevents.ConfigFromEnv(env(map[string]string{
		"WAGATE_STATE_TABLE": "t", "WAGATE_WEBHOOK_SECRET": secret, "WAGATE_WEBHOOK_ALLOW_PRIVATE": "1",
	}))
	if err != nil || !c.AllowPrivate {
		t.Errorf("WAGATE_WEBHOOK_ALLOW_PRIVATE=1 gave %+v, %v", c, err)
	}

	_, err = lambdaevents.ConfigFromEnv(env(map[string]string{"WAGATE_WEBHOOK_SECRET": "short-secret"}))
	if err == nil || !strings.Contains(err.Error(), "WAGATE_STATE_TABLE") || !strings.Contains(err.Error(), "WAGATE_WEBHOOK_SECRET") {
		t.Errorf("missing table and short secret: %v, want both named", err)
	}
	if err != nil && strings.Contains(err.Error(), "short-secret") {
		t.Errorf("the error repeats the secret: %v", err)
	}
	_, err = lambdaevents.ConfigFromEnv(env(map[string]string{
		"WAGATE_STATE_TABLE": "t", "WAGATE_WEBHOOK_SECRET": secret, "WAGATE_WEBHOOK_ALLOW_PRIVATE": "yes please",
	}))
	if err == nil {
		t.Error("WAGATE_WEBHOOK_ALLOW_PRIVATE=\"yes please\" accepted")
	}
}
