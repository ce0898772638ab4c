package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/sqsbus"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/functions/internal/awsenv"
	"github.com/wagate/wagate/functions/lambdaapi"
	"github.com/wagate/wagate/functions/lambdaevents"
	"github.com/wagate/wagate/functions/webhook"
)

// passThroughEnv are variables of devapi's own environment every function also gets:
// the AWS SDK's region, credentials and endpoint overrides (the emulators), the
// certificate roots (a local https webhook receiver), and the development-only
// switch that lets webhooks reach loopback addresses.
var passThroughEnv = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "TZ",
	lambdaevents.EnvWebhookAllowPrivate,
}

// FunctionEnv returns the environment of fn: the variables template.yaml gives it,
// references resolved from supplied (variable name → value), plus passThroughEnv
// from getenv. It fails if the template refers to something devapi does not supply,
// so a new variable in the template cannot go unnoticed.
func FunctionEnv(fn Function, supplied map[string]string, getenv func(string) string) (map[string]string, error) {
	env := map[string]string{}
	for _, name := range passThroughEnv {
		if v := getenv(name); v != "" {
			env[name] = v
		}
	}
	var missing []string
	for _, v := range fn.Env {
		if v.Ref == "" {
			env[v.Name] = v.Value
			continue
		}
		val, ok := supplied[v.Name]
		if !ok || val == "" {
			missing = append(missing, fmt.Sprintf("%s (template: %s)", v.Name, v.Ref))
			continue
		}
		env[v.Name] = val
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("environment of %s: devapi has no value for %s", fn.Name, strings.Join(missing, ", "))
	}
	return env, nil
}

// LocalInvoker runs the functions in this process the way Lambda runs them: an
// instance (execution environment) of a function handles one invocation at a time,
// and a function whose instances are all busy gets a new one. An instance is the
// function's handler wrapped by lambda.NewHandler, the wrapper lambda.Start uses, so
// events and answers go through the same JSON decoding and encoding as in Lambda.
// That wrapper hands back its answer in a buffer it reuses for its next invocation:
// sharing one wrapper between concurrent invocations would let one answer overwrite
// another.
type LocalInvoker struct {
	// Instances makes a new instance of a function, by function logical id.
	Instances map[string]func() lambda.Handler

	mu   sync.Mutex
	idle map[string][]lambda.Handler
}

// Invoke runs fn's handler with a Lambda context carrying requestID and a deadline
// of the function's timeout. A handler error or panic is a function error.
func (l *LocalInvoker) Invoke(ctx context.Context, fn Function, requestID string, event []byte) (out []byte, err error) {
	h, ok := l.take(fn.LogicalID)
	if !ok {
		return nil, fmt.Errorf("invoke %s: no such function", fn.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, fn.Timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: "arn:aws:lambda:local:" + devAccountID + ":function:" + fn.Name,
	})
	defer func() {
		if p := recover(); p != nil {
			// As in Lambda, an instance whose runtime panicked is not used again.
			out, err = nil, fmt.Errorf("invoke %s: %w: panic: %v", fn.Name, errFunctionError, p)
			return
		}
		l.release(fn.LogicalID, h)
	}()
	raw, err := h.Invoke(ctx, event)
	out = bytes.Clone(raw) // before the instance runs again and reuses raw's memory
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("invoke %s: %w: task timed out after %s", fn.Name, errFunctionError, fn.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w: %v", fn.Name, errFunctionError, err)
	}
	return out, nil
}

// take returns an idle instance of the function, or a new one.
func (l *LocalInvoker) take(id string) (lambda.Handler, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.idle[id]); n > 0 {
		h := l.idle[id][n-1]
		l.idle[id] = l.idle[id][:n-1]
		return h, true
	}
	newInstance, ok := l.Instances[id]
	if !ok {
		return nil, false
	}
	return newInstance(), true
}

// release makes an instance idle again.
func (l *LocalInvoker) release(id string, h lambda.Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.idle == nil {
		l.idle = map[string][]lambda.Handler{}
	}
	l.idle[id] = append(l.idle[id], h)
}

// LocalOptions tune the functions devapi runs in process.
type LocalOptions struct {
	// WebhookRetryBase replaces the events function's first retry delay
	// (lambdaevents.DefaultBaseDelay) when positive, so a failing webhook reaches the
	// dead-letter queue in seconds rather than minutes.
	WebhookRetryBase time.Duration
	// Logs receives every function's JSON log lines.
	Logs io.Writer
}

// NewLocalInvoker builds every function of the template as its main does, from the
// environment FunctionEnv gives it: the API functions as the apigw server on the
// DynamoDB state table and the SQS commands queue behind lambdaapi.Handler, the
// events function as a lambdaevents.Consumer.
func NewLocalInvoker(t *Template, supplied map[string]string, getenv func(string) string, o LocalOptions) (*LocalInvoker, error) {
	l := &LocalInvoker{Instances: map[string]func() lambda.Handler{}}
	for id, fn := range t.Functions {
		env, err := FunctionEnv(fn, supplied, getenv)
		if err != nil {
			return nil, err
		}
		fnEnv := func(k string) string { return env[k] }
		log := slog.New(slog.NewJSONHandler(o.Logs, nil)).With("function", fn.Name)
		var h func() lambda.Handler
		if fn.Queue != nil {
			h, err = eventsHandler(fnEnv, log, o.WebhookRetryBase)
		} else {
			h, err = apiHandler(fnEnv, log)
		}
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", fn.Name, err)
		}
		l.Instances[id] = h
	}
	return l, nil
}

// apiHandler wires an API function as lambdaapi.Main does and returns the maker of
// its instances. Its instances share one apigw server: it is safe for concurrent use.
func apiHandler(getenv func(string) string, log *slog.Logger) (func() lambda.Handler, error) {
	cfg, err := lambdaapi.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, err
	}
	srv, err := apigw.New(apigw.Server{
		State:    dynamo.New(awsenv.DynamoDB(awsCfg, getenv), cfg.StateTable),
		Commands: sqsbus.New(awsenv.SQS(awsCfg, getenv), cfg.CommandsQueueURL, "", log),
		Auth:     lambdaapi.JWTAuth{Claim: cfg.TenantClaim},
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	h := lambdaapi.Handler(srv.Handler())
	return func() lambda.Handler { return lambda.NewHandler(h) }, nil
}

// eventsHandler wires the events function as lambdaevents.Main does, with an
// optional shorter retry delay, and returns the maker of its instances.
func eventsHandler(getenv func(string) string, log *slog.Logger, retryBase time.Duration) (func() lambda.Handler, error) {
	cfg, err := lambdaevents.ConfigFromEnv(getenv)
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
	c := &lambdaevents.Consumer{
		Notifier:  &webhook.Notifier{Sessions: dynamo.New(awsenv.DynamoDB(awsCfg, getenv), cfg.StateTable), Sender: d},
		Logger:    log,
		BaseDelay: retryBase,
	}
	if cfg.EventsQueueURL != "" {
		c.Visibility, c.QueueURL = awsenv.SQS(awsCfg, getenv), cfg.EventsQueueURL
	}
	return func() lambda.Handler { return lambda.NewHandler(c.Handle) }, nil
}
