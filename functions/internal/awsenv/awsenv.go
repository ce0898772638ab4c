// Package awsenv builds the AWS SDK configuration of a Lambda function from the
// environment Lambda sets: the region, the execution role's credentials and, for
// local runs against emulators, the SDK's endpoint variables.
//
// It replaces the SDK's config.LoadDefaultConfig, which also links the shared config
// file parser and the STS, SSO and instance metadata clients (about 2 MB) that a
// function never uses.
package awsenv

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Environment variables read by Config and Endpoint.
const (
	EnvRegion        = "AWS_REGION"
	EnvDefaultRegion = "AWS_DEFAULT_REGION"
	EnvAccessKeyID   = "AWS_ACCESS_KEY_ID"
	EnvSecretKey     = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken  = "AWS_SESSION_TOKEN"
	EnvEndpoint      = "AWS_ENDPOINT_URL"
)

// Config returns an SDK configuration with the region and the static credentials of
// the environment. The error names every missing variable.
func Config(getenv func(string) string) (aws.Config, error) {
	region := getenv(EnvRegion)
	if region == "" {
		region = getenv(EnvDefaultRegion)
	}
	id, secret := getenv(EnvAccessKeyID), getenv(EnvSecretKey)
	var missing []string
	if region == "" {
		missing = append(missing, EnvRegion)
	}
	if id == "" {
		missing = append(missing, EnvAccessKeyID)
	}
	if secret == "" {
		missing = append(missing, EnvSecretKey)
	}
	if len(missing) > 0 {
		return aws.Config{}, fmt.Errorf("aws environment: %s not set (Lambda sets them)", strings.Join(missing, ", "))
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, getenv(EnvSessionToken)),
	}, nil
}

// Endpoint returns the endpoint override of a service, whose identifier is given as
// in the SDK's variable names ("DYNAMODB", "SQS"): AWS_ENDPOINT_URL_<SERVICE>, else
// AWS_ENDPOINT_URL, else "" (the service's regional endpoint).
func Endpoint(getenv func(string) string, service string) string {
	if v := getenv(EnvEndpoint + "_" + service); v != "" {
		return v
	}
	return getenv(EnvEndpoint)
}

// DynamoDB returns a DynamoDB client for cfg with the endpoint override of the
// environment, if any. With an override (DynamoDB Local) response checksum validation
// is off: the emulator's error replies carry no CRC32 header.
func DynamoDB(cfg aws.Config, getenv func(string) string) *dynamodb.Client {
	ep := Endpoint(getenv, "DYNAMODB")
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep != "" {
			o.BaseEndpoint = aws.String(ep)
			o.DisableValidateResponseChecksum = true
		}
	})
}

// SQS returns an SQS client for cfg with the endpoint override of the environment,
// if any.
func SQS(cfg aws.Config, getenv func(string) string) *sqs.Client {
	ep := Endpoint(getenv, "SQS")
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
}
