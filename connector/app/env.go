package app

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/core/metrics"
)

// Env names the environment variables FromEnv reads, in the order .env.example
// documents them.
var envNames = []string{
	"WAGATE_ADDR", "WAGATE_DATA", "WAGATE_STORE", "WAGATE_TOKENS", "WAGATE_LOG_FORMAT",
	"WAGATE_LOG_LEVEL", "WAGATE_WA_DIAL", "WAGATE_SEND_INTERVAL", "WAGATE_ALLOW_INSECURE_WEBHOOKS",
	"WAGATE_WEBHOOK_SECRET", "WAGATE_WEBHOOK_ALLOW_PRIVATE",
	"WAGATE_DIAG_HOSTS", "WAGATE_DIAG_PORT", "WAGATE_DIAG_WS_URL", "WAGATE_CONNECTOR_ID", "WAGATE_METRICS",
}

// EnvNames returns the environment variables FromEnv reads.
func EnvNames() []string { return append(append([]string(nil), envNames...), awsEnvNames...) }

// FromEnv reads the configuration from the environment through lookup (os.LookupEnv
// in main), on top of DefaultConfig, and validates it. The error lists every bad
// variable, each by name.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	str := func(name string, dst *string) {
		if v, ok := get(name); ok {
			*dst = v
		}
	}
	str("WAGATE_ADDR", &c.Addr)
	str("WAGATE_DATA", &c.DataDir)
	str("WAGATE_STORE", &c.Store)
	str("WAGATE_TOKENS", &c.Tokens)
	str("WAGATE_LOG_FORMAT", &c.LogFormat)
	str("WAGATE_LOG_LEVEL", &c.LogLevel)
	str("WAGATE_WA_DIAL", &c.WADial)
	str("WAGATE_DIAG_PORT", &c.DiagPort)
	str("WAGATE_DIAG_WS_URL", &c.DiagWSURL)
	str("WAGATE_CONNECTOR_ID", &c.ConnectorID)
	c.LogFormat = strings.ToLower(c.LogFormat)
	c.LogLevel = strings.ToLower(c.LogLevel)
	if v, ok := get("WAGATE_SEND_INTERVAL"); ok {
		d, err := parseInterval(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WAGATE_SEND_INTERVAL: %q: %w", v, err))
		} else {
			c.SendInterval = d
		}
	}
	if v, ok := get("WAGATE_ALLOW_INSECURE_WEBHOOKS"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WAGATE_ALLOW_INSECURE_WEBHOOKS: %q: want true or false", v))
		}
		c.AllowInsecureWebhooks = b
	}
	if v, ok := lookup("WAGATE_WEBHOOK_SECRET"); ok && v != "" {
		c.WebhookSecret = v // as given: spaces are part of a secret
	}
	if v, ok := get("WAGATE_WEBHOOK_ALLOW_PRIVATE"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WAGATE_WEBHOOK_ALLOW_PRIVATE: %q: want true or false", v))
		}
		c.WebhookAllowPrivate = b
	}
	if v, ok := get("WAGATE_DIAG_HOSTS"); ok {
		for _, h := range strings.Split(v, ",") {
			c.DiagHosts = append(c.DiagHosts, strings.TrimSpace(h))
		}
	}
	switch mode, err := metrics.ModeFromEnv(lookup); {
	case err != nil:
		errs = append(errs, err)
	case mode == metrics.ModeEMF:
		c.Metrics = mode
	default:
		if _, set := get("WAGATE_METRICS"); set {
			c.Metrics = mode
		}
	}
	errs = append(errs, readAWSEnv(&c, get)...)
	if err := c.Validate(); err != nil {
		errs = append(errs, errors.Unwrap(err))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, nil
}

// parseInterval parses a Go duration ("1s", "250ms") or a plain number of seconds.
func parseInterval(v string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > maxSendInterval.Seconds() {
			return 0, errors.New("want a duration such as 1s or 500ms, or 0 for no pacing")
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("want a duration such as 1s or 500ms, or 0 for no pacing")
	}
	return d, nil
}
