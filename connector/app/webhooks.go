package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/metrics"
	"github.com/wagate/wagate/functions/webhook"
)

// Settings of the local webhook delivery.
const (
	// webhookBuffer is how many events may wait for dispatch before the bus cuts
	// the subscription off.
	webhookBuffer = 4096
	// webhookWorkers bounds how many deliveries are attempted at once; an event
	// waiting for its next retry holds no slot.
	webhookWorkers = 16
	// webhookAttemptTimeout bounds one delivery attempt.
	webhookAttemptTimeout = 10 * time.Second
	// webhookResubscribeDelay is the pause before subscribing again after the bus
	// cut the subscription off.
	webhookResubscribeDelay = 100 * time.Millisecond
)

// webhookRetryDelays are the waits before the second, third and fourth attempt of
// a failed delivery; after the last one the event is dropped.
var webhookRetryDelays = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}

// WebhookSecretPath returns the path of the generated webhook signing secret.
func (c Config) WebhookSecretPath() string { return filepath.Join(c.DataDir, "webhook-secret") }

// notifier delivers one event to its session's webhook; *webhook.Notifier
// implements it.
type notifier interface {
	Notify(ctx context.Context, e core.Event) (webhook.Outcome, error)
}

// webhooks delivers every event published on the in-process bus to the webhook of
// its session, as the events function does for the split deployment. Delivery never
// blocks the publisher: events are read from a buffered subscription and each one is
// delivered (and retried) on its own goroutine, at most webhookWorkers attempts at
// a time.
type webhooks struct {
	bus      *membus.Bus
	notifier notifier
	log      *slog.Logger
	delays   []time.Duration // retry waits; webhookRetryDelays in production
	buffer   int
	timeout  time.Duration // per attempt
	sem      chan struct{}
	inflight sync.WaitGroup
	// subscriptions counts the subscriptions taken (the first and each one after a
	// loss).
	subscriptions atomic.Int64
	// secretFile is where the generated secret is kept; "" with WAGATE_WEBHOOK_SECRET.
	secretFile string
}

