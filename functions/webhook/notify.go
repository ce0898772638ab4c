package webhook

import (
	"context"
	"fmt"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// SessionGetter reads a session; core.SessionStore implements it.
type SessionGetter interface {
	GetSession(ctx context.Context, key core.SessionKey) (core.Session, error)
}

// Sender delivers one event to one target; *Deliverer implements it.
type Sender interface {
	Deliver(ctx context.Context, target string, e core.Event) error
}

// Outcome says what Notify did with an event.
type Outcome string

// The outcomes of Notify.
const (
	Delivered    Outcome = "delivered"  // the webhook answered 2xx
	NoWebhook    Outcome = "no_webhook" // the session has no webhook URL
	NoSession    Outcome = "no_session" // the session was deleted since
	NotDelivered Outcome = "failed"     // the delivery failed: retry later
)

// Notifier delivers events to the webhook of their session.
type Notifier struct {
	Sessions SessionGetter
	Sender   Sender
	// Metrics counts WebhookDeliveries and WebhookFailures; nil records nothing.
	Metrics metrics.Emitter
}

// Notify reads the settings of e's session and delivers e to its webhook URL. An
// event of a session without a webhook, or of a session that no longer exists, is
// done with (nil error). A failed delivery returns NotDelivered and the error; the
// caller retries it later.
func (n *Notifier) Notify(ctx context.Context, e core.Event) (Outcome, error) {
	if e.Tenant == "" || e.SessionID == "" {
		return NoSession, nil
	}
	s, err := n.Sessions.GetSession(ctx, core.SessionKey{Tenant: e.Tenant, ID: e.SessionID})
	if core.IsCode(err, core.CodeNotFound) {
		return NoSession, nil
	}
	if err != nil {
		return NotDelivered, fmt.Errorf("read session of event %s: %w", e.ID, err)
	}
	if s.Settings.WebhookURL == "" {
		return NoWebhook, nil
	}
	m := metrics.Or(n.Metrics)
	if err := n.Sender.Deliver(ctx, s.Settings.WebhookURL, e); err != nil {
		m.Count(metrics.WebhookFailures, 1)
		return NotDelivered, err
	}
	m.Count(metrics.WebhookDeliveries, 1)
	return Delivered, nil
}
