package lambdaapi

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/sqsbus"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/functions/internal/awsenv"
)

// LambdaHandler handles one API Gateway HTTP API (payload 2.0) event.
type LambdaHandler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler adapts h to API Gateway events. The request's context carries the event's
// request context (JWTAuth reads the claims from it), and the Lambda request id
// replaces any X-Request-Id the client sent, so the logs of apigw and the answer's
// X-Request-Id carry the id Lambda logs the invocation with.
func Handler(h http.Handler) LambdaHandler {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
			headers := make(map[string]string, len(req.Headers)+1)
			for k, v := range req.Headers {
				if !strings.EqualFold(k, "X-Request-Id") {
					headers[k] = v
				}
			}
			headers["x-request-id"] = lc.AwsRequestID
			req.Headers = headers
		}
		return adapter.ProxyWithContext(ctx, req)
	}
}

// Main runs the API function named function: it reads the configuration from the
// environment, builds the DynamoDB and SQS clients and the apigw server, and serves
// Lambda invocations. A bad configuration stops the process with a log line saying
// what to fix.
func Main(function string) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	h, err := build(os.Getenv, log)
	if err != nil {
		log.Error("start_failed", "event", "start_failed", "outcome", "fail", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// build wires the server from the environment.
func build(getenv func(string) string, log *slog.Logger) (LambdaHandler, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, err
	}
	state := dynamo.New(awsenv.DynamoDB(awsCfg, getenv), cfg.StateTable)
	bus := sqsbus.New(awsenv.SQS(awsCfg, getenv), cfg.CommandsQueueURL, "", log)
	srv, err := apigw.New(apigw.Server{
		State:    state,
		Commands: bus,
		Auth:     JWTAuth{Claim: cfg.TenantClaim},
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	return Handler(srv.Handler()), nil
}