// newWebhooks returns the delivery of the local binary: the sessions' webhook URLs
// come from state, signatures use secret.
func newWebhooks(cfg Config, secret []byte, bus *membus.Bus, state webhook.SessionGetter, m metrics.Emitter, log *slog.Logger) (*webhooks, error) {
	d, err := webhook.New(webhook.Options{
		Secret:       secret,
		AllowPrivate: cfg.WebhookAllowPrivate,
		AllowHTTP:    cfg.AllowInsecureWebhooks,
		Timeout:      webhookAttemptTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("start webhooks: %w", err)
	}
	return &webhooks{
		bus:      bus,
		notifier: &webhook.Notifier{Sessions: state, Sender: d, Metrics: m},
		log:      log,
		delays:   webhookRetryDelays,
		buffer:   webhookBuffer,
		timeout:  webhookAttemptTimeout,
		sem:      make(chan struct{}, webhookWorkers),
	}, nil
}

// webhookSecret returns WAGATE_WEBHOOK_SECRET, or the secret kept in the data
// folder (created with mode 0600 on first use). created reports a new file.
func webhookSecret(cfg Config) (secret []byte, created bool, err error) {
	if cfg.WebhookSecret != "" {
		return []byte(cfg.WebhookSecret), false, nil
	}
	s, created, err := LoadOrCreateToken(cfg.WebhookSecretPath())
	if err != nil {
		return nil, false, fmt.Errorf("webhook secret: %w", err)
	}
	return []byte(s), created, nil
}

// run delivers events until ctx ends, then waits for the deliveries it started
// (which end with ctx).
func (w *webhooks) run(ctx context.Context) {
	defer w.inflight.Wait()
	for {
		events, cancel := w.bus.SubscribeEvents("", w.buffer)
		w.subscriptions.Add(1)
		lost := w.consume(ctx, events)
		cancel()
		if !lost {
			return
		}
		w.log.Error("webhook_subscription_lost", "event", "webhook_subscription_lost", "outcome", "fail",
			"detail", "events arrived faster than webhooks were dispatched; events published meanwhile are not delivered")
		select {
		case <-ctx.Done():
			return
		case <-time.After(webhookResubscribeDelay):
		}
	}
}

// consume dispatches events until ctx ends (false) or the channel is closed while
// ctx still runs (true: the subscription was lost).
func (w *webhooks) consume(ctx context.Context, events <-chan core.Event) (lost bool) {
	for {
		select {
		case <-ctx.Done():
			return false
		case e, ok := <-events:
			if !ok {
				return ctx.Err() == nil
			}
			w.inflight.Add(1)
			go func() {
				defer w.inflight.Done()
				w.deliver(ctx, e)
			}()
		}
	}
}

// deliver tries e until it is delivered, needs no delivery, is refused, or has
// failed 1+len(w.delays) times.
func (w *webhooks) deliver(ctx context.Context, e core.Event) {
	log := w.log.With("event_id", e.ID, "type", string(e.Type), "tenant", e.Tenant, "session", e.SessionID)
	for attempt := 1; ; attempt++ {
		start := time.Now()
		outcome, err := w.attempt(ctx, e)
		ms := float64(time.Since(start).Microseconds()) / 1000
		switch {
		case err == nil && outcome == webhook.Delivered:
			log.Info("webhook_done", "event", "webhook_done", "outcome", "ok", "attempt", attempt, "duration_ms", ms)
			return
		case err == nil:
			return // no webhook, or the session is gone
		case errors.Is(err, webhook.ErrBlocked):
			log.Warn("webhook_refused", "event", "webhook_refused", "outcome", "fail", "error", err.Error(),
				"detail", "the webhook URL is not allowed; see WAGATE_WEBHOOK_ALLOW_PRIVATE and WAGATE_ALLOW_INSECURE_WEBHOOKS")
			return
		case ctx.Err() != nil:
			log.Warn("webhook_dropped", "event", "webhook_dropped", "outcome", "fail", "attempt", attempt, "error", "stopping")
			return
		case attempt > len(w.delays):
			log.Error("webhook_dropped", "event", "webhook_dropped", "outcome", "fail", "attempt", attempt, "error", err.Error())
			return
		}
		delay := w.delays[attempt-1]
		log.Warn("webhook_failed", "event", "webhook_failed", "outcome", "retry", "attempt", attempt,
			"error", err.Error(), "duration_ms", ms, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			log.Warn("webhook_dropped", "event", "webhook_dropped", "outcome", "fail", "attempt", attempt, "error", "stopping")
			return
		case <-time.After(delay):
		}
	}
}

// attempt delivers e once, holding one of the worker slots.
func (w *webhooks) attempt(ctx context.Context, e core.Event) (webhook.Outcome, error) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return webhook.NotDelivered, fmt.Errorf("wait for a delivery slot: %w", ctx.Err())
	}
	defer func() { <-w.sem }()
	actx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	return w.notifier.Notify(actx, e)
}

// setupWebhooks prepares the delivery of webhooks when events stay in this process
// (with an events queue, the events function delivers them).
func (m *Main) setupWebhooks(cfg Config) error {
	if m.events != core.EventPublisher(m.bus) {
		return nil
	}
	secret, created, err := webhookSecret(cfg)
	if err != nil {
		return err
	}
	m.hooks, err = newWebhooks(cfg, secret, m.bus, m.state, emitter(m.emf), m.log.With("component", "webhooks"))
	if err != nil {
		return err
	}
	if cfg.WebhookSecret == "" {
		m.hooks.secretFile = cfg.WebhookSecretPath()
		m.log.Info("webhook_secret", "event", "webhook_secret", "outcome", "ok", "file", m.hooks.secretFile, "created", created)
	}
	return nil
}

// webhookBanner says, in text mode, where the generated webhook secret is kept.
func (m *Main) webhookBanner(cfg Config) {
	if m.hooks == nil || m.hooks.secretFile == "" || cfg.LogFormat == LogJSON || m.Stdout == nil {
		return
	}
	fmt.Fprintf(m.Stdout, "Webhooks are signed with the secret kept in %s (set WAGATE_WEBHOOK_SECRET to choose one).\n\n", m.hooks.secretFile)
}
