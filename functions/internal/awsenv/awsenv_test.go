package awsenv_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wagate/wagate/functions/internal/awsenv"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfig(t *testing.T) {
	cfg, err := awsenv.Config(env(map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
		t.Errorf("config region %q, credentials %+v", cfg.Region, creds)
	}
	cfg, err = awsenv.Config(env(map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}))
	if err != nil || cfg.Region != "us-east-2" {
		t.Errorf("AWS_DEFAULT_REGION fallback: %q, %v", cfg.Region, err)
	}
	_, err = awsenv.Config(env(nil))
	for _, v := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("empty environment: %v, want %s named", err, v)
		}
	}
}

func TestEndpoint(t *testing.T) {
	vars := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
	if got := awsenv.Endpoint(env(vars), "DYNAMODB"); got != "http://127.0.0.1:8000" {
		t.Errorf("DYNAMODB endpoint %q", got)
	}
	if got := awsenv.Endpoint(env(vars), "SQS"); got != "http://127.0.0.1:4566" {
		t.Errorf("SQS endpoint falls back to %q", got)
	}
	if got := awsenv.Endpoint(env(nil), "SQS"); got != "" {
		t.Errorf("no endpoint variables gave %q", got)
	}
}
