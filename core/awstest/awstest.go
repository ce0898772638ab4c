// Package awstest builds AWS SDK clients for tests that run against the local
// emulators (DynamoDB Local and the SQS emulator) started by `make test` or
// `scripts/emulators.sh start`.
//
// The clients use the endpoints in AWS_ENDPOINT_URL_DYNAMODB and
// AWS_ENDPOINT_URL_SQS, which must be loopback addresses, and static test
// credentials: they never read the shared AWS configuration, so a test can never
// reach a real AWS account. When an endpoint is not set the test fails with a hint,
// unless WAGATE_SKIP_EMULATOR_TESTS=1, which skips it instead.
package awstest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The environment variables DynamoDB and SQS read.
const (
	EnvDynamoDB = "AWS_ENDPOINT_URL_DYNAMODB"
	EnvSQS      = "AWS_ENDPOINT_URL_SQS"
	EnvRegion   = "AWS_REGION"
	EnvSkip     = "WAGATE_SKIP_EMULATOR_TESTS"
)

// DefaultRegion is used when AWS_REGION is not set.
const DefaultRegion = "us-east-1"

// DynamoDB returns a client for DynamoDB Local. Response checksum validation is off
// because DynamoDB Local's error replies carry no CRC32 header.
func DynamoDB(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	cfg, endpoint := config(tb, EnvDynamoDB)
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true
	})
}

// SQS returns a client for the SQS emulator.
func SQS(tb testing.TB) *sqs.Client {
	tb.Helper()
	cfg, endpoint := config(tb, EnvSQS)
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// Name returns prefix followed by random hex: a fresh table or queue name.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read documents that it always fills b
	return prefix + hex.EncodeToString(b[:])
}

// config returns an SDK configuration with static credentials and the loopback
// endpoint named by env, failing or skipping the test when it is missing.
func config(tb testing.TB, env string) (aws.Config, string) {
	tb.Helper()
	endpoint := os.Getenv(env)
	if endpoint == "" {
		if os.Getenv(EnvSkip) == "1" {
			tb.Skipf("%s is not set and %s=1: skipping a test that needs the local AWS emulators", env, EnvSkip)
		}
		tb.Fatalf("%s is not set: run the tests with `make test`, or start the emulators with "+
			"`scripts/emulators.sh start` and load .cache/emulators/env (set %s=1 to skip these tests)", env, EnvSkip)
	}
	if err := checkLoopback(endpoint); err != nil {
		tb.Fatalf("%s=%q: %v", env, endpoint, err)
	}
	region := os.Getenv(EnvRegion)
	if region == "" {
		region = DefaultRegion
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	return cfg, endpoint
}

// checkLoopback accepts only http(s) URLs whose host is a loopback address, so a
// misconfigured variable can never send test traffic to a real service.
func checkLoopback(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return errString("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errString("must be an http:// URL of a local emulator")
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errString("must point at a loopback address (127.0.0.1, ::1 or localhost)")
}

type errString string

func (e errString) Error() string { return string(e) }

// ChildEnv returns the AWS settings of a child process a test starts: the emulator
// endpoints (loopback, checked), static test credentials, and no shared
// configuration or instance metadata, so the child's SDK can never reach AWS. dir is
// a folder of the test's own; it becomes the child's HOME.
func ChildEnv(tb testing.TB, dir string) []string {
	tb.Helper()
	_, ddb := config(tb, EnvDynamoDB)
	cfg, sq := config(tb, EnvSQS)
	none := filepath.Join(dir, "no-aws-config")
	return []string{
		EnvDynamoDB + "=" + ddb,
		EnvSQS + "=" + sq,
		EnvRegion + "=" + cfg.Region,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true", "HOME=" + dir,
	}
}
